import type pg from "pg";
// pg-types (what node-postgres parses with) rather than pg itself: the Data API driver shares these
// parsers, and a Data API Lambda should not bundle the whole node-postgres client.
import pgTypes from "pg-types";

/** Postgres type oids whose parsing we pin so that every driver returns the same JS values. */
export const PG_OID = {
  INT8: 20,
  DATE: 1082,
  TIMESTAMP: 1114,
  NUMERIC: 1700,
} as const;

export class UnsafeIntegerError extends Error {
  override readonly name = "UnsafeIntegerError";
}

/** int8 → number; a value that a JS number cannot hold exactly is an error, not a silent rounding. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new UnsafeIntegerError(`int8 value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/**
 * node-postgres type overrides shared by the `pg` pool and the PGlite pool shim:
 * int8 as a number, date as its "YYYY-MM-DD" text (pg would make a local-midnight Date),
 * timestamp without time zone refused at read time (we only store timestamptz).
 */
export function createTypeOverrides(): pg.CustomTypesConfig {
  const builtin = pgTypes;
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") => {
      if (oid === PG_OID.INT8) return parseInt8;
      if (oid === PG_OID.DATE) return (text: string) => text;
      return builtin.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig["getTypeParser"],
  };
}
