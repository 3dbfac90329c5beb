import { sql } from "kysely";
import { expect, it } from "vitest";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { prepared } from "./prepared-statements.ts";

describeEachDatabase("prepared statements", (suite) => {
  // Inside a transaction every statement uses one connection, so its prepared statements are visible.
  it("runs a marked statement as a named prepared statement, once parsed per connection", async () => {
    await suite.handle.db.transaction().execute(async (trx) => {
      const results: number[] = [];
      for (const n of [1, 2, 3]) {
        const { rows } = await sql<{ doubled: number }>`${prepared} select ${n}::int * 2 as doubled`.execute(
          trx,
        );
        results.push(rows[0]!.doubled);
      }
      expect(results).toEqual([2, 4, 6]);
      const { rows } = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements where statement like '%doubled%'`.execute(trx);
      if (suite.kind === "data-api") {
        // The Data API has no prepared statements: the marker is just a comment there.
        expect(rows).toEqual([]);
      } else {
        expect(rows).toHaveLength(1);
        expect(rows[0]!.name).toMatch(/^oncall_[0-9a-f]{24}$/);
      }
    });
  });

  it("leaves unmarked statements unnamed", async () => {
    await suite.handle.db.transaction().execute(async (trx) => {
      await sql`select 'unmarked-probe' as probe`.execute(trx);
      const { rows } = await sql`
        select name from pg_prepared_statements where statement like '%unmarked-probe%'`.execute(trx);
      expect(rows).toEqual([]);
    });
  });

  it("gives each variant of a statement its own name", async () => {
    await suite.handle.db.transaction().execute(async (trx) => {
      await sql`${prepared} select 1 as variant_probe_a`.execute(trx);
      await sql`${prepared} select 1 as variant_probe_b`.execute(trx);
      const { rows } = await sql<{ name: string }>`
        select name from pg_prepared_statements where statement like '%variant_probe_%'`.execute(trx);
      expect(new Set(rows.map((r) => r.name)).size).toBe(suite.kind === "data-api" ? 0 : 2);
    });
  });
});
