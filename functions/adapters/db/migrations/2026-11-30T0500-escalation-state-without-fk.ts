import { type Kysely, sql } from "kysely";

// Why (issue 10): the foreign keys of alert_escalations (to alerts and to escalation_policies) and of
// notifications (to alerts) cost a per-row check on every escalation opened and every notification
// recorded: an index probe, a row lock written on the referenced alert (and policy) and a query
// through SPI, for each of a storm's rows. On PGlite that was ~15% of an escalating request's CPU.
// Every writer takes the alert id from a row it has just written or holds locked (the ingest
// statement inserts the alert itself; a step holds its alerts `for share`; a manual escalation holds
// its alert `for update`; openEscalations holds its candidates `for key share`) and the policy id
// from a read that the statement checks, as 2026-11-27T1600 did for alert_events. What the keys still
// did, deleting an alert's (or a policy's) escalation state with it, statement triggers now do
// (`truncate alerts ... cascade` included, which no longer reaches these tables through a key).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table alert_escalations drop constraint alert_escalations_alert_id_fkey`,
    sql`alter table alert_escalations drop constraint alert_escalations_policy_id_fkey`,
    sql`alter table notifications drop constraint notifications_alert_id_fkey`,
    sql`
      create function delete_escalation_state_of_deleted_alerts() returns trigger
      language plpgsql as $$
      begin
        delete from alert_escalations where alert_id in (select id from deleted_alerts);
        delete from notifications where alert_id in (select id from deleted_alerts);
        return null;
      end
      $$
    `,
    sql`
      create trigger alerts_delete_escalation_state after delete on alerts
      referencing old table as deleted_alerts
      for each statement execute function delete_escalation_state_of_deleted_alerts()
    `,
    sql`
      create function delete_escalation_state_of_truncated_alerts() returns trigger
      language plpgsql as $$
      begin
        delete from alert_escalations;
        delete from notifications;
        return null;
      end
      $$
    `,
    sql`
      create trigger alerts_truncate_escalation_state after truncate on alerts
      for each statement execute function delete_escalation_state_of_truncated_alerts()
    `,
    sql`
      create function delete_escalations_of_deleted_policies() returns trigger
      language plpgsql as $$
      begin
        delete from alert_escalations where policy_id in (select id from deleted_policies);
        return null;
      end
      $$
    `,
    sql`
      create trigger escalation_policies_delete_escalations after delete on escalation_policies
      referencing old table as deleted_policies
      for each statement execute function delete_escalations_of_deleted_policies()
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger escalation_policies_delete_escalations on escalation_policies`,
    sql`drop function delete_escalations_of_deleted_policies()`,
    sql`drop trigger alerts_truncate_escalation_state on alerts`,
    sql`drop function delete_escalation_state_of_truncated_alerts()`,
    sql`drop trigger alerts_delete_escalation_state on alerts`,
    sql`drop function delete_escalation_state_of_deleted_alerts()`,
    sql`delete from notifications n where not exists (select 1 from alerts a where a.id = n.alert_id)`,
    sql`
      delete from alert_escalations e
      where not exists (select 1 from alerts a where a.id = e.alert_id)
        or not exists (select 1 from escalation_policies p where p.id = e.policy_id)
    `,
    sql`
      alter table notifications add constraint notifications_alert_id_fkey
      foreign key (alert_id) references alerts (id) on delete cascade
    `,
    sql`
      alter table alert_escalations add constraint alert_escalations_policy_id_fkey
      foreign key (policy_id) references escalation_policies (id) on delete cascade
    `,
    sql`
      alter table alert_escalations add constraint alert_escalations_alert_id_fkey
      foreign key (alert_id) references alerts (id) on delete cascade
    `,
  ]) {
    await statement.execute(db);
  }
}
