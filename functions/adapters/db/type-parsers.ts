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
  TEXT_ARRAY: 1009,
  INT8_ARRAY: 1016,
  DATE_ARRAY: 1182,
  NUMERIC_ARRAY: 1231,
} as const;

/** A Postgres array literal as strings (nulls kept), with pg's own text[] parser. */
const parseTextArray = (text: string): (string | null)[] =>
  (pgTypes.getTypeParser as (oid: number, format: "text") => (t: string) => (string | null)[])(
    PG_OID.TEXT_ARRAY,
    "text",
  )(text);

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
 * int8 as a number, date as its "YYYY-MM-DD" text (pg would make a local-midnight Date), and
 * their arrays alike; numeric[] as strings like numeric. We store only timestamptz: pg parses a
 * `timestamp` without time zone as local time, so the schema never uses it.
 */
export function createTypeOverrides(): pg.CustomTypesConfig {
  const builtin = pgTypes;
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") => {
      if (oid === PG_OID.INT8) return parseInt8;
      if (oid === PG_OID.DATE) return (text: string) => text;
      if (oid === PG_OID.INT8_ARRAY)
        return (text: string) => parseTextArray(text).map((v) => (v === null ? null : parseInt8(v)));
      if (oid === PG_OID.DATE_ARRAY || oid === PG_OID.NUMERIC_ARRAY) return parseTextArray;
      return builtin.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig["getTypeParser"],
  };
}
