import { type Kysely, type RawBuilder, sql } from "kysely";
import type { Override, Schedule, ScheduleRule, Weekday } from "../../../domain/schedules/index.ts";
import { afterName, byName, keysetPage, type NameCursor, nameCursorOf, pageLimit } from "../keyset.ts";
import type { Database } from "../schema.ts";
import { type DeleteOutcome, lockReferences, policiesTargeting } from "./escalation-policies.ts";
import { type RotationJson, type RotationRecord, rotationFromJson, rotationJson } from "./rotations.ts";
import { routingUsersOf } from "./routing-references.ts";
import { likeContaining } from "./services.ts";

// Schedules with their rules, their overrides, and the loads behind the on-call queries.
//
// A schedule is read with its rules in one round trip (a jsonb_agg subquery). The on-call loads
// (loadOnCallContext, loadUserOnCallContexts) also aggregate, in the same statement, the rotations
// the rules name and the overrides overlapping the range, so `onCallAt` / `listShifts` run on the
// result without a second trip. Instants inside JSON travel as epoch milliseconds.
// Rules are replaced as a whole list, in the same transaction as the schedule row; the rotations
// they name are locked `for key share` first (the foreign key would refuse a missing one with an
// error that names no field). Parameters are cast explicitly (RDS Data API).

/** A stored rule: a domain rule with weekdays as numbers (0 = Sunday … 6 = Saturday). */
export interface StoredRule extends ScheduleRule {
  readonly weekdays: readonly Weekday[];
}

export interface ScheduleRecord extends Schedule {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly rules: readonly StoredRule[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A stored override: a domain override with its id. Lists of overrides are in creation order. */
export type OverrideRecord = Override & {
  readonly id: string;
  readonly scheduleId: string;
  readonly createdAt: Date;
};

/** What `onCallAt` / `listShifts` need for one schedule over a range. */
export interface OnCallContext {
  readonly schedule: ScheduleRecord;
  /** The rotations the schedule's rules name, by id. */
  readonly rotations: ReadonlyMap<string, RotationRecord>;
  /** The overrides overlapping the range, in creation order (`overrideIndex` of a shift source indexes this). */
  readonly overrides: readonly OverrideRecord[];
}

export type ScheduleWriteOutcome =
  | { outcome: "ok"; schedule: ScheduleRecord }
  | { outcome: "not_found" }
  /** rules[ruleIndex] names a rotation that does not exist. */
  | { outcome: "missing_rotation"; ruleIndex: number };

type Db = Kysely<Database>;

interface RuleJson {
  kind: "user" | "rotation";
  userId: string | null;
  rotationId: string | null;
  weekdays: Weekday[];
  start: string;
  end: string;
}

interface OverrideJson {
  id: string;
  scheduleId: string;
  kind: Override["kind"];
  userId: string;
  replacesUserId: string | null;
  startMs: number;
  endMs: number;
  createdMs: number;
}

interface ScheduleRow {
  id: string;
  name: string;
  description: string;
  time_zone: string;
  created_at: Date;
  updated_at: Date;
  rules: RuleJson[];
}

interface ContextRow extends ScheduleRow {
  rotations: RotationJson[];
  overrides: OverrideJson[];
}

const ms = (column: string) => sql.raw(`floor(extract(epoch from ${column}) * 1000)::bigint`);

const scheduleColumns = sql`s.id, s.name, s.description, s.time_zone, s.created_at, s.updated_at,
  coalesce((
    select jsonb_agg(jsonb_build_object(
      'kind', r.target_kind, 'userId', r.target_user_id, 'rotationId', r.target_rotation_id,
      'weekdays', r.weekdays, 'start', r.start_time, 'end', r.end_time) order by r.position)
    from schedule_rules r where r.schedule_id = s.id
  ), '[]'::jsonb) as rules`;

const overrideJson = sql`jsonb_build_object(
  'id', o.id, 'scheduleId', o.schedule_id, 'kind', o.kind, 'userId', o.user_id,
  'replacesUserId', o.replaces_user_id, 'startMs', ${ms("o.start_at")}, 'endMs', ${ms("o.end_at")},
  'createdMs', ${ms("o.created_at")})`;

function toRule(j: RuleJson): StoredRule {
  const target =
    j.kind === "user"
      ? ({ kind: "user", userId: j.userId! } as const)
      : ({ kind: "rotation", rotationId: j.rotationId! } as const);
  return { target, weekdays: j.weekdays, start: j.start, end: j.end };
}

function toSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    timeZone: row.time_zone,
    rules: row.rules.map(toRule),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toOverride(j: OverrideJson): OverrideRecord {
  const base = {
    id: j.id,
    scheduleId: j.scheduleId,
    userId: j.userId,
    start: new Date(j.startMs),
    end: new Date(j.endMs),
    createdAt: new Date(j.createdMs),
  };
  return j.kind === "replace"
    ? { ...base, kind: "replace", replacesUserId: j.replacesUserId! }
    : { ...base, kind: j.kind };
}

function toContext(row: ContextRow): OnCallContext {
  return {
    schedule: toSchedule(row),
    rotations: new Map(row.rotations.map((j) => [j.id, rotationFromJson(j)])),
    overrides: row.overrides.map(toOverride),
  };
}

/** The schedule with its rules in order, in one round trip; undefined when it does not exist. */
export async function getSchedule(db: Db, id: string): Promise<ScheduleRecord | undefined> {
  const { rows } =
    await sql<ScheduleRow>`select ${scheduleColumns} from schedules s where s.id = ${id}::uuid`.execute(db);
  return rows[0] && toSchedule(rows[0]);
}

/** The last schedule of the previous page: schedules are listed by lower(name), then id. */
export type ScheduleCursor = NameCursor;

export async function listSchedules(
  db: Db,
  input: { search: string; limit: number; after?: ScheduleCursor | undefined },
): Promise<{ schedules: ScheduleRecord[]; next: ScheduleCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [afterName(input.after, "s")];
  if (input.search) conditions.push(sql`s.name ilike ${likeContaining(input.search)} escape '\\'`);
  const { rows } = await sql<ScheduleRow>`
    select ${scheduleColumns} from schedules s
    where ${sql.join(conditions, sql` and `)}
    order by ${byName("s")}
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows.map(toSchedule), input.limit, nameCursorOf);
  return { schedules: page.items, next: page.next };
}

export interface ScheduleInput {
  name: string;
  description: string;
  timeZone: string;
  rules: readonly StoredRule[];
}

/** Creates the schedule and its rules in one transaction. */
export async function createSchedule(
  db: Db,
  input: ScheduleInput & { now: Date },
): Promise<ScheduleWriteOutcome> {
  return db.transaction().execute(async (trx) => {
    const missing = await findMissingRotation(trx, input.rules);
    if (missing !== undefined) return { outcome: "missing_rotation", ruleIndex: missing };
    const now = input.now.toISOString();
    const { rows } = await sql<{ id: string }>`
      insert into schedules (name, description, time_zone, created_at, updated_at)
      values (${input.name}, ${input.description}, ${input.timeZone}, ${now}::timestamptz, ${now}::timestamptz)
      returning id
    `.execute(trx);
    const id = rows[0]!.id;
    await insertRules(trx, id, input.rules, input.now);
    return { outcome: "ok", schedule: (await getSchedule(trx, id))! };
  });
}

/** Changes the given fields; `rules`, when given, replaces the whole list. One transaction. */
export async function updateSchedule(
  db: Db,
  id: string,
  patch: Partial<ScheduleInput>,
  now: Date,
): Promise<ScheduleWriteOutcome> {
  return db.transaction().execute(async (trx) => {
    if (patch.rules) {
      const missing = await findMissingRotation(trx, patch.rules);
      if (missing !== undefined) return { outcome: "missing_rotation", ruleIndex: missing };
    }
    const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
    if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
    if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`);
    if (patch.timeZone !== undefined) sets.push(sql`time_zone = ${patch.timeZone}`);
    const { rows } = await sql<{ id: string }>`
      update schedules set ${sql.join(sets)} where id = ${id}::uuid returning id
    `.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    if (patch.rules) {
      await sql`delete from schedule_rules where schedule_id = ${id}::uuid`.execute(trx);
      await insertRules(trx, id, patch.rules, now);
    }
    return { outcome: "ok", schedule: (await getSchedule(trx, id))! };
  });
}

/**
 * Deletes the schedule with its rules and overrides, unless an escalation step targets it
 * (`in_use`): the step would page no one. The row is locked first (see policiesTargeting).
 */
export async function deleteSchedule(db: Db, id: string): Promise<DeleteOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      id: string;
    }>`select id from schedules where id = ${id}::uuid for update`.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    const usedBy = await policiesTargeting(trx, { kind: "schedule", id });
    // A routing rule that notifies its on-call would notify no one.
    usedBy.push(...(await routingUsersOf(trx, { kind: "schedule", id })));
    if (usedBy.length > 0) return { outcome: "in_use", usedBy };
    await sql`delete from schedules where id = ${id}::uuid`.execute(trx);
    return { outcome: "deleted" };
  });
}

async function insertRules(
  db: Db,
  scheduleId: string,
  rules: readonly StoredRule[],
  now: Date,
): Promise<void> {
  if (rules.length === 0) return;
  const batch = JSON.stringify(
    rules.map((r, position) => ({
      position,
      target_kind: r.target.kind,
      target_user_id: r.target.kind === "user" ? r.target.userId : null,
      target_rotation_id: r.target.kind === "rotation" ? r.target.rotationId : null,
      weekdays: r.weekdays,
      start_time: r.start,
      end_time: r.end,
    })),
  );
  await sql`
    insert into schedule_rules (schedule_id, position, target_kind, target_user_id, target_rotation_id, weekdays,
      start_time, end_time, created_at)
    select ${scheduleId}::uuid, x.position, x.target_kind, x.target_user_id, x.target_rotation_id::uuid, x.weekdays,
      x.start_time, x.end_time, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${batch}::jsonb) as x(position int, target_kind text, target_user_id text,
      target_rotation_id text, weekdays jsonb, start_time text, end_time text)
  `.execute(db);
}

/** Locks the rotations the rules name; the index of the first rule naming a missing one. */
async function findMissingRotation(db: Db, rules: readonly StoredRule[]): Promise<number | undefined> {
  const refs = rules.flatMap((r) =>
    r.target.kind === "rotation" ? [{ kind: "rotation" as const, id: r.target.rotationId }] : [],
  );
  if (refs.length === 0) return undefined;
  const found = await lockReferences(db, refs);
  const index = rules.findIndex(
    (r) => r.target.kind === "rotation" && !found.has(`rotation:${r.target.rotationId}`),
  );
  return index === -1 ? undefined : index;
}

/** Creates an override; undefined when the schedule does not exist (nothing is inserted). */
export type CreateOverrideOutcome =
  | { outcome: "created"; override: OverrideRecord }
  | { outcome: "not_found" }
  /** The caps (domain/schedules/limits.ts) refused it, for these counts already on the schedule. */
  | { outcome: "refused"; overlapping: number; upcoming: number };

/**
 * Adds an override unless the schedule already holds `caps` of its overrides overlapping the new
 * one's range, or not ended at `now`. One statement:
 * the counts and the insert see the same snapshot (concurrent inserts can overshoot a cap by the
 * number in flight).
 */
export async function createOverride(
  db: Db,
  input: {
    scheduleId: string;
    override: Override;
    now: Date;
    /** At most this many overrides may overlap the new one's range, and be not yet ended. */
    caps: { overlapping: number; upcoming: number };
  },
): Promise<CreateOverrideOutcome> {
  const o = input.override;
  const start = o.start.toISOString();
  const end = o.end.toISOString();
  const { rows } = await sql<{
    found: boolean;
    overlapping: number;
    upcoming: number;
    o: OverrideJson | null;
  }>`
    with s as (select id from schedules where id = ${input.scheduleId}::uuid),
    counts as (
      select
        (select count(*)::int from schedule_overrides x join s on x.schedule_id = s.id
          where x.start_at < ${end}::timestamptz and x.end_at > ${start}::timestamptz) as overlapping,
        (select count(*)::int from schedule_overrides x join s on x.schedule_id = s.id
          where x.end_at > ${input.now.toISOString()}::timestamptz) as upcoming
    ),
    o as (
      insert into schedule_overrides (schedule_id, kind, user_id, replaces_user_id, start_at, end_at, created_at)
      select s.id, ${o.kind}, ${o.userId}, ${o.kind === "replace" ? o.replacesUserId : null}::text,
        ${start}::timestamptz, ${end}::timestamptz, ${input.now.toISOString()}::timestamptz
      from s, counts c
      where c.overlapping < ${input.caps.overlapping}::int and c.upcoming < ${input.caps.upcoming}::int
      returning *
    )
    select exists (select 1 from s) as found, c.overlapping, c.upcoming,
      (select ${overrideJson} from o) as o
    from counts c
  `.execute(db);
  const row = rows[0]!;
  if (!row.found) return { outcome: "not_found" };
  if (!row.o) return { outcome: "refused", overlapping: row.overlapping, upcoming: row.upcoming };
  return { outcome: "created", override: toOverride(row.o) };
}

/** The last override of the previous page: overrides are listed by start, then id. */
export interface OverrideCursor {
  startMs: number;
  id: string;
}

/**
 * A page of the schedule's overrides that end after `from` and (when given) start before `to`, by
 * start then id; undefined when the schedule does not exist. One round trip.
 */
export async function listOverrides(
  db: Db,
  input: {
    scheduleId: string;
    from: Date;
    to?: Date | undefined;
    limit: number;
    after?: OverrideCursor | undefined;
  },
): Promise<{ overrides: OverrideRecord[]; next: OverrideCursor | undefined } | undefined> {
  const conditions: RawBuilder<unknown>[] = [sql`o.end_at > ${input.from.toISOString()}::timestamptz`];
  if (input.to) conditions.push(sql`o.start_at < ${input.to.toISOString()}::timestamptz`);
  if (input.after) {
    conditions.push(
      sql`(o.start_at, o.id) > (${new Date(input.after.startMs).toISOString()}::timestamptz, ${input.after.id}::uuid)`,
    );
  }
  const { rows } = await sql<{ o: OverrideJson | null }>`
    select case when o.id is null then null else ${overrideJson} end as o
    from schedules s
    left join schedule_overrides o on o.schedule_id = s.id and ${sql.join(conditions, sql` and `)}
    where s.id = ${input.scheduleId}::uuid
    order by o.start_at, o.id
    limit ${pageLimit(input.limit)}
  `.execute(db);
  if (rows.length === 0) return undefined;
  const all = rows.flatMap((r) => (r.o ? [toOverride(r.o)] : []));
  const page = keysetPage(all, input.limit, (last) => ({ startMs: last.start.getTime(), id: last.id }));
  return { overrides: page.items, next: page.next };
}

export async function deleteOverride(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{
    id: string;
  }>`delete from schedule_overrides where id = ${id}::uuid returning id`.execute(db);
  return rows.length > 0;
}

function contextQuery(where: RawBuilder<unknown>, from: Date, to: Date) {
  return sql<ContextRow>`
    select ${scheduleColumns},
      coalesce((
        select jsonb_agg(${rotationJson}) from rotations ro
        where ro.id in (select r.target_rotation_id from schedule_rules r where r.schedule_id = s.id)
      ), '[]'::jsonb) as rotations,
      coalesce((
        select jsonb_agg(${overrideJson} order by o.created_at, o.id) from schedule_overrides o
        where o.schedule_id = s.id and o.end_at > ${from.toISOString()}::timestamptz
          and o.start_at < ${to.toISOString()}::timestamptz
      ), '[]'::jsonb) as overrides
    from schedules s
    where ${where}
    order by s.id
  `;
}

/**
 * Everything `onCallAt` / `listShifts` need for one schedule over `[from, to)`, in one round trip:
 * the schedule and its rules, the rotations they name, the overrides overlapping the range in
 * creation order. Undefined when the schedule does not exist.
 *
 * @example
 * const ctx = await loadOnCallContext(db, scheduleId, now, new Date(now.getTime() + 1));
 * const users = ctx && onCallAt(ctx.schedule, ctx.rotations, ctx.overrides, now);
 */
export async function loadOnCallContext(
  db: Db,
  scheduleId: string,
  from: Date,
  to: Date,
): Promise<OnCallContext | undefined> {
  const { rows } = await contextQuery(sql`s.id = ${scheduleId}::uuid`, from, to).execute(db);
  return rows[0] && toContext(rows[0]);
}

/**
 * The on-call contexts over `[from, to)` of every schedule that can put `userId` on call: a rule
 * naming them or a rotation they take part in, or an add/replace override for them in the range.
 * One round trip, by schedule id.
 */
export async function loadUserOnCallContexts(
  db: Db,
  userId: string,
  from: Date,
  to: Date,
): Promise<OnCallContext[]> {
  const where = sql`
    exists (
      select 1 from schedule_rules r left join rotations ro on ro.id = r.target_rotation_id
      where r.schedule_id = s.id
        and (r.target_user_id = ${userId}::text or ro.participants @> ${JSON.stringify([userId])}::jsonb)
    ) or exists (
      select 1 from schedule_overrides o
      where o.schedule_id = s.id and o.user_id = ${userId}::text and o.kind <> 'remove'
        and o.end_at > ${from.toISOString()}::timestamptz and o.start_at < ${to.toISOString()}::timestamptz
    )`;
  const { rows } = await contextQuery(where, from, to).execute(db);
  return rows.map(toContext);
}
