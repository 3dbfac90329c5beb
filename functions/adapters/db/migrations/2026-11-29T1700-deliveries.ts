import { type Kysely, sql } from "kysely";

// Why: an escalation step ended in `pending` notification rows and nobody was woken up (issue 12).
// Each notification now becomes delivery records, one per message that leaves the building: the
// table is the truth of what was owed, sent, retried, throttled or given up, whichever runtime sends
// (the embedded worker or the SQS sender Lambda). `idempotency_key` is unique: a retried step, a
// redelivered queue message or a restarted planner cannot owe the same message twice; the sender
// moves a row pending → sending (with a lease) → sent | failed | suppressed, so a crash mid-send
// resends at most once (the lease expires), never zero times. Notification rules (GoAlert's "SMS at
// once, email after 5 minutes") are stored here by user id: users live in the directory.
// `notifications.planned_at` marks the rows the planner has turned into deliveries, so running the
// `notifications.deliver` effect again plans nothing twice.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table notification_rules (
        id uuid primary key default gen_random_uuid(),
        user_id text not null,
        contact_method_id text not null,
        delay_minutes integer not null check (delay_minutes >= 0),
        created_at timestamptz not null,
        unique (user_id, contact_method_id, delay_minutes)
      )
    `,
    sql`create index notification_rules_user_idx on notification_rules (user_id)`,
    sql`
      create table notification_preferences (
        user_id text primary key,
        status_updates boolean not null default false,
        updated_at timestamptz not null
      )
    `,
    sql`
      create table deliveries (
        id bigint generated always as identity primary key,
        idempotency_key text not null unique,
        alert_id bigint references alerts (id) on delete cascade,
        notification_id bigint references notifications (id) on delete set null,
        repeat_cycle integer,
        step_index integer,
        recipient_kind text not null,
        recipient_id text not null,
        contact_method_id text,
        channel_id text,
        destination jsonb not null,
        destination_kind text not null,
        destination_key text not null,
        message_kind text not null,
        rule_delay_minutes integer not null default 0,
        template_id text,
        template_version integer,
        context jsonb,
        status text not null default 'pending'
          check (status in ('pending', 'sending', 'sent', 'failed', 'suppressed')),
        attempts integer not null default 0,
        max_attempts integer not null,
        provider_answer text,
        provider_message_id text,
        last_error text,
        bundled_into bigint references deliveries (id) on delete set null,
        next_attempt_at timestamptz not null,
        lease_until timestamptz,
        sent_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )
    `,
    sql`create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending'`,
    sql`create index deliveries_lease_idx on deliveries (lease_until) where status = 'sending'`,
    sql`create index deliveries_alert_idx on deliveries (alert_id, id)`,
    sql`create index deliveries_recipient_idx on deliveries (recipient_id, id)`,
    sql`create index deliveries_created_idx on deliveries (created_at, id)`,
    sql`create index deliveries_sent_idx on deliveries (destination_key, sent_at) where sent_at is not null`,
    sql`alter table notifications add column planned_at timestamptz`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`alter table notifications drop column planned_at`,
    sql`drop table deliveries`,
    sql`drop table notification_preferences`,
    sql`drop table notification_rules`,
  ]) {
    await statement.execute(db);
  }
}
