import { type Kysely, sql } from "kysely";
import type { CalendarDraft, StoredCalendar } from "../../../domain/routing/calendars.ts";
import type { TimeWindow } from "../../../domain/routing/model.ts";
import type { Database } from "../schema.ts";

// Business calendars (business_calendars, keyed by name). Every write is ONE statement that also
// bumps the routing rule set's version and the maintenance stamp: rules and maintenance scopes are
// compiled with the calendars, so a warm process that sees either version move recompiles with the
// new ones; the change is recorded in the rule change log (rule_id null, change "calendar_…", before
// and after). A delete is guarded by the rule set's version the caller checked its rules at.

type Db = Kysely<Database>;

interface CalendarRow {
  name: string;
  description: string;
  zone: string;
  windows: TimeWindow[];
  holidays: string[];
  created_by: string;
  created_at: Date | string;
  updated_by: string;
  updated_at: Date | string;
}

function calendarOf(row: CalendarRow): StoredCalendar {
  return {
    name: row.name,
    description: row.description,
    zone: row.zone,
    windows: row.windows,
    holidays: row.holidays,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: new Date(row.updated_at),
  };
}

/** Every calendar by name (at most `limit`). */
export async function listCalendars(db: Db, limit: number): Promise<StoredCalendar[]> {
  const rows = await db.selectFrom("business_calendars").selectAll().orderBy("name").limit(limit).execute();
  return rows.map((r) => calendarOf(r as unknown as CalendarRow));
}

export type CalendarWrite =
  | { readonly outcome: "written"; readonly calendar: StoredCalendar; readonly version: number }
  /** create: the name is taken; update: there is no such calendar. */
  | { readonly outcome: "exists" | "not_found" };

/** Inserts a calendar unless the name is taken (or `limit` calendars exist). */
export async function createCalendar(
  db: Db,
  input: { draft: CalendarDraft; actor: string; now: Date; limit: number },
): Promise<CalendarWrite | { readonly outcome: "full" }> {
  const now = input.now.toISOString();
  const d = input.draft;
  const { rows } = await sql<{
    calendar: CalendarRow | null;
    taken: boolean;
    full: boolean;
    version: number;
  }>`
    with ok as (
      select not exists (select 1 from business_calendars where name = ${d.name}) as free,
        (select count(*) from business_calendars) < ${input.limit}::int as room
    ),
    c as (
      insert into business_calendars (name, description, zone, windows, holidays, created_by, created_at,
        updated_by, updated_at)
      select ${d.name}, ${d.description}, ${d.zone}, ${JSON.stringify(d.windows)}::jsonb,
        ${JSON.stringify(d.holidays)}::jsonb, ${input.actor}, ${now}::timestamptz, ${input.actor}, ${now}::timestamptz
      from ok where ok.free and ok.room
      on conflict (name) do nothing
      returning *
    ),
    v as (update routing_rule_set set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and (select free and room from ok) returning version),
    m as (update maintenance_state set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and (select free and room from ok)),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select null, 'calendar_created', ${input.actor}, null, to_jsonb(c), v.version, ${now}::timestamptz from c, v
    )
    select (select to_jsonb(c) from c) as calendar, not (select free from ok) as taken,
      not (select room from ok) as full, (select version from v) as version
  `.execute(db);
  const row = rows[0];
  if (row?.calendar)
    return { outcome: "written", calendar: calendarOf(row.calendar), version: Number(row.version) };
  return { outcome: row?.full && !row.taken ? "full" : "exists" };
}

/** Replaces a calendar's description, zone, windows and holidays. */
export async function updateCalendar(
  db: Db,
  input: { draft: CalendarDraft; actor: string; now: Date },
): Promise<CalendarWrite> {
  const now = input.now.toISOString();
  const d = input.draft;
  const { rows } = await sql<{ calendar: CalendarRow; version: number }>`
    with old as (select * from business_calendars where name = ${d.name} for update),
    c as (
      update business_calendars set description = ${d.description}, zone = ${d.zone},
        windows = ${JSON.stringify(d.windows)}::jsonb, holidays = ${JSON.stringify(d.holidays)}::jsonb,
        updated_by = ${input.actor}, updated_at = ${now}::timestamptz
      where name = (select name from old)
      returning *
    ),
    v as (update routing_rule_set set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and exists (select 1 from c) returning version),
    m as (update maintenance_state set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and exists (select 1 from c)),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select null, 'calendar_updated', ${input.actor}, to_jsonb(old), to_jsonb(c), v.version, ${now}::timestamptz
      from old, c, v
    )
    select to_jsonb(c) as calendar, v.version from c, v
  `.execute(db);
  const row = rows[0];
  if (!row) return { outcome: "not_found" };
  return { outcome: "written", calendar: calendarOf(row.calendar), version: Number(row.version) };
}

export type CalendarDelete =
  | { readonly outcome: "deleted"; readonly version: number }
  | { readonly outcome: "not_found" }
  /** The rule set moved since the caller checked which rules name the calendar. */
  | { readonly outcome: "stale" };

/** Deletes a calendar if the rule set is still at `expectedVersion` (its rules were checked at it). */
export async function deleteCalendar(
  db: Db,
  input: { name: string; expectedVersion: number; actor: string; now: Date },
): Promise<CalendarDelete> {
  const now = input.now.toISOString();
  const { rows } = await sql<{ found: boolean; version: number | null }>`
    with current as (
      select version = ${input.expectedVersion}::bigint as current from routing_rule_set where id = 1 for update
    ),
    c as (
      delete from business_calendars where name = ${input.name} and (select current from current)
      returning *
    ),
    v as (update routing_rule_set set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and exists (select 1 from c) returning version),
    m as (update maintenance_state set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and exists (select 1 from c)),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select null, 'calendar_deleted', ${input.actor}, to_jsonb(c), null, v.version, ${now}::timestamptz from c, v
    )
    select exists (select 1 from business_calendars where name = ${input.name}) as found,
      (select version from v) as version
  `.execute(db);
  const row = rows[0];
  if (row?.version != null) return { outcome: "deleted", version: Number(row.version) };
  if (!row?.found) return { outcome: "not_found" };
  return { outcome: "stale" };
}
