import type { ColumnType, Generated } from "kysely";

/**
 * The database as Kysely sees it. One interface per table; every later migration that adds a
 * table adds its interface here.
 *
 * Type conventions, identical on PGlite, node-postgres and the RDS Data API (see type-parsers.ts
 * and data-api-driver.ts): int8 → number (refused above 2^53), numeric → string,
 * timestamptz → Date, date → "YYYY-MM-DD", jsonb → parsed JSON, uuid/text → string.
 */
export interface Database {
  settings: SettingsTable;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Small key/value facts about this deployment (e.g. when the demo was seeded). */
export interface SettingsTable {
  key: string;
  value: ColumnType<Json, Json, Json>;
  updated_at: Generated<Date>;
}
