import { type Kysely, sql } from "kysely";

// Why (issue 13, ingest with routing rules): an alert routed by ingest wrote five rows — the alert,
// its `created` log entry, a routing log entry, a routing_decisions row (statement trigger on
// alert_events) and an alert_routing row for its visible state — against one for the alert alone;
// the database's share of that work kept ingest with 100 rules at a third of the raw ceiling.
// 1. The visible routing state (suppressed / unrouted / aggregated / in maintenance, and its reason)
//    is two columns of the alert, written by the insert that opens it (alert_routing was a row per
//    routed alert). The maintenance sweep's partial index moves with it.
// 2. routing_decisions is written by the statements that decide (ingest, the route effect) instead
//    of a statement trigger on alert_events: the trigger captured every inserted entry of every
//    statement (escalation steps, notes, plain ingest's `created` entries) into a transition table
//    to find the few routing ones, and looked each one's alert up again for its service. It now
//    carries the decision's entry type: a decision written with the alert is its `created` entry
//    (one entry instead of two; the decision is its data and message), whose type says "created".
// Down: alert_routing and the trigger come back; decisions merged into `created` entries stay listed
// in routing_decisions (their type then read from the entry: `created`).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table alerts add column routing_state text, add column routing_reason text`,
    sql`
      update alerts a set routing_state = r.state, routing_reason = r.reason
      from alert_routing r where r.alert_id = a.id
    `,
    // The sweep's scan: the alerts routing left suppressed (app/maintenance.ts).
    sql`create index alerts_routing_suppressed_idx on alerts (id) where routing_state = 'suppressed'`,
    sql`drop table alert_routing`,
    sql`drop trigger alert_events_routing_decisions on alert_events`,
    sql`drop function list_routing_decisions()`,
    sql`alter table routing_decisions add column type text`,
    sql`update routing_decisions d set type = e.type from alert_events e where e.id = d.event_id`,
    sql`alter table routing_decisions alter column type set not null`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`alter table routing_decisions drop column type`,
    sql`
      create function list_routing_decisions() returns trigger
      language plpgsql as $$
      begin
        insert into routing_decisions (event_id, alert_id, service_id)
        select e.id, e.alert_id, a.service_id
        from new_events e join alerts a on a.id = e.alert_id
        where e.type in ('routed', 'suppressed', 'aggregated', 'unrouted');
        return null;
      end
      $$
    `,
    sql`
      create trigger alert_events_routing_decisions after insert on alert_events
      referencing new table as new_events
      for each statement execute function list_routing_decisions()
    `,
    sql`
      create table alert_routing (
        alert_id bigint primary key,
        state text not null,
        reason text not null default ''
      )
    `,
    sql`create index alert_routing_suppressed_idx on alert_routing (alert_id) where state = 'suppressed'`,
    sql`
      insert into alert_routing (alert_id, state, reason)
      select id, routing_state, coalesce(routing_reason, '') from alerts where routing_state is not null
    `,
    sql`drop index alerts_routing_suppressed_idx`,
    sql`alter table alerts drop column routing_state, drop column routing_reason`,
  ]) {
    await statement.execute(db);
  }
}
