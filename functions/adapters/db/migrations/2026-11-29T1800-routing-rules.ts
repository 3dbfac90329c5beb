import { type Kysely, sql } from "kysely";

// Why: routing (issue 13) decides per new alert what happens to it without a code change. Rules are
// rows (ordered by `position`, conditions and actions as JSONB in the domain's shape); one rule-set
// version row is bumped by every change, so a warm process recompiles only when it moved (one
// indexed read per routed request instead of loading 100 rules). Every rule change keeps its
// before/after (routing_rule_changes). Decisions go into the alert's event log (alert_events.data):
// no second per-alert row on the ingest path and no index of their own ("already routed?" reads the
// alert's few entries through alert_events_alert_idx; a partial index over routing entries cost 100
// index inserts per routed request and, keyed on their ids, made every probe walk all of them). Alerts get the routing state that must stay visible on the
// alert itself (suppressed / unrouted / aggregated, with the reason), the aggregation key and count,
// and the pending actions (tickets) a rule recorded.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table routing_rules (
        id uuid primary key default gen_random_uuid(),
        position integer not null,
        name text not null,
        description text not null default '',
        enabled boolean not null default true,
        service_ids jsonb check (service_ids is null or jsonb_typeof(service_ids) = 'array'),
        condition jsonb not null,
        actions jsonb not null check (jsonb_typeof(actions) = 'array'),
        terminal boolean not null default false,
        created_by text not null,
        created_at timestamptz not null,
        updated_by text not null,
        updated_at timestamptz not null
      )
    `,
    sql`create index routing_rules_position_idx on routing_rules (position, id)`,
    sql`
      create table routing_rule_set (
        id integer primary key check (id = 1),
        version bigint not null,
        updated_at timestamptz not null
      )
    `,
    sql`insert into routing_rule_set (id, version, updated_at) values (1, 0, now())`,
    sql`
      create table routing_rule_changes (
        id bigint generated always as identity primary key,
        rule_id uuid,
        change text not null,
        actor text not null,
        before jsonb,
        after jsonb,
        version bigint not null,
        created_at timestamptz not null
      )
    `,
    sql`create index routing_rule_changes_rule_idx on routing_rule_changes (rule_id, id desc)`,
    sql`
      create table alert_routing (
        alert_id bigint primary key,
        state text not null,
        reason text not null default ''
      )
    `,
    sql`alter table alerts add column aggregate_key text`,
    sql`alter table alerts add column aggregate_count integer not null default 0`,
    sql`alter table alerts add column aggregated_into bigint`,
    sql`
      create index alerts_aggregate_idx on alerts (service_id, aggregate_key, created_at desc)
      where aggregate_key is not null and status <> 'resolved'
    `,
    sql`
      create table alert_pending_actions (
        id bigint generated always as identity primary key,
        alert_id bigint not null references alerts (id) on delete cascade,
        kind text not null,
        rule_id uuid,
        spec jsonb not null,
        status text not null default 'pending',
        created_at timestamptz not null
      )
    `,
    sql`create index alert_pending_actions_alert_idx on alert_pending_actions (alert_id)`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop table alert_routing, alert_pending_actions, routing_rule_changes, routing_rule_set, routing_rules`,
    sql`
      alter table alerts drop column aggregate_key,
        drop column aggregate_count, drop column aggregated_into
    `,
  ]) {
    await statement.execute(db);
  }
}
