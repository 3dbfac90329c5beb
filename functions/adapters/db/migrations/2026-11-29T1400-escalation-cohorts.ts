import { type Kysely, sql } from "kysely";

// Why: one Step Functions execution per alert cost ~5 state transitions and a StartExecution per
// alert (~$125 per million alerts, and a 10,000-alert storm overran the StartExecution bucket).
// Alerts of one service started together now share one execution (a cohort, issue 10): their rows
// share execution_name, so it is no longer unique. The partial index serves what asks by name
// (a cohort's active members, once per step: ~0.1 ms for 100 members instead of 100 lookups) and the
// resume after a restart (distinct names of active escalations); it replaces the unique index, so a
// new alert costs no more to open.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table alert_escalations drop constraint alert_escalations_execution_name_key`,
    sql`create index alert_escalations_active_execution_idx on alert_escalations (execution_name) where status = 'active'`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop index alert_escalations_active_execution_idx`,
    sql`alter table alert_escalations add constraint alert_escalations_execution_name_key unique (execution_name)`,
  ]) {
    await statement.execute(db);
  }
}
