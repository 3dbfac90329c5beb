import { type RawBuilder, sql } from "kysely";

// Keyset paging, one way for every list: the query orders by a unique key, reads `limit + 1` rows
// after the previous page's last key, and the extra row says whether a next page exists.

/** The last row of the previous page of a list ordered by case-insensitive name, then id. */
export interface NameCursor {
  name: string;
  id: string;
}

/** `order by` of a list by name: `lower(name), id`, columns qualified by `alias` when given. */
export function byName(alias?: string): RawBuilder<unknown> {
  const a = alias ? `${alias}.` : "";
  return sql.raw(`lower(${a}name), ${a}id`);
}

/** The rows after `cursor` in `byName` order (true for the first page). */
export function afterName(cursor: NameCursor | undefined, alias?: string): RawBuilder<unknown> {
  if (!cursor) return sql`true`;
  return sql`(${byName(alias)}) > (lower(${cursor.name}::text), ${cursor.id}::uuid)`;
}

/** How many rows a page query reads for a page of `limit`: one more, to know whether there is a next page. */
export function pageLimit(limit: number): RawBuilder<unknown> {
  return sql`${limit + 1}::int`;
}

/** The page out of the `limit + 1` rows a page query read, and the cursor of the next page. */
export function keysetPage<R, C>(
  rows: readonly R[],
  limit: number,
  cursorOf: (last: R) => C,
): { items: R[]; next: C | undefined } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? cursorOf(last) : undefined };
}

/** The cursor of a row in a list by name. */
export const nameCursorOf = (row: { name: string; id: string }): NameCursor => ({
  name: row.name,
  id: row.id,
});
