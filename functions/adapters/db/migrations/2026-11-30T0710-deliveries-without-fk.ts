import { type Kysely, sql } from "kysely";

// Why (issue 10): the ingest statement now writes a first step's deliveries with its alerts, and the
// foreign keys of deliveries (to alerts and to notifications) cost two checks per delivery through
// SPI, each an index probe and a row lock on the referenced row: ~3.6 ms of ~28 ms per 100-alert
// request paging two contact methods on PGlite (200 deliveries). Every writer takes both ids from
// rows it has just written (the ingest statement) or read (planning after a step, status updates of
// an alert just acknowledged or resolved); the application never deletes an alert or a notification
// (notifications go only with their alert: 2026-11-30T0500). What the keys still did, deleting an
// alert's deliveries with it, statement triggers now do, as 2026-11-30T0500 does for the escalation
// state (`truncate alerts ... cascade` included, which no longer reaches deliveries through a key).
// The key of a bundle to its bundle (`bundled_into`) stays: written by the sender, not per page.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table deliveries drop constraint deliveries_alert_id_fkey`,
    sql`alter table deliveries drop constraint deliveries_notification_id_fkey`,
    sql`
      create function delete_deliveries_of_deleted_alerts() returns trigger
      language plpgsql as $$
      begin
        delete from deliveries where alert_id in (select id from deleted_alerts);
        return null;
      end
      $$
    `,
    sql`
      create trigger alerts_delete_deliveries after delete on alerts
      referencing old table as deleted_alerts
      for each statement execute function delete_deliveries_of_deleted_alerts()
    `,
    sql`
      create function delete_deliveries_of_truncated_alerts() returns trigger
      language plpgsql as $$
      begin
        delete from deliveries where alert_id is not null;
        return null;
      end
      $$
    `,
    sql`
      create trigger alerts_truncate_deliveries after truncate on alerts
      for each statement execute function delete_deliveries_of_truncated_alerts()
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger alerts_truncate_deliveries on alerts`,
    sql`drop function delete_deliveries_of_truncated_alerts()`,
    sql`drop trigger alerts_delete_deliveries on alerts`,
    sql`drop function delete_deliveries_of_deleted_alerts()`,
    sql`
      delete from deliveries d
      where d.alert_id is not null and not exists (select 1 from alerts a where a.id = d.alert_id)
    `,
    sql`
      update deliveries d set notification_id = null
      where d.notification_id is not null
        and not exists (select 1 from notifications n where n.id = d.notification_id)
    `,
    sql`
      alter table deliveries add constraint deliveries_notification_id_fkey
      foreign key (notification_id) references notifications (id) on delete set null
    `,
    sql`
      alter table deliveries add constraint deliveries_alert_id_fkey
      foreign key (alert_id) references alerts (id) on delete cascade
    `,
  ]) {
    await statement.execute(db);
  }
}
