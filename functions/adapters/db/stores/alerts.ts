import { type Kysely, type RawBuilder, sql } from "kysely";
import type { AlertSeverity, AlertStatus, Database, Json } from "../schema.ts";
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
}

/** Acknowledges a triggered alert; idempotent. Undefined when the alert does not exist. */
export function acknowledgeAlert(
  db: Kysely<Database>,
  input: { id: number; actor: string; now: Date },
): Promise<AlertChange | undefined> {
  return transition(db, "acknowledged", input);
}

/** Resolves an open (triggered or acknowledged) alert; idempotent. Undefined when the alert does not exist. */
export function resolveAlert(
  db: Kysely<Database>,
  input: { id: number; actor: string; now: Date },
): Promise<AlertChange | undefined> {
  return transition(db, "resolved", input);
}

/** The states a transition starts from, and the columns it stamps. */
const transitions = {
  acknowledged: {
    from: sql`l.status = 'triggered'`,
    set: (now: string, actor: string) =>
      sql`status = 'acknowledged', acknowledged_at = ${now}::timestamptz, acknowledged_by = ${actor}`,
  },
  resolved: {
    from: sql`l.status <> 'resolved'`,
    set: (now: string, actor: string) =>
      sql`status = 'resolved', resolved_at = ${now}::timestamptz, resolved_by = ${actor}`,
  },
} as const;

/**
 * One statement: lock the alert (FOR UPDATE sees the newest committed version, so two concurrent
 * acknowledges write one event), change it if it is in a starting state, log the event, and return
 * the alert as it now is.
 */
async function transition(
  db: Kysely<Database>,
  to: keyof typeof transitions,
  input: { id: number; actor: string; now: Date },
): Promise<AlertChange | undefined> {
  const now = input.now.toISOString();
  const { from, set } = transitions[to];
  const { rows } = await sql<AlertRow & { changed: boolean }>`
    with locked as (
      select ${alertColumns()} from alerts where id = ${input.id}::bigint for update
    ),
    changed as (
      update alerts a set ${set(now, input.actor)}
      from locked l
      where a.id = l.id and ${from}
      returning ${alertColumns("a")}
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, ${to}, ${input.actor}, '', null, ${now}::timestamptz from changed
    )
    select *, true as changed from changed
    union all
    select *, false from locked where not exists (select 1 from changed)
  `.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { changed, ...alert } = row;
  return { alert, changed };
}

/** Acknowledges every triggered alert among `ids` in one statement; returns the ids that changed. */
export function bulkAcknowledgeAlerts(
  db: Kysely<Database>,
  input: { ids: readonly number[]; actor: string; now: Date },
): Promise<number[]> {
  return bulkTransition(db, "acknowledged", input);
}

/** Resolves every open alert among `ids` in one statement; returns the ids that changed. */
export function bulkResolveAlerts(
  db: Kysely<Database>,
  input: { ids: readonly number[]; actor: string; now: Date },
): Promise<number[]> {
  return bulkTransition(db, "resolved", input);
}

async function bulkTransition(
  db: Kysely<Database>,
  to: keyof typeof transitions,
  input: { ids: readonly number[]; actor: string; now: Date },
): Promise<number[]> {
  if (input.ids.length === 0) return [];
  const now = input.now.toISOString();
  const { from, set } = transitions[to];
  // Rows are locked in id order, so two bulk calls over overlapping ids cannot deadlock.
  const { rows } = await sql<{ id: number }>`
    with locked as (
      select id, status from alerts
      where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      order by id
      for update
    ),
    changed as (
      update alerts a set ${set(now, input.actor)}
      from locked l
      where a.id = l.id and ${from}
      returning a.id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, ${to}, ${input.actor}, '', null, ${now}::timestamptz from changed
    )
    select id from changed order by id
  `.execute(db);
  return rows.map((r) => r.id);
}

/** Adds a note to the alert's log; undefined when the alert does not exist. One statement. */
export async function addNote(
  db: Kysely<Database>,
  input: { alertId: number; actor: string; text: string; now: Date },
): Promise<AlertEventRow | undefined> {
  const { rows } = await sql<AlertEventRow>`
    insert into alert_events (alert_id, type, actor, message, data, created_at)
    select id, 'note_added', ${input.actor}, ${input.text}, null, ${input.now.toISOString()}::timestamptz
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
 * at most `limit` per call, each with a `resolved` event by `system`. Rows another transaction holds
 * are skipped (they are being changed anyway); call again while the answer is `limit` long.
 *
 * @example
 * while ((await autoResolveOlderThan(db, 7, clock.now())).length === 1000) {}
 */
export async function autoResolveOlderThan(
  db: Kysely<Database>,
  days: number,
  now: Date,
  options: { limit?: number } = {},
): Promise<number[]> {
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`days must be a positive integer, got ${days}`);
  const limit = options.limit ?? 1000;
  const at = now.toISOString();
  const message = `auto-resolved: no signal for more than ${days} day${days === 1 ? "" : "s"}`;
  const { rows } = await sql<{ id: number }>`
    with stale as (
      select id from alerts
      where status <> 'resolved' and last_seen_at < ${at}::timestamptz - make_interval(days => ${days}::int)
      order by id
      limit ${limit}::int
      for update skip locked
    ),
    resolved as (
      update alerts a set status = 'resolved', resolved_at = ${at}::timestamptz, resolved_by = 'system'
      from stale s
      where a.id = s.id
      returning a.id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, 'resolved', 'system', ${message},
        jsonb_build_object('reason', 'auto_resolve', 'days', ${days}::int), ${at}::timestamptz
      from resolved
    )
    select id from resolved order by id
  `.execute(db);
  return rows.map((r) => r.id);
}

function jsonList(values: readonly string[]): string {
  return JSON.stringify(values);
}
