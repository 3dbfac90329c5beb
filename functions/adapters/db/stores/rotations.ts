import { type Kysely, type RawBuilder, sql } from "kysely";
import type { Rotation, RotationAnchor, ShiftUnit } from "../../../domain/schedules/index.ts";
import { jsonb } from "../jsonb.ts";
import { afterName, byName, keysetPage, type NameCursor, nameCursorOf, pageLimit } from "../keyset.ts";
import type { Database } from "../schema.ts";
import { type DeleteOutcome, policiesTargeting } from "./escalation-policies.ts";
import { likeContaining } from "./services.ts";

// Rotations as domain `Rotation`s plus their name and timestamps. Participant edits are
// read-modify-write under a row lock (`for update`), so two concurrent edits apply one after the
// other instead of one silently undoing the other. Parameters are cast explicitly (RDS Data API).

/** A stored rotation: the domain rotation (participants, shift length, start, zone, anchor) and its metadata. */
export interface RotationRecord extends Rotation {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Everything about a rotation that a write sets. */
export type RotationFields = Omit<RotationRecord, "id" | "createdAt" | "updatedAt">;

type Db = Kysely<Database>;

interface RotationRow {
  id: string;
  name: string;
  description: string;
  time_zone: string;
  shift_count: number;
  shift_unit: ShiftUnit;
  start_at: Date;
  participants: string[];
  anchor: StoredAnchor | null;
  created_at: Date;
  updated_at: Date;
}

/** The anchor column: RotationAnchor with its instant as an ISO string. */
interface StoredAnchor {
  index: number;
  at: string;
  previousIndex?: number;
}

const rotationColumns = sql.raw(
  "id, name, description, time_zone, shift_count, shift_unit, start_at, participants, anchor, created_at, updated_at",
);

function toRecord(row: RotationRow): RotationRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    participants: row.participants,
    shiftLength: { count: row.shift_count, unit: row.shift_unit },
    start: row.start_at,
    timeZone: row.time_zone,
    ...(row.anchor ? { anchor: fromStoredAnchor(row.anchor) } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function fromStoredAnchor(a: StoredAnchor): RotationAnchor {
  const anchor = { index: a.index, at: new Date(a.at) };
  return a.previousIndex === undefined ? anchor : { ...anchor, previousIndex: a.previousIndex };
}

/** The anchor column's parameter: JSON text, or SQL null without an anchor. */
function anchorParam(a: RotationAnchor | undefined): string | null {
  if (!a) return null;
  const anchor: StoredAnchor = { index: a.index, at: a.at.toISOString() };
  if (a.previousIndex !== undefined) anchor.previousIndex = a.previousIndex;
  return JSON.stringify(anchor);
}

/**
 * A rotation as the jsonb object that schedules.ts aggregates in its one-round-trip loads
 * (`ro` is the rotations alias); read back with {@link rotationFromJson}.
 */
export const rotationJson = sql`jsonb_build_object(
  'id', ro.id, 'name', ro.name, 'description', ro.description, 'timeZone', ro.time_zone,
  'shiftCount', ro.shift_count, 'shiftUnit', ro.shift_unit,
  'startMs', floor(extract(epoch from ro.start_at) * 1000)::bigint,
  'participants', ro.participants, 'anchor', ro.anchor,
  'createdMs', floor(extract(epoch from ro.created_at) * 1000)::bigint,
  'updatedMs', floor(extract(epoch from ro.updated_at) * 1000)::bigint)`;

export interface RotationJson {
  id: string;
  name: string;
  description: string;
  timeZone: string;
  shiftCount: number;
  shiftUnit: ShiftUnit;
  startMs: number;
  participants: string[];
  anchor: StoredAnchor | null;
  createdMs: number;
  updatedMs: number;
}

export function rotationFromJson(j: RotationJson): RotationRecord {
  return toRecord({
    id: j.id,
    name: j.name,
    description: j.description,
    time_zone: j.timeZone,
    shift_count: j.shiftCount,
    shift_unit: j.shiftUnit,
    start_at: new Date(j.startMs),
    participants: j.participants,
    anchor: j.anchor,
    created_at: new Date(j.createdMs),
    updated_at: new Date(j.updatedMs),
  });
}

export async function createRotation(db: Db, input: RotationFields & { now: Date }): Promise<RotationRecord> {
  const now = input.now.toISOString();
  const { rows } = await sql<RotationRow>`
    insert into rotations (name, description, time_zone, shift_count, shift_unit, start_at, participants, anchor,
      created_at, updated_at)
    values (${input.name}, ${input.description}, ${input.timeZone}, ${input.shiftLength.count}::int,
      ${input.shiftLength.unit}, ${input.start.toISOString()}::timestamptz, ${jsonb(input.participants)},
      ${anchorParam(input.anchor)}::jsonb, ${now}::timestamptz, ${now}::timestamptz)
    returning ${rotationColumns}
  `.execute(db);
  return toRecord(rows[0]!);
}

/** The rotation, or undefined; also what the escalation engine uses to find a rotation's current participant. */
export async function getRotation(db: Db, id: string): Promise<RotationRecord | undefined> {
  const { rows } =
    await sql<RotationRow>`select ${rotationColumns} from rotations where id = ${id}::uuid`.execute(db);
  return rows[0] && toRecord(rows[0]);
}

/** The last rotation of the previous page: rotations are listed by lower(name), then id. */
export type RotationCursor = NameCursor;

export async function listRotations(
  db: Db,
  input: { search: string; limit: number; after?: RotationCursor | undefined },
): Promise<{ rotations: RotationRecord[]; next: RotationCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [afterName(input.after)];
  if (input.search) conditions.push(sql`name ilike ${likeContaining(input.search)} escape '\\'`);
  const { rows } = await sql<RotationRow>`
    select ${rotationColumns} from rotations
    where ${sql.join(conditions, sql` and `)}
    order by ${byName()}
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows.map(toRecord), input.limit, nameCursorOf);
  return { rotations: page.items, next: page.next };
}

/**
 * Read-modify-write under `select … for update`: `edit` gets the rotation as stored and returns every
 * field's new value (it may throw, e.g. a ValidationError, which rolls back). Undefined when the
 * rotation does not exist.
 *
 * @example modifyRotation(db, id, (r) => addParticipant(r, "u-7", now), now)
 */
export async function modifyRotation(
  db: Db,
  id: string,
  edit: (current: RotationRecord) => RotationFields,
  now: Date,
): Promise<RotationRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<RotationRow>`
      select ${rotationColumns} from rotations where id = ${id}::uuid for update
    `.execute(trx);
    if (!rows[0]) return undefined;
    const next = edit(toRecord(rows[0]));
    const { rows: updated } = await sql<RotationRow>`
      update rotations set
        name = ${next.name},
        description = ${next.description},
        time_zone = ${next.timeZone},
        shift_count = ${next.shiftLength.count}::int,
        shift_unit = ${next.shiftLength.unit},
        start_at = ${next.start.toISOString()}::timestamptz,
        participants = ${jsonb(next.participants)},
        anchor = ${anchorParam(next.anchor)}::jsonb,
        updated_at = ${now.toISOString()}::timestamptz
      where id = ${id}::uuid
      returning ${rotationColumns}
    `.execute(trx);
    return toRecord(updated[0]!);
  });
}

/**
 * Deletes the rotation unless a schedule rule or an escalation step uses it (`in_use`, naming them):
 * deleting it would leave a layer of a schedule, or a step, silently empty. The row is locked first,
 * so a write that checked the rotation has committed and is seen.
 */
export async function deleteRotation(db: Db, id: string): Promise<DeleteOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      id: string;
    }>`select id from rotations where id = ${id}::uuid for update`.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    const { rows: schedules } = await sql<{ id: string; name: string }>`
      select s.id, s.name from schedules s
      where exists (select 1 from schedule_rules r where r.schedule_id = s.id and r.target_rotation_id = ${id}::uuid)
      order by lower(s.name), s.id
      limit 10
    `.execute(trx);
    const usedBy = [
      ...schedules.map((s) => `schedule ${JSON.stringify(s.name)} (${s.id})`),
      ...(await policiesTargeting(trx, { kind: "rotation", id })),
    ];
    if (usedBy.length > 0) return { outcome: "in_use", usedBy };
    await sql`delete from rotations where id = ${id}::uuid`.execute(trx);
    return { outcome: "deleted" };
  });
}
