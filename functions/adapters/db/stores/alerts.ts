import { type Kysely, type RawBuilder, sql } from "kysely";
import {
  type AlertEventType,
  autoResolveMessage,
  type OwedEffect,
  SYSTEM_ACTOR,
  TRANSITIONS,
} from "../../../domain/alerts/lifecycle.ts";
import type { AlertSeverity, AlertStatus, Database, Json } from "../schema.ts";
import { type EffectTuple, effectOf, insertEffects, owedEffectRows } from "./alert-effects.ts";
import { statusList } from "./alert-signals.ts";
import { likeContaining } from "./services.ts";

// Reading and changing alerts outside ingestion (ingestion is alert-signals.ts). Every state change
// writes its alert_events row in the SAME statement (a data-modifying CTE), so a change and its
// log entry are atomic without a transaction — the RDS Data API runs one statement per request.
// Lists of values travel as ONE JSON parameter: the Data API takes no array parameters.

export interface AlertRow {
  id: number;
  service_id: string;
  dedup_key: string;
  status: AlertStatus;
  severity: AlertSeverity;
  summary: string;
  details: string;
  source: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  duplicate_count: number;
  created_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  /** Routing's visible state (suppressed, unrouted, aggregated, in_maintenance) and why. */
  routing_state: string | null;
  routing_reason: string | null;
  aggregate_count: number;
  aggregated_into: number | null;
}

export interface AlertEventRow {
  id: number;
  alert_id: number;
  type: string;
  actor: string;
  message: string;
  data: Json | null;
  created_at: Date;
}

const alertColumnNames = [
  "id",
  "service_id",
  "dedup_key",
  "status",
  "severity",
  "summary",
  "details",
  "source",
  "labels",
  "annotations",
  "duplicate_count",
  "created_at",
  "last_seen_at",
  "acknowledged_at",
  "acknowledged_by",
  "resolved_at",
  "resolved_by",
  "aggregate_count",
  "aggregated_into",
  "routing_state",
  "routing_reason",
] as const;

/** The alert columns (the raw payload is left out: it can be large and no RPC returns it). */
function alertColumns(alias?: string) {
  return sql.raw(alertColumnNames.map((c) => (alias ? `${alias}.${c}` : c)).join(", "));
}

const eventColumns = sql.raw("id, alert_id, type, actor, message, data, created_at");

export async function getAlert(db: Kysely<Database>, id: number): Promise<AlertRow | undefined> {
  const { rows } = await sql<AlertRow>`select ${alertColumns()} from alerts where id = ${id}::bigint`.execute(
    db,
  );
  return rows[0];
}

/** What ListAlerts narrows by; empty lists and maps mean "any". */
export interface AlertFilter {
  statuses: readonly AlertStatus[];
  serviceIds: readonly string[];
  severities: readonly AlertSeverity[];
  /** Alerts whose labels contain every pair (JSONB containment, served by the GIN index). */
  labels: Readonly<Record<string, string>>;
  /** Created at or after. */
  createdAfter?: Date | undefined;
  /** Created strictly before. */
  createdBefore?: Date | undefined;
  /** Case-insensitive substring of the summary; LIKE wildcards in it are literal. */
  search: string;
}

/**
 * A page of alerts, newest first (by id, which grows with creation). Keyset pagination:
 * `beforeId` is the last id of the previous page, so pages never overlap or skip rows even while
 * new alerts arrive. Reads one row more than `limit` to know whether there is a next page.
 */
export async function listAlerts(
  db: Kysely<Database>,
  filter: AlertFilter,
  page: { limit: number; beforeId?: number | undefined },
): Promise<{ alerts: AlertRow[]; nextBeforeId: number | undefined }> {
  const conditions: RawBuilder<unknown>[] = [sql`true`];
  if (filter.statuses.length > 0) {
    conditions.push(
      sql`status in (select value from jsonb_array_elements_text(${jsonList(filter.statuses)}::jsonb))`,
    );
  }
  if (filter.serviceIds.length > 0) {
    conditions.push(
      sql`service_id in (select value::uuid from jsonb_array_elements_text(${jsonList(filter.serviceIds)}::jsonb))`,
    );
  }
  if (filter.severities.length > 0) {
    conditions.push(
      sql`severity in (select value from jsonb_array_elements_text(${jsonList(filter.severities)}::jsonb))`,
    );
  }
  if (Object.keys(filter.labels).length > 0) {
    conditions.push(sql`labels @> ${JSON.stringify(filter.labels)}::jsonb`);
  }
  if (filter.createdAfter)
    conditions.push(sql`created_at >= ${filter.createdAfter.toISOString()}::timestamptz`);
  if (filter.createdBefore)
    conditions.push(sql`created_at < ${filter.createdBefore.toISOString()}::timestamptz`);
  if (filter.search) conditions.push(sql`summary ilike ${likeContaining(filter.search)} escape '\\'`);
  if (page.beforeId !== undefined) conditions.push(sql`id < ${page.beforeId}::bigint`);

  const { rows } = await sql<AlertRow>`
    select ${alertColumns()} from alerts
    where ${sql.join(conditions, sql` and `)}
    order by id desc
    limit ${page.limit + 1}::int
  `.execute(db);
  const alerts = rows.slice(0, page.limit);
  return { alerts, nextBeforeId: rows.length > page.limit ? alerts.at(-1)?.id : undefined };
}

export interface AlertChange {
  alert: AlertRow;
  /** False when the alert already was in (or past) the target state: nothing was written. */
  changed: boolean;
  /** The effects the change owes, written with it. */
  effects: OwedEffect[];
}

/** Who makes a state change, and when. */
export interface ChangeInput {
  actor: string;
  now: Date;
}

/** Acknowledges a triggered alert; idempotent. Undefined when the alert does not exist. */
export function acknowledgeAlert(
  db: Kysely<Database>,
  input: ChangeInput & { id: number },
): Promise<AlertChange | undefined> {
  return transition(db, "acknowledge", input);
}

/** Resolves an open (triggered or acknowledged) alert; idempotent. Undefined when the alert does not exist. */
export function resolveAlert(
  db: Kysely<Database>,
  input: ChangeInput & { id: number },
): Promise<AlertChange | undefined> {
  return transition(db, "resolve", input);
}

/** The columns a transition stamps besides `status` (storage detail of the target state). */
function stampColumns(to: AlertStatus, now: string, actor: string): RawBuilder<unknown> {
  switch (to) {
    case "acknowledged":
      return sql`, acknowledged_at = ${now}::timestamptz, acknowledged_by = ${actor}`;
    case "resolved":
      return sql`, resolved_at = ${now}::timestamptz, resolved_by = ${actor}`;
    default:
      return sql``;
  }
}

/** `set status = <to>, <stamps>` and `<status> in (<from>)` of a transition, from the lifecycle table. */
function transitionSql(name: "acknowledge" | "resolve" | "auto_resolve", now: string, actor: string) {
  const rule = TRANSITIONS[name];
  return {
    set: sql`status = ${rule.to}${stampColumns(rule.to, now, actor)}`,
    from: sql`l.status in (${statusList(rule.from)})`,
    event: rule.event,
  };
}

/**
 * One statement: lock the alert (FOR UPDATE sees the newest committed version, so two concurrent
 * acknowledges write one event), change it if it is in a starting state, log the event, write the
 * effects the change owes, and return the alert as it now is.
 */
async function transition(
  db: Kysely<Database>,
  name: "acknowledge" | "resolve",
  input: ChangeInput & { id: number },
): Promise<AlertChange | undefined> {
  const now = input.now.toISOString();
  const { set, from, event } = transitionSql(name, now, input.actor);
  const { rows } = await sql<AlertRow & { changed: boolean; effects: EffectTuple[] }>`
    with locked as (
      select ${alertColumns()} from alerts where id = ${input.id}::bigint for update
    ),
    changed as (
      update alerts a set ${set}
      from locked l
      where a.id = l.id and ${from}
      returning ${alertColumns("a")}
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, ${event}, ${input.actor}, '', null, ${now}::timestamptz from changed
    ),
    effects as (${insertEffects(owedEffectRows({ [name]: sql`select id, service_id from changed` }), input.now)})
    select *, true as changed, (select coalesce(json_agg(effect), '[]'::json) from effects) as effects from changed
    union all
    select *, false, '[]'::json from locked where not exists (select 1 from changed)
  `.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { changed, effects, ...alert } = row;
  return { alert, changed, effects: effects.map(effectOf) };
}

/** Alerts a bulk change changed, and the effects it owes. */
export interface BulkChange {
  ids: number[];
  effects: OwedEffect[];
}

/** Acknowledges every triggered alert among `ids` in one statement; returns the ids that changed. */
export function bulkAcknowledgeAlerts(
  db: Kysely<Database>,
  input: ChangeInput & { ids: readonly number[] },
): Promise<BulkChange> {
  return bulkTransition(db, "acknowledge", input);
}

/** Resolves every open alert among `ids` in one statement; returns the ids that changed. */
export function bulkResolveAlerts(
  db: Kysely<Database>,
  input: ChangeInput & { ids: readonly number[] },
): Promise<BulkChange> {
  return bulkTransition(db, "resolve", input);
}

async function bulkTransition(
  db: Kysely<Database>,
  name: "acknowledge" | "resolve",
  input: ChangeInput & { ids: readonly number[] },
): Promise<BulkChange> {
  if (input.ids.length === 0) return { ids: [], effects: [] };
  const now = input.now.toISOString();
  const { set, from, event } = transitionSql(name, now, input.actor);
  // Rows are locked in id order, so two bulk calls over overlapping ids cannot deadlock.
  const { rows } = await sql<{ ids: number[]; effects: EffectTuple[] }>`
    with locked as (
      select id, status from alerts
      where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      order by id
      for update
    ),
    changed as (
      update alerts a set ${set}
      from locked l
      where a.id = l.id and ${from}
      returning a.id, a.service_id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, ${event}, ${input.actor}, '', null, ${now}::timestamptz from changed
    ),
    effects as (${insertEffects(owedEffectRows({ [name]: sql`select id, service_id from changed` }), input.now)})
    select (select coalesce(json_agg(id order by id), '[]'::json) from changed) as ids,
      (select coalesce(json_agg(effect), '[]'::json) from effects) as effects
  `.execute(db);
  return { ids: rows[0]?.ids ?? [], effects: (rows[0]?.effects ?? []).map(effectOf) };
}

const noteEvent: AlertEventType = "note_added";

/** Adds a note to the alert's log; undefined when the alert does not exist. One statement. */
export async function addNote(
  db: Kysely<Database>,
  input: { alertId: number; actor: string; text: string; now: Date },
): Promise<AlertEventRow | undefined> {
  const { rows } = await sql<AlertEventRow>`
    insert into alert_events (alert_id, type, actor, message, data, created_at)
    select id, ${noteEvent}, ${input.actor}, ${input.text}, null, ${input.now.toISOString()}::timestamptz
    -- The row lock holds off a concurrent delete until this event is committed (and then deleted with it).
    from alerts where id = ${input.alertId}::bigint for key share
    returning ${eventColumns}
  `.execute(db);
  return rows[0];
}

/**
 * A page of an alert's event log, oldest first; `afterId` is the last event id of the previous page.
 * Undefined when the alert does not exist — told apart from "no events" in the same round trip.
 */
export async function listAlertEvents(
  db: Kysely<Database>,
  input: { alertId: number; limit: number; afterId?: number | undefined },
): Promise<{ events: AlertEventRow[]; nextAfterId: number | undefined } | undefined> {
  const { rows } = await sql<AlertEventRow | { [K in keyof AlertEventRow]: null }>`
    select e.id, e.alert_id, e.type, e.actor, e.message, e.data, e.created_at
    from alerts a
    left join lateral (
      select ${eventColumns} from alert_events
      where alert_id = a.id and id > ${input.afterId ?? 0}::bigint
      order by id
      limit ${input.limit + 1}::int
    ) e on true
    where a.id = ${input.alertId}::bigint
    order by e.id
  `.execute(db);
  if (rows.length === 0) return undefined;
  const all = rows.filter((r): r is AlertEventRow => r.id !== null);
  const events = all.slice(0, input.limit);
  return { events, nextAfterId: all.length > input.limit ? events.at(-1)?.id : undefined };
}

/**
 * Resolves open alerts not seen for more than `days` days (`last_seen_at` older than now − days),
 * at most `limit` per call, each with a `resolved` event by the system, and writes the effects that
 * owes. Rows another transaction holds are skipped (they are being changed anyway); call again while
 * the answer is `limit` long.
 */
export async function autoResolveOlderThan(
  db: Kysely<Database>,
  input: { days: number; now: Date; limit: number },
): Promise<BulkChange> {
  const { days } = input;
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`days must be a positive integer, got ${days}`);
  const at = input.now.toISOString();
  const { set, event } = transitionSql("auto_resolve", at, SYSTEM_ACTOR);
  const { rows } = await sql<{ ids: number[]; effects: EffectTuple[] }>`
    with stale as (
      select id from alerts
      where status in (${statusList(TRANSITIONS.auto_resolve.from)})
        and last_seen_at < ${at}::timestamptz - make_interval(days => ${days}::int)
      order by id
      limit ${input.limit}::int
      for update skip locked
    ),
    changed as (
      update alerts a set ${set}
      from stale s
      where a.id = s.id
      returning a.id, a.service_id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, ${event}, ${SYSTEM_ACTOR}, ${autoResolveMessage(days)},
        jsonb_build_object('reason', 'auto_resolve', 'days', ${days}::int), ${at}::timestamptz
      from changed
    ),
    effects as (${insertEffects(owedEffectRows({ auto_resolve: sql`select id, service_id from changed` }), input.now)})
    select (select coalesce(json_agg(id order by id), '[]'::json) from changed) as ids,
      (select coalesce(json_agg(effect), '[]'::json) from effects) as effects
  `.execute(db);
  return { ids: rows[0]?.ids ?? [], effects: (rows[0]?.effects ?? []).map(effectOf) };
}

function jsonList(values: readonly string[]): string {
  return JSON.stringify(values);
}
