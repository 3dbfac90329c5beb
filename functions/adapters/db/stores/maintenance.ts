import { type Kysely, type RawBuilder, sql } from "kysely";
import type { EffectKind } from "../../../domain/alerts/lifecycle.ts";
import {
  type MaintenanceSchedule,
  type MaintenanceScope,
  type MaintenanceWindow,
  type MaintenanceWindowSpec,
  weeklySeriesEnd,
} from "../../../domain/maintenance/windows.ts";
import type { RoutableAlert } from "../../../domain/routing/model.ts";
import type { Database } from "../schema.ts";
import { type EffectRecord, type EffectTuple, effectOf, insertEffects } from "./alert-effects.ts";

// Maintenance windows, their change log and the version stamp. Every write is one statement that
// changes the window, bumps maintenance_state.version and appends the change (before/after as the
// row's JSON), so the cache in app/maintenance.ts can never miss a change. Every parameter is cast
// explicitly: the RDS Data API sends strings as varchar.

type Db = Kysely<Database>;

type ScheduleJson =
  | { kind: "once"; startAt: string; endAt: string }
  | {
      kind: "weekly";
      zone: string;
      weekdays: number[];
      startTime: string;
      durationMinutes: number;
      from: string;
      until: string | null;
      /** Absent until Extend lengthens an occurrence. */
      extension?: { occurrenceStart: string; endAt: string };
    };

interface WindowRow {
  id: string;
  name: string;
  reason: string;
  owner: string;
  action: "suppress" | "annotate";
  schedule: ScheduleJson;
  scope: MaintenanceScope;
  cancelled_at: Date | string | null;
  created_by: string;
  created_at: Date | string;
  updated_by: string;
  updated_at: Date | string;
}

const windowColumns = sql`w.id, w.name, w.reason, w.owner, w.action, w.schedule, w.scope, w.cancelled_at,
  w.created_by, w.created_at, w.updated_by, w.updated_at`;

/** A row as `json_build_object` (inside statements that return JSON). */
const windowJson = sql`json_build_object('id', w.id, 'name', w.name, 'reason', w.reason, 'owner', w.owner,
  'action', w.action, 'schedule', w.schedule, 'scope', w.scope, 'cancelled_at', w.cancelled_at,
  'created_by', w.created_by, 'created_at', w.created_at, 'updated_by', w.updated_by, 'updated_at', w.updated_at)`;

const date = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function toSchedule(json: ScheduleJson): MaintenanceSchedule {
  if (json.kind === "once")
    return { kind: "once", startAt: new Date(json.startAt), endAt: new Date(json.endAt) };
  return {
    kind: "weekly",
    zone: json.zone,
    weekdays: json.weekdays,
    startTime: json.startTime,
    durationMinutes: json.durationMinutes,
    from: new Date(json.from),
    until: json.until === null ? null : new Date(json.until),
    extension: json.extension
      ? { occurrenceStart: new Date(json.extension.occurrenceStart), endAt: new Date(json.extension.endAt) }
      : null,
  };
}

function scheduleJson(schedule: MaintenanceSchedule): ScheduleJson {
  if (schedule.kind === "once") {
    return { kind: "once", startAt: schedule.startAt.toISOString(), endAt: schedule.endAt.toISOString() };
  }
  return {
    kind: "weekly",
    zone: schedule.zone,
    weekdays: [...schedule.weekdays],
    startTime: schedule.startTime,
    durationMinutes: schedule.durationMinutes,
    from: schedule.from.toISOString(),
    until: schedule.until?.toISOString() ?? null,
    ...(schedule.extension
      ? {
          extension: {
            occurrenceStart: schedule.extension.occurrenceStart.toISOString(),
            endAt: schedule.extension.endAt.toISOString(),
          },
        }
      : {}),
  };
}

function toWindow(row: WindowRow): MaintenanceWindow {
  return {
    id: row.id,
    name: row.name,
    reason: row.reason,
    owner: row.owner,
    action: row.action,
    schedule: toSchedule(row.schedule),
    scope: row.scope,
    cancelledAt: row.cancelled_at === null ? null : date(row.cancelled_at),
    createdBy: row.created_by,
    createdAt: date(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: date(row.updated_at),
  };
}

/** The series' bounds as columns: a one-off's start/end, a weekly series' from/until. */
function bounds(schedule: MaintenanceSchedule): { startsAt: string; endsAt: string | null } {
  return schedule.kind === "once"
    ? { startsAt: schedule.startAt.toISOString(), endsAt: schedule.endAt.toISOString() }
    : { startsAt: schedule.from.toISOString(), endsAt: weeklySeriesEnd(schedule)?.toISOString() ?? null };
}

/** `with bump as (...)`: the version, bumped; `changes` appended from `old`/`new` CTEs. */
function bumpAndRecord(
  change: string,
  actor: string,
  now: string,
  before: RawBuilder<unknown>,
  after: RawBuilder<unknown>,
) {
  return sql`
    bump as (
      update maintenance_state set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and exists (select 1 from changed)
      returning version
    ),
    logged as (
      insert into maintenance_window_changes (window_id, change, actor, before, after, version, created_at)
      select c.id, ${change}::text, ${actor}::text, ${before}, ${after}, (select version from bump), ${now}::timestamptz
      from changed c
    )`;
}

export async function insertWindow(
  db: Db,
  input: { spec: MaintenanceWindowSpec; actor: string; now: Date },
): Promise<MaintenanceWindow> {
  const now = input.now.toISOString();
  const { spec } = input;
  const { startsAt, endsAt } = bounds(spec.schedule);
  const { rows } = await sql<{ window: WindowRow }>`
    with changed as (
      insert into maintenance_windows as w (name, reason, owner, action, schedule, scope, starts_at, ends_at,
        created_by, created_at, updated_by, updated_at)
      values (${spec.name}::text, ${spec.reason}::text, ${spec.owner}::text, ${spec.action}::text,
        ${JSON.stringify(scheduleJson(spec.schedule))}::jsonb, ${JSON.stringify(spec.scope)}::jsonb,
        ${startsAt}::timestamptz, ${endsAt}::timestamptz, ${input.actor}::text, ${now}::timestamptz,
        ${input.actor}::text, ${now}::timestamptz)
      returning ${windowColumns}, ${windowJson} as json
    ),
    ${bumpAndRecord("created", input.actor, now, sql`null::jsonb`, sql`c.json::jsonb`)}
    select row_to_json(c) as window from changed c
  `.execute(db);
  return toWindow(rows[0]!.window);
}

export async function getWindow(db: Db, id: string): Promise<MaintenanceWindow | undefined> {
  const { rows } =
    await sql<WindowRow>`select ${windowColumns} from maintenance_windows w where w.id = ${id}::uuid`.execute(
      db,
    );
  return rows[0] && toWindow(rows[0]);
}

/**
 * Writes the window's new spec and/or cancellation if it is still as the caller read it
 * (`expectedUpdatedAt`: compare-and-set, so two editors cannot overwrite each other unseen).
 * Undefined when it changed meanwhile (or is gone).
 */
export async function updateWindow(
  db: Db,
  input: {
    id: string;
    spec: MaintenanceWindowSpec;
    cancelledAt: Date | null;
    change: "updated" | "cancelled" | "extended";
    actor: string;
    now: Date;
    expectedUpdatedAt: Date;
  },
): Promise<MaintenanceWindow | undefined> {
  const now = input.now.toISOString();
  const { spec } = input;
  const { startsAt, endsAt } = bounds(spec.schedule);
  const { rows } = await sql<{ window: WindowRow }>`
    with old as (
      select ${windowJson} as json from maintenance_windows w
      where w.id = ${input.id}::uuid and w.updated_at = ${input.expectedUpdatedAt.toISOString()}::timestamptz
    ),
    changed as (
      update maintenance_windows as w set name = ${spec.name}::text, reason = ${spec.reason}::text,
        owner = ${spec.owner}::text, action = ${spec.action}::text,
        schedule = ${JSON.stringify(scheduleJson(spec.schedule))}::jsonb, scope = ${JSON.stringify(spec.scope)}::jsonb,
        starts_at = ${startsAt}::timestamptz, ends_at = ${endsAt}::timestamptz,
        cancelled_at = ${input.cancelledAt?.toISOString() ?? null}::timestamptz,
        updated_by = ${input.actor}::text, updated_at = ${now}::timestamptz
      where w.id = ${input.id}::uuid and w.updated_at = ${input.expectedUpdatedAt.toISOString()}::timestamptz
      returning ${windowColumns}, ${windowJson} as json
    ),
    ${bumpAndRecord(input.change, input.actor, now, sql`(select json::jsonb from old)`, sql`c.json::jsonb`)}
    select row_to_json(c) as window from changed c
  `.execute(db);
  return rows[0] && toWindow(rows[0].window);
}

/** The last window of the previous page: listed by start, newest first, then id. */
export interface WindowCursor {
  startsAt: string;
  id: string;
}

/**
 * Windows newest start first. Without `includeEnded`, those that ended by `now` (cancelled, or past
 * their end) are left out; a weekly series without `until` never ends.
 */
export async function listWindows(
  db: Db,
  input: { includeEnded: boolean; now: Date; limit: number; after?: WindowCursor | undefined },
): Promise<{ windows: MaintenanceWindow[]; next: WindowCursor | undefined }> {
  const now = input.now.toISOString();
  const conditions: RawBuilder<unknown>[] = [sql`true`];
  if (!input.includeEnded) {
    conditions.push(sql`(w.cancelled_at is null or w.cancelled_at > ${now}::timestamptz)`);
    conditions.push(sql`(w.ends_at is null or w.ends_at > ${now}::timestamptz)`);
  }
  if (input.after) {
    conditions.push(
      sql`(w.starts_at, w.id) < (${input.after.startsAt}::timestamptz, ${input.after.id}::uuid)`,
    );
  }
  const { rows } = await sql<WindowRow & { starts_at: Date | string }>`
    select ${windowColumns}, w.starts_at from maintenance_windows w
    where ${sql.join(conditions, sql` and `)}
    order by w.starts_at desc, w.id desc
    limit ${input.limit + 1}::int
  `.execute(db);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    windows: page.map(toWindow),
    next:
      rows.length > input.limit && last
        ? { startsAt: date(last.starts_at).toISOString(), id: last.id }
        : undefined,
  };
}

/** The version stamp: bumped by every window change. One primary-key read. */
export async function readMaintenanceVersion(db: Db): Promise<number> {
  const { rows } = await sql<{
    version: number | string;
  }>`select version from maintenance_state where id = 1`.execute(db);
  return Number(rows[0]?.version ?? 0);
}

/** At most this many live windows are loaded into a process (more is refused at create). */
export const MAX_LIVE_WINDOWS = 1000;

/** The windows not ended by `now` (the ones a verdict can come from), with the version they belong to. */
export async function loadLiveWindows(
  db: Db,
  now: Date,
): Promise<{ version: number; windows: MaintenanceWindow[] }> {
  const at = now.toISOString();
  const { rows } = await sql<{ version: number | string; windows: WindowRow[] }>`
    select (select version from maintenance_state where id = 1) as version,
      coalesce((select json_agg(${windowJson} order by w.created_at, w.id)
        from (select * from maintenance_windows
              where (cancelled_at is null or cancelled_at > ${at}::timestamptz)
                and (ends_at is null or ends_at > ${at}::timestamptz)
              order by created_at, id limit ${MAX_LIVE_WINDOWS}::int) w), '[]'::json) as windows
  `.execute(db);
  const row = rows[0];
  return { version: Number(row?.version ?? 0), windows: (row?.windows ?? []).map(toWindow) };
}

export async function countLiveWindows(db: Db, now: Date): Promise<number> {
  const at = now.toISOString();
  const { rows } = await sql<{ n: number | string }>`
    select count(*) as n from maintenance_windows
    where (cancelled_at is null or cancelled_at > ${at}::timestamptz) and (ends_at is null or ends_at > ${at}::timestamptz)
  `.execute(db);
  return Number(rows[0]?.n ?? 0);
}

export interface WindowChangeRecord {
  readonly id: number;
  readonly windowId: string;
  readonly change: string;
  readonly actor: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly version: number;
  readonly createdAt: Date;
}

/** A window's changes, newest first; `beforeId` is the last id of the previous page. */
export async function listWindowChanges(
  db: Db,
  input: { windowId: string; limit: number; beforeId?: number | undefined },
): Promise<WindowChangeRecord[]> {
  const { rows } = await sql<{
    id: number;
    window_id: string;
    change: string;
    actor: string;
    before: unknown;
    after: unknown;
    version: number | string;
    created_at: Date | string;
  }>`
    select id, window_id, change, actor, before, after, version, created_at from maintenance_window_changes
    where window_id = ${input.windowId}::uuid ${input.beforeId ? sql`and id < ${input.beforeId}::bigint` : sql``}
    order by id desc limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => ({
    id: Number(r.id),
    windowId: r.window_id,
    change: r.change,
    actor: r.actor,
    before: r.before,
    after: r.after,
    version: Number(r.version),
    createdAt: date(r.created_at),
  }));
}

/** Which of `ids` are services that exist (not deleted). */
export async function existingServiceIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await sql<{ id: string }>`
    select s.id from services s
    where s.id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))
      and s.deleted_at is null
  `.execute(db);
  return new Set(rows.map((r) => r.id));
}

/** A stored alert as conditions see it. */
export async function loadRoutableAlert(db: Db, id: number): Promise<RoutableAlert | undefined> {
  const { rows } = await sql<{
    id: number;
    service_id: string;
    summary: string;
    details: string;
    severity: string;
    source: string;
    dedup_key: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    created_at: Date | string;
  }>`
    select id, service_id, summary, details, severity, source, dedup_key, labels, annotations, created_at
    from alerts where id = ${id}::bigint
  `.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id),
    serviceId: r.service_id,
    summary: r.summary,
    details: r.details,
    severity: r.severity,
    source: r.source,
    dedupKey: r.dedup_key,
    labels: r.labels,
    annotations: r.annotations,
    createdAt: date(r.created_at),
  };
}

/** An open alert that a maintenance window suppressed and that has not been released from it. */
export interface SuppressedAlert {
  readonly alertId: number;
  readonly serviceId: string;
  readonly windowId: string;
  /** The log entry of routing's `suppressed` decision (its own, or the alert's `created` one): what a release is recorded against. */
  readonly suppressionEventId: number;
  readonly suppressedAt: Date;
}

/**
 * Open alerts whose latest suppression (routing's `suppressedEvent`, its data the decision with the
 * maintenance verdict) came from a window that may no longer hold it by `now` (a one-off window
 * cancelled or past its end, any weekly window, one changed since the suppression, or a deleted one),
 * not released yet; oldest first.
 */
export async function findSuppressedAlerts(
  db: Db,
  input: {
    suppressedState: string;
    suppressedEvent: string;
    openStatuses: readonly string[];
    now: Date;
    limit: number;
  },
): Promise<SuppressedAlert[]> {
  const now = input.now.toISOString();
  const { rows } = await sql<{
    alert_id: number | string;
    service_id: string;
    window_id: string;
    event_id: number | string;
    suppressed_at: Date | string;
  }>`
    select a.id as alert_id, a.service_id, s.window_id, s.event_id, s.suppressed_at
    from alerts a
    cross join lateral (
      -- The decision that suppressed it: its own entry, or the alert's created entry when ingest decided.
      select e.id as event_id, e.created_at as suppressed_at, e.data->'maintenance'->>'windowId' as window_id,
        e.data->'maintenance'->>'action' as action
      from alert_events e join routing_decisions d on d.id = e.decision_id
      where e.alert_id = a.id and d.type = ${input.suppressedEvent}::text
      order by e.id desc limit 1
    ) s
    left join maintenance_windows w on w.id::text = s.window_id
    where a.routing_state = ${input.suppressedState}::text
      and a.status in (${sql.join(input.openStatuses.map((st) => sql`${st}::text`))})
      and s.action = 'suppress' and s.window_id is not null
      and not exists (select 1 from maintenance_releases r where r.suppression_event_id = s.event_id)
      and (w.id is null or w.cancelled_at <= ${now}::timestamptz or w.ends_at <= ${now}::timestamptz
        or w.schedule->>'kind' = 'weekly' or w.updated_at > s.suppressed_at)
    -- Surely ended first: alerts still held by an active window cannot crowd them out of the batch.
    order by (w.id is null or w.cancelled_at <= ${now}::timestamptz or w.ends_at <= ${now}::timestamptz) desc, a.id
    limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => ({
    alertId: Number(r.alert_id),
    serviceId: r.service_id,
    windowId: r.window_id,
    suppressionEventId: Number(r.event_id),
    suppressedAt: date(r.suppressed_at),
  }));
}

/** Why an alert is released: its window ended, or was changed so that it no longer suppresses it. */
export type ReleaseReason = "ended" | "changed";

/**
 * Releases suppressed alerts, in one statement: records each suppression's release once, removes the
 * alert's visible `suppressed` routing state (alerts.routing_state, so routing takes it again), logs `releaseEvent` and writes the `routeEffect` (one per
 * service) that routes them again. An alert resolved meanwhile is left alone. Returns the effects
 * written (the caller dispatches them; housekeeping sweeps any left).
 */
export async function releaseSuppressedAlerts(
  db: Db,
  input: {
    releases: readonly {
      alertId: number;
      windowId: string;
      windowName: string;
      suppressionEventId: number;
      reason: ReleaseReason;
    }[];
    suppressedState: string;
    openStatuses: readonly string[];
    releaseEvent: string;
    routeEffect: EffectKind;
    actor: string;
    now: Date;
  },
): Promise<EffectRecord[]> {
  if (input.releases.length === 0) return [];
  const now = input.now.toISOString();
  const json = JSON.stringify(
    input.releases.map((r) => ({
      event_id: r.suppressionEventId,
      alert_id: r.alertId,
      window_id: r.windowId,
      message: `Maintenance window ${r.windowName} ${r.reason === "ended" ? "ended" : "no longer suppresses this alert"}: routed again`,
      reason: r.reason,
    })),
  );
  const effectRows = sql`
    select ${input.routeEffect}::text, o.service_id, jsonb_agg(o.id order by o.id),
      jsonb_build_object('reason', 'maintenance_released')
    from reopened o group by o.service_id`;
  const { rows } = await sql<{ effect: EffectTuple }>`
    with input as (
      select * from jsonb_to_recordset(${json}::jsonb)
        as x(event_id bigint, alert_id bigint, window_id uuid, message text, reason text)
    ),
    released as (
      insert into maintenance_releases (suppression_event_id, alert_id, window_id, released_at)
      select i.event_id, i.alert_id, i.window_id, ${now}::timestamptz from input i
      on conflict do nothing
      returning suppression_event_id, alert_id
    ),
    reopened as (
      update alerts a set routing_state = null, routing_reason = null
      from released r
      where a.id = r.alert_id and a.routing_state = ${input.suppressedState}::text
        and a.status in (${sql.join(input.openStatuses.map((st) => sql`${st}::text`))})
      returning a.id, a.service_id, r.suppression_event_id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select o.id, ${input.releaseEvent}::text, ${input.actor}::text, i.message,
        jsonb_build_object('windowId', i.window_id, 'reason', i.reason), ${now}::timestamptz
      from reopened o join input i on i.event_id = o.suppression_event_id
    ),
    effects as (${insertEffects(effectRows, input.now)})
    select effect from effects
  `.execute(db);
  return rows.map((r) => effectOf(r.effect));
}
