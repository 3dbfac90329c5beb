import { type RawBuilder, sql } from "kysely";

/**
 * A value for a JSONB column or parameter. Always go through this for arrays: node-postgres
 * would send a JS array as a Postgres array literal, and the Data API takes no arrays at all.
 *
 * @example db.insertInto("rotations").values({ participants: jsonb(["u1", "u2"]), ... })
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`${JSON.stringify(value)}::jsonb`;
}
