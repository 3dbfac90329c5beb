import { type Kysely, sql } from "kysely";

// Why: every new alert writes its `created` event in the same statement, and the foreign key from
// alert_events to alerts cost a per-row check (an index probe and a row lock) on each of them:
// about a tenth of a 100-alert webhook request. The log is append-only and every writer takes the
// alert id from a row it has just written or locked, so the check guards nothing the writers do
// not already guarantee (GoAlert dropped the same keys from its alert_logs for the same reason).
// What the key still did, deleting an alert's events with it, a statement trigger now does.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      alter table alert_events drop constraint alert_events_alert_id_fkey
    `,
    sql`
      create function delete_events_of_deleted_alerts() returns trigger
      language plpgsql as $$
      begin
        delete from alert_events where alert_id in (select id from deleted_alerts);
        return null;
      end
      $$
    `,
    sql`
      create trigger alerts_delete_events after delete on alerts
      referencing old table as deleted_alerts
      for each statement execute function delete_events_of_deleted_alerts()
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger alerts_delete_events on alerts`,
    sql`drop function delete_events_of_deleted_alerts()`,
    sql`delete from alert_events e where not exists (select 1 from alerts a where a.id = e.alert_id)`,
    sql`
      alter table alert_events add constraint alert_events_alert_id_fkey
      foreign key (alert_id) references alerts (id) on delete cascade
    `,
  ]) {
    await statement.execute(db);
  }
}
