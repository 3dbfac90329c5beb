import { type Kysely, sql } from "kysely";

// Why (issue 13, second pass):
// 1. Business calendars were not stored, so CEL's `inBusinessHours("name")` could name none. They are
//    rows keyed by their name (the name is what a rule's expression says); a change to one bumps the
//    routing rule set's version and the maintenance stamp in the same statement, so every warm process
//    recompiles rules and windows that name it.
// 2. ListRoutingDecisions without an alert walked the whole event log newest first, filtering on the
//    type: when routing entries are rare (most services route by default and write none) a page read
//    most of the log. routing_decisions lists the routing entries (event id, alert, service), filled by
//    a statement trigger on alert_events from its transition table, so the writers (ingest, routing,
//    maintenance) are unchanged; a page is an index range read, by all or by service. A partial index on
//    alert_events was the alternative; the routing migration (T1800) measured that the planner then
//    walked it for the per-alert "already routed?" probe, and a statement parameter cannot prove its
//    predicate anyway. The trigger costs one filtered pass over each insert's new rows.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table business_calendars (
        name text primary key,
        description text not null default '',
        zone text not null,
        windows jsonb not null check (jsonb_typeof(windows) = 'array'),
        holidays jsonb not null check (jsonb_typeof(holidays) = 'array'),
        created_by text not null,
        created_at timestamptz not null,
        updated_by text not null,
        updated_at timestamptz not null
      )
    `,
    sql`
      create table routing_decisions (
        event_id bigint primary key,
        alert_id bigint not null,
        service_id uuid not null
      )
    `,
    sql`create index routing_decisions_service_idx on routing_decisions (service_id, event_id desc)`,
    // The types are app/routing.ts ROUTING_EVENTS as of this migration (history, like DDL).
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
    // Entries leave with their events (deleted with their alert, see T1600).
    sql`
      create function unlist_routing_decisions() returns trigger
      language plpgsql as $$
      begin
        delete from routing_decisions where event_id in (select id from old_events);
        return null;
      end
      $$
    `,
    sql`
      create trigger alert_events_unlist_routing_decisions after delete on alert_events
      referencing old table as old_events
      for each statement execute function unlist_routing_decisions()
    `,
    sql`
      insert into routing_decisions (event_id, alert_id, service_id)
      select e.id, e.alert_id, a.service_id
      from alert_events e join alerts a on a.id = e.alert_id
      where e.type in ('routed', 'suppressed', 'aggregated', 'unrouted')
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger alert_events_routing_decisions on alert_events`,
    sql`drop trigger alert_events_unlist_routing_decisions on alert_events`,
    sql`drop function list_routing_decisions()`,
    sql`drop function unlist_routing_decisions()`,
    sql`drop table routing_decisions, business_calendars`,
  ]) {
    await statement.execute(db);
  }
}
