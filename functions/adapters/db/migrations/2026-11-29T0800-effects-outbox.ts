import { type Kysely, sql } from "kysely";

// Why: an alert was committed by one statement and its escalation opened by a second, so a process
// that died in between left a triggered alert that nobody would be paged for (measured: 6 of 606
// alerts after a SIGKILL under load). The statement that changes alerts now also writes the effects
// it owes into alert_effects (one row per request and kind, the alerts as a JSON list: a 100-alert
// request writes one row, not 100); they run right after the commit and housekeeping sweeps what a
// crash left pending. A status table, not a cursor over event ids: ids are not commit-ordered.
// `service_id` lets a later request of the same service pick up an effect whose dispatch failed
// (its sender's retry repairs it at once, as before). consecutive_failures replaces counting
// escalation_failed entries in the alert log on every failure.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table alert_effects (
        id bigint generated always as identity primary key,
        kind text not null,
        service_id uuid,
        alert_ids jsonb not null check (jsonb_typeof(alert_ids) = 'array'),
        payload jsonb not null default '{}',
        status text not null default 'pending' check (status in ('pending', 'done', 'failed')),
        attempts integer not null default 0,
        last_error text,
        due_at timestamptz not null,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )
    `,
    sql`create index alert_effects_due_idx on alert_effects (due_at) where status = 'pending'`,
    sql`create index alert_effects_service_idx on alert_effects (service_id) where status = 'pending'`,
    sql`create index alert_effects_done_idx on alert_effects (updated_at) where status <> 'pending'`,
    sql`alter table alert_escalations add column consecutive_failures integer not null default 0`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`alter table alert_escalations drop column consecutive_failures`,
    sql`drop table alert_effects`,
  ]) {
    await statement.execute(db);
  }
}
