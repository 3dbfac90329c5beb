import { type Kysely, sql } from "kysely";

// Why: the per-key limit counted requests, not alerts: 600 requests a minute of 1,000 alerts each,
// every one opening an escalation, let a leaked key flood far beyond the nominal rate (red-team
// review, issue 9 row 13). Each usage slot now also counts the alerts of its requests, and a key may
// set its own alerts-per-minute budget (null: the deployment's default).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table integration_key_usage add column alert_count integer not null default 0 check (alert_count >= 0)`,
    sql`alter table integration_keys add column alert_limit_per_minute integer check (alert_limit_per_minute > 0)`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`alter table integration_keys drop column alert_limit_per_minute`,
    sql`alter table integration_key_usage drop column alert_count`,
  ]) {
    await statement.execute(db);
  }
}
