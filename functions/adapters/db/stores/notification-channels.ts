import { type Kysely, type RawBuilder, sql } from "kysely";
import type { ChannelLookup } from "../../../domain/notifications/channels.ts";
import type { ChannelConfig, ChannelType, NotificationChannel } from "../../../domain/notifications/model.ts";
import { afterName, byName, keysetPage, type NameCursor, nameCursorOf, pageLimit } from "../keyset.ts";
import type { Database } from "../schema.ts";
import { policiesTargeting } from "./escalation-policies.ts";
import { routingUsersOf } from "./routing-references.ts";
import { likeContaining } from "./services.ts";

// Notification channels: a name, a type and its configuration (JSONB, secret references only).
// Names are unique ignoring case (a unique index; a clash is an outcome, not an error). Escalation
// steps name channels in JSONB targets without a foreign key: a delete locks the channel row first
// and then looks for steps that name it, and policy writes lock the channels they name
// `for key share` (lockReferences), so neither can slip past the other. Every parameter is cast
// explicitly: the RDS Data API sends strings as varchar.

type Db = Kysely<Database>;

export interface ChannelRecord extends NotificationChannel {
  readonly description: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface ChannelRow {
  id: string;
  name: string;
  description: string;
  config: ChannelConfig;
  created_at: Date;
  updated_at: Date;
}

const columns = sql`c.id, c.name, c.description, c.config, c.created_at, c.updated_at`;

function toRecord(row: ChannelRow): ChannelRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    config: row.config,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type ChannelWriteOutcome =
  | { outcome: "ok"; channel: ChannelRecord }
  | { outcome: "not_found" }
  | { outcome: "name_taken" };

export async function createChannel(
  db: Db,
  input: { name: string; description: string; config: ChannelConfig; now: Date },
): Promise<ChannelWriteOutcome> {
  const now = input.now.toISOString();
  const { rows } = await sql<ChannelRow>`
    insert into notification_channels as c (name, description, type, config, created_at, updated_at)
    values (${input.name}, ${input.description}, ${input.config.type}, ${JSON.stringify(input.config)}::jsonb,
      ${now}::timestamptz, ${now}::timestamptz)
    on conflict ((lower(name))) do nothing
    returning ${columns}
  `.execute(db);
  return rows[0] ? { outcome: "ok", channel: toRecord(rows[0]) } : { outcome: "name_taken" };
}

export async function getChannel(db: Db, id: string): Promise<ChannelRecord | undefined> {
  const { rows } = await sql<ChannelRow>`
    select ${columns} from notification_channels c where c.id = ${id}::uuid
  `.execute(db);
  return rows[0] && toRecord(rows[0]);
}

/** The last channel of the previous page: listed by lower(name), then id. */
export type ChannelCursor = NameCursor;

export async function listChannels(
  db: Db,
  input: { type?: ChannelType | undefined; search: string; limit: number; after?: ChannelCursor | undefined },
): Promise<{ channels: ChannelRecord[]; next: ChannelCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [afterName(input.after, "c")];
  if (input.type) conditions.push(sql`c.type = ${input.type}`);
  if (input.search) conditions.push(sql`c.name ilike ${likeContaining(input.search)} escape '\\'`);
  const { rows } = await sql<ChannelRow>`
    select ${columns} from notification_channels c
    where ${sql.join(conditions, sql` and `)}
    order by ${byName("c")}
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows.map(toRecord), input.limit, nameCursorOf);
  return { channels: page.items, next: page.next };
}

/**
 * Changes the given fields under the row's lock; `check` sees the channel as it will be saved and
 * may throw to roll back (the use case validates a config against the stored type there).
 */
export async function updateChannel(
  db: Db,
  id: string,
  patch: { name?: string | undefined; description?: string | undefined; config?: ChannelConfig | undefined },
  now: Date,
): Promise<ChannelWriteOutcome> {
  return updateChannelOnce(db, id, patch, now).catch((err: unknown) => {
    // Two renames to one free name at once: the unique index decides, the loser is told.
    if (isNameClash(err)) return { outcome: "name_taken" } as const;
    throw err;
  });
}

async function updateChannelOnce(
  db: Db,
  id: string,
  patch: { name?: string | undefined; description?: string | undefined; config?: ChannelConfig | undefined },
  now: Date,
): Promise<ChannelWriteOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows: found } = await sql<{ id: string }>`
      select id from notification_channels where id = ${id}::uuid for update
    `.execute(trx);
    if (found.length === 0) return { outcome: "not_found" };
    if (patch.name !== undefined) {
      const { rows: clash } = await sql<{ id: string }>`
        select id from notification_channels where lower(name) = lower(${patch.name}::text) and id <> ${id}::uuid
      `.execute(trx);
      if (clash.length > 0) return { outcome: "name_taken" };
    }
    const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
    if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
    if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`);
    if (patch.config !== undefined) {
      sets.push(sql`type = ${patch.config.type}`, sql`config = ${JSON.stringify(patch.config)}::jsonb`);
    }
    const { rows } = await sql<ChannelRow>`
      update notification_channels c set ${sql.join(sets)} where c.id = ${id}::uuid returning ${columns}
    `.execute(trx);
    return { outcome: "ok", channel: toRecord(rows[0]!) };
  });
}

export type ChannelDeleteOutcome =
  | { outcome: "deleted" }
  | { outcome: "not_found" }
  /**
   * Still named by escalation steps or routing rules: `escalation policy "<name>" (<id>)`,
   * `routing rule "<name>" (<id>)`, at most 10 of each.
   */
  | { outcome: "in_use"; usedBy: string[] };

/** Deletes the channel unless an escalation step or a routing rule's notify_channel action names it. */
export async function deleteChannel(db: Db, id: string): Promise<ChannelDeleteOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string }>`
      select id from notification_channels where id = ${id}::uuid for update
    `.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    const usedBy = [
      ...(await policiesTargeting(trx, { kind: "channel", id })),
      ...(await routingUsersOf(trx, { kind: "channel", id })),
    ];
    if (usedBy.length > 0) return { outcome: "in_use", usedBy };
    await sql`delete from notification_channels where id = ${id}::uuid`.execute(trx);
    return { outcome: "deleted" };
  });
}

/** Most ids one lookup reads (the planner asks per notification batch). */
export const MAX_LOOKUP_IDS = 1000;

/**
 * The channels with these ids, in one round trip; unknown (or non-uuid) ids are left out.
 *
 * @example const [slack] = await channelsByIds(db, ["3f6c…"]);
 */
export async function channelsByIds(db: Db, ids: readonly string[]): Promise<NotificationChannel[]> {
  const wanted = [...new Set(ids.map((id) => id.toLowerCase()).filter(isUuid))];
  if (wanted.length === 0) return [];
  if (wanted.length > MAX_LOOKUP_IDS)
    throw new RangeError(`at most ${MAX_LOOKUP_IDS} channel ids per lookup`);
  const { rows } = await sql<ChannelRow>`
    select ${columns} from notification_channels c
    where c.id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(wanted)}::jsonb))
  `.execute(db);
  return rows.map((row) => ({ id: row.id, name: row.name, config: row.config }));
}

/** The delivery planner's port over the database (the handle is read per call). */
export function createChannelLookup(db: () => Db): ChannelLookup {
  return { channels: (ids) => channelsByIds(db(), ids) };
}

/** A unique violation of the name index (SQLSTATE 23505; the Data API says it in its message). */
function isNameClash(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e; ) {
    if (
      e.code === "23505" ||
      (typeof e.message === "string" && e.message.includes("notification_channels_name"))
    ) {
      return true;
    }
    e = e.cause === e ? undefined : (e.cause as typeof e);
  }
  return false;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function isUuid(value: string): boolean {
  return UUID.test(value);
}
