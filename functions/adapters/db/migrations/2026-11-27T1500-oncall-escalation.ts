import { type Kysely, sql } from "kysely";

// Why: who gets paged. Rotations, schedules (rules + overrides) and escalation policies (ordered
// steps with targets) are the on-call model; alert_escalations holds each alert's escalation
// state in the database (policy, step, cycle, when the next step is due) so that an execution
// resumed after a crash neither skips nor repeats a step; notifications is the seam to the
// notification pipeline: one row per (alert, cycle, step, target), unique, so a retried step
// cannot page twice. Lists (participants, weekdays, targets) are JSONB, never Postgres arrays:
// the RDS Data API takes no array parameters.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table rotations (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        time_zone text not null,
        shift_count integer not null check (shift_count > 0),
        shift_unit text not null check (shift_unit in ('hour', 'day', 'week')),
        start_at timestamptz not null,
        participants jsonb not null default '[]',
        anchor jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`
      create table schedules (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        time_zone text not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`
      create table schedule_rules (
        id uuid primary key default gen_random_uuid(),
        schedule_id uuid not null references schedules (id) on delete cascade,
        position integer not null,
        target_kind text not null check (target_kind in ('user', 'rotation')),
        target_user_id text,
        target_rotation_id uuid references rotations (id) on delete restrict,
        weekdays jsonb not null,
        start_time text not null,
        end_time text not null,
        created_at timestamptz not null default now(),
        check ((target_kind = 'user') = (target_user_id is not null)),
        check ((target_kind = 'rotation') = (target_rotation_id is not null))
      )
    `,
    sql`create index schedule_rules_schedule_idx on schedule_rules (schedule_id, position)`,
    sql`
      create table schedule_overrides (
        id uuid primary key default gen_random_uuid(),
        schedule_id uuid not null references schedules (id) on delete cascade,
        kind text not null check (kind in ('add', 'remove', 'replace')),
        user_id text not null,
        replaces_user_id text,
        start_at timestamptz not null,
        end_at timestamptz not null,
        created_at timestamptz not null default now(),
        check (end_at > start_at),
        check ((kind = 'replace') = (replaces_user_id is not null))
      )
    `,
    sql`create index schedule_overrides_range_idx on schedule_overrides (schedule_id, end_at, start_at)`,
    sql`
      create table escalation_policies (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        repeat_count integer not null default 0 check (repeat_count >= 0),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`
      create table escalation_steps (
        id uuid primary key default gen_random_uuid(),
        policy_id uuid not null references escalation_policies (id) on delete cascade,
        position integer not null,
        delay_seconds integer not null check (delay_seconds >= 0),
        targets jsonb not null default '[]',
        created_at timestamptz not null default now(),
        unique (policy_id, position)
      )
    `,
    sql`
      alter table services add constraint services_escalation_policy_fk
        foreign key (escalation_policy_id) references escalation_policies (id) on delete set null
    `,
    sql`
      create table alert_escalations (
        alert_id bigint primary key references alerts (id) on delete cascade,
        policy_id uuid not null references escalation_policies (id) on delete cascade,
        status text not null check (status in ('active', 'stopped', 'completed', 'failed')),
        step_index integer not null default 0,
        repeat_cycle integer not null default 0,
        next_step_at timestamptz,
        execution_name text not null unique,
        execution_arn text,
        last_error text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`create index alert_escalations_due_idx on alert_escalations (next_step_at) where status = 'active'`,
    sql`
      create table notifications (
        id bigint generated always as identity primary key,
        alert_id bigint not null references alerts (id) on delete cascade,
        repeat_cycle integer not null,
        step_index integer not null,
        target_kind text not null check (target_kind in ('user', 'channel')),
        target_id text not null,
        reason jsonb not null,
        status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed', 'cancelled')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (alert_id, repeat_cycle, step_index, target_kind, target_id)
      )
    `,
    sql`create index notifications_pending_idx on notifications (created_at) where status = 'pending'`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table services drop constraint services_escalation_policy_fk`.execute(db);
  await sql`
    drop table notifications, alert_escalations, escalation_steps, escalation_policies,
      schedule_overrides, schedule_rules, schedules, rotations
  `.execute(db);
}
