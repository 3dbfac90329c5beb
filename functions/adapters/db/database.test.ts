import { isAbortedTransactionError, type Kysely, sql } from "kysely";
import { Migrator, NO_MIGRATIONS } from "kysely/migration";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type DatabaseSuite,
  describeEachDatabase,
  openTestDatabase,
  type TestDatabaseKind,
  testDatabases,
} from "../../../test/support/databases.ts";
import type { DatabaseHandle } from "./database.ts";
import { migrateToLatest } from "./migrate.ts";
import { migrations } from "./migrations/index.ts";
import type { Database, Json } from "./schema.ts";
import { UnsafeIntegerError } from "./type-parsers.ts";

// The same queries on every path (PGlite, Postgres when DATABASE_URL is set, the RDS Data API):
// each test asserts concrete values, so passing on all paths means the paths agree.

const TWO_POW_53 = 2 ** 53;

// An odd local zone (UTC+12:45/+13:45): a driver that reads or writes local time instead of UTC
// shows up as a wrong instant. Node applies a TZ change at once; each test file has its own process.
process.env.TZ = "Pacific/Chatham";

/** Type probes live in temporary tables; only a transaction pins one session on every path. */
async function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(fn);
}

async function settingKeys(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom("settings").select("key").orderBy("key").execute();
  return rows.map((r) => r.key);
}

describeEachDatabase("database", (suite: DatabaseSuite) => {
  const db = () => suite.handle.db;

  beforeEach(async () => {
    await db().deleteFrom("settings").execute();
  });

  describe("migrations", () => {
    it("apply from an empty database, and a second run is a no-op", async () => {
      // Prepare: take the suite's database back to before the first migration.
      const migrator = new Migrator({ db: db(), provider: { getMigrations: async () => migrations } });
      const down = await migrator.migrateTo(NO_MIGRATIONS);
      expect(down.error).toBeUndefined();
      const gone = await sql<{ t: string | null }>`select to_regclass('settings')::text as t`.execute(db());
      expect(gone.rows).toEqual([{ t: null }]);

      // Act
      const first = await migrateToLatest(db());
      const second = await migrateToLatest(db());

      // Assess
      expect(first.map((r) => [r.migrationName, r.direction, r.status])).toEqual(
        Object.keys(migrations).map((name) => [name, "Up", "Success"]),
      );
      expect(second).toEqual([]);
      const back = await sql<{ t: string | null }>`select to_regclass('settings')::text as t`.execute(db());
      expect(back.rows).toEqual([{ t: "settings" }]);
    });

    it("answers ping with a round-trip time", async () => {
      const ms = await suite.handle.ping();
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(5_000);
    });
  });

  describe("jsonb", () => {
    const documents: Record<string, Json> = {
      nested: {
        alert: { labels: { severity: "critical", team: { name: "db", tier: 1 } }, tags: ["a", "b"] },
      },
      unicode: { summary: "Grüße — 日本語 — 🚨", ключ: "значение", quote: `it's "quoted" \\ back` },
      arrays: { list: [1, "two", true, null, { three: 3 }, [4, [5]]], empty: [] },
      numbers: { int: 42, negative: -7, fraction: 3.25, safe: Number.MAX_SAFE_INTEGER, tiny: 1e-7 },
      nulls: { missing: null },
      empty: {},
    };

    it("round-trips objects inserted as parameters", async () => {
      // Act
      await db()
        .insertInto("settings")
        .values(Object.entries(documents).map(([key, value]) => ({ key, value })))
        .execute();
      const rows = await db().selectFrom("settings").select(["key", "value"]).execute();

      // Assess
      expect(Object.fromEntries(rows.map((r) => [r.key, r.value]))).toEqual(documents);
    });

    it("round-trips top-level arrays, strings, numbers and JSON null through a jsonb cast", async () => {
      const values: Json[] = [[1, { a: [] }], "text with 'quotes'", 12.5, null, true];
      for (const [i, value] of values.entries()) {
        await db()
          .insertInto("settings")
          .values({ key: `v${i}`, value: sql<Json>`cast(${JSON.stringify(value)} as jsonb)` })
          .execute();
      }
      const rows = await db().selectFrom("settings").select(["key", "value"]).orderBy("key").execute();
      expect(rows.map((r) => r.value)).toEqual(values);
    });

    it("batch-inserts with one JSON parameter through jsonb_to_recordset", async () => {
      // Prepare
      const batch = Object.entries(documents).map(([key, value]) => ({ key: `batch-${key}`, value }));

      // Act
      const result = await sql`
        insert into settings (key, value)
        select r.key, r.value from jsonb_to_recordset(cast(${JSON.stringify(batch)} as jsonb)) as r(key text, value jsonb)
      `.execute(db());

      // Assess
      expect(result.numAffectedRows).toBe(BigInt(batch.length));
      const rows = await db().selectFrom("settings").select(["key", "value"]).orderBy("key").execute();
      expect(rows).toEqual([...batch].sort((a, b) => a.key.localeCompare(b.key)));
    });

    it("queries inside documents with jsonb operators and a JSON parameter", async () => {
      await db().insertInto("settings").values({ key: "k", value: documents.nested! }).execute();
      const found = await db()
        .selectFrom("settings")
        .select(sql<string>`value #>> '{alert,labels,team,name}'`.as("team"))
        .where(sql<boolean>`value @> cast(${JSON.stringify({ alert: { tags: ["b"] } })} as jsonb)`)
        .execute();
      expect(found).toEqual([{ team: "db" }]);
    });
  });

  describe("timestamptz", () => {
    it("round-trips a Date to the millisecond and compares equal in SQL", async () => {
      const at = new Date("2026-11-27T12:34:56.789Z");
      const rows = await inTransaction(db(), async (trx) => {
        await sql`create temporary table probe_ts (id int primary key, at timestamptz not null) on commit drop`.execute(
          trx,
        );
        await sql`insert into probe_ts values (1, ${at}), (2, ${new Date(at.getTime() + 1)})`.execute(trx);
        return (
          await sql<{ id: number; at: Date; same: boolean }>`
            select id, at, at = ${at} as same from probe_ts where at >= ${at} order by id`.execute(trx)
        ).rows;
      });
      expect(rows).toEqual([
        { id: 1, at, same: true },
        { id: 2, at: new Date("2026-11-27T12:34:56.790Z"), same: false },
      ]);
      expect(rows[0]!.at).toBeInstanceOf(Date);
    });

    it("sets updated_at by default and reads it back as a Date near now", async () => {
      await db().insertInto("settings").values({ key: "k", value: {} }).execute();
      const row = await db().selectFrom("settings").select("updated_at").executeTakeFirstOrThrow();
      expect(row.updated_at).toBeInstanceOf(Date);
      expect(Math.abs(row.updated_at.getTime() - Date.now())).toBeLessThan(60_000);
    });

    it("truncates microseconds to the millisecond and keeps the instant across zones", async () => {
      const { rows } = await sql<{ a: Date; b: Date; d: string }>`
        select timestamptz '2026-11-27 12:00:00.123456+00' as a,
               timestamptz '2026-11-27 14:00:00.5+02' as b,
               date '2026-02-28' as d`.execute(db());
      expect(rows).toEqual([
        { a: new Date("2026-11-27T12:00:00.123Z"), b: new Date("2026-11-27T12:00:00.500Z"), d: "2026-02-28" },
      ]);
    });
  });

  describe("integers, numeric, bool, null", () => {
    it("returns int8 from count(*), bigserial and a value near 2^53 as identical numbers", async () => {
      const rows = await inTransaction(db(), async (trx) => {
        await sql`create temporary table probe_int (id bigserial primary key, n int8, small int2, mid int4) on commit drop`.execute(
          trx,
        );
        await sql`insert into probe_int (n, small, mid) values (${TWO_POW_53 - 1}, ${-32768}, ${2147483647}), (${-(TWO_POW_53 - 1)}, ${0}, ${-1})`.execute(
          trx,
        );
        const all = await sql<{ id: number; n: number; small: number; mid: number }>`
          select id, n, small, mid from probe_int order by id`.execute(trx);
        const count = await sql<{ count: number }>`select count(*) as count from probe_int`.execute(trx);
        return { all: all.rows, count: count.rows };
      });
      expect(rows.all).toEqual([
        { id: 1, n: TWO_POW_53 - 1, small: -32768, mid: 2147483647 },
        { id: 2, n: -(TWO_POW_53 - 1), small: 0, mid: -1 },
      ]);
      expect(rows.count).toEqual([{ count: 2 }]);
      expect(typeof rows.count[0]!.count).toBe("number");
    });

    it("refuses an int8 above 2^53 instead of rounding it", async () => {
      const read = sql`select 9007199254740993::int8 as n`.execute(db());
      await expect(read).rejects.toThrow(UnsafeIntegerError);
      await expect(sql`select -9007199254740993::int8 as n`.execute(db())).rejects.toThrow(
        /exceeds Number.MAX_SAFE_INTEGER/,
      );
    });

    it("returns numeric as an exact string, bool as boolean, and nulls as null", async () => {
      const { rows } = await sql`
        select 12345678901234567890.123456789::numeric as big, 0.10::numeric(4,2) as scaled,
               ${true}::bool as yes, not ${true}::bool as no, 1.5::float8 as f8,
               null::text as t, null::int8 as i, null::jsonb as j, null::timestamptz as ts, null::bool as b`.execute(
        db(),
      );
      expect(rows).toEqual([
        {
          big: "12345678901234567890.123456789",
          scaled: "0.10",
          yes: true,
          no: false,
          f8: 1.5,
          t: null,
          i: null,
          j: null,
          ts: null,
          b: null,
        },
      ]);
    });

    it("binds null, booleans and numbers as parameters in where clauses", async () => {
      const { rows } = await sql<{ a: boolean; b: boolean; c: boolean; d: number }>`
        select ${null}::text is null as a, ${false}::bool = false as b, ${2.5}::float8 > 2 as c,
               ${7}::int4 + 1 as d`.execute(db());
      expect(rows).toEqual([{ a: true, b: true, c: true, d: 8 }]);
    });

    it("returns bytea as a Buffer and arrays as JS arrays", async () => {
      const { rows } = await sql`
        select ${Buffer.from([0, 1, 254, 255])}::bytea as bytes,
               array['a', 'b "c"', null]::text[] as texts,
               array[1, 2, null]::int4[] as ints,
               array[true, false]::bool[] as bools`.execute(db());
      expect(rows).toEqual([
        {
          bytes: Buffer.from([0, 1, 254, 255]),
          texts: ["a", 'b "c"', null],
          ints: [1, 2, null],
          bools: [true, false],
        },
      ]);
      expect(Buffer.isBuffer((rows[0] as { bytes: unknown }).bytes)).toBe(true);
    });
  });

  describe("text", () => {
    it("keeps quotes, $1 and :name inside literals, comments and dollar quotes", async () => {
      const { rows } = await sql<Record<string, string>>`
        select 'it''s $1 and :p1 -- not a comment' as a, /* $2 :x */ ${"param"}::text as "b $1",
               $$ $1 ' " $$ as c, $tag$ :p2 $1 $tag$ as d, E'\\'$1' as e, 'x'::text || ${"y"}::text as f -- $3
      `.execute(db());
      expect(rows).toEqual([
        {
          a: "it's $1 and :p1 -- not a comment",
          "b $1": "param",
          c: " $1 ' \" ",
          d: " :p2 $1 ",
          e: "'$1",
          f: "xy",
        },
      ]);
    });

    it("round-trips text parameters with quotes, placeholders and unicode", async () => {
      const texts = [
        "it's",
        'say "hi"',
        "$1 and :p1 and ::text",
        "back\\slash",
        "tab\tnewline\n",
        "🚨 日本",
        "",
      ];
      // Act: one JSON parameter (the Data API has no array parameters), and one text parameter each.
      const { rows } = await sql<{ t: string; n: number }>`
        select t, n from jsonb_array_elements_text(cast(${JSON.stringify(texts)} as jsonb)) with ordinality as u(t, n)
        order by n`.execute(db());
      const single = await Promise.all(
        texts.map((t) => sql<{ t: string }>`select ${t}::text as t`.execute(db())),
      );

      // Assess
      expect(single.map((r) => r.rows[0]!.t)).toEqual(texts);
      expect(rows.map((r) => r.t)).toEqual(texts);
    });
  });

  describe("transactions", () => {
    it("commit makes every write visible", async () => {
      await db()
        .transaction()
        .execute(async (trx) => {
          await trx
            .insertInto("settings")
            .values({ key: "a", value: { n: 1 } })
            .execute();
          await trx
            .insertInto("settings")
            .values({ key: "b", value: { n: 2 } })
            .execute();
        });
      expect(await settingKeys(db())).toEqual(["a", "b"]);
    });

    it("an error thrown in the callback rolls every write back", async () => {
      const run = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "a", value: {} }).execute();
          throw new Error("changed my mind");
        });
      await expect(run).rejects.toThrow("changed my mind");
      expect(await settingKeys(db())).toEqual([]);
    });

    it("a failed statement rolls back the earlier writes and surfaces the SQLSTATE", async () => {
      const run = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "a", value: {} }).execute();
          await trx.insertInto("settings").values({ key: "b", value: {} }).execute();
          await trx.insertInto("settings").values({ key: "a", value: {} }).execute();
        });
      const err = (await run.then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code?: string };
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe("23505");
      expect(err.message).toContain('duplicate key value violates unique constraint "settings_pkey"');
      expect(await settingKeys(db())).toEqual([]);
    });

    it("refuses to commit after a failed statement was caught", async () => {
      const run = db()
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "a", value: {} }).execute();
          await sql`select 1/0`.execute(trx).catch(() => {});
        });
      const err = await run.catch((e: unknown) => e);
      expect(isAbortedTransactionError(err)).toBe(true);
      expect(await settingKeys(db())).toEqual([]);
    });

    it("a rollback to a savepoint recovers from a failed statement", async () => {
      const trx = await db().startTransaction().execute();
      await trx.insertInto("settings").values({ key: "kept", value: {} }).execute();
      const sp = await trx.savepoint("before_dup").execute();
      await expect(sp.insertInto("settings").values({ key: "kept", value: {} }).execute()).rejects.toThrow(
        /duplicate/,
      );
      const back = await sp.rollbackToSavepoint("before_dup").execute();
      await back.insertInto("settings").values({ key: "also", value: {} }).execute();
      await back.commit().execute();
      expect(await settingKeys(db())).toEqual(["also", "kept"]);
    });

    it("applies the requested isolation level and access mode", async () => {
      const level = await db()
        .transaction()
        .setIsolationLevel("serializable")
        .setAccessMode("read only")
        .execute(async (trx) => {
          const { rows } = await sql<{ iso: string; ro: string }>`
            select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro`.execute(
            trx,
          );
          return rows[0];
        });
      expect(level).toEqual({ iso: "serializable", ro: "on" });
    });
  });

  describe("numAffectedRows", () => {
    beforeEach(async () => {
      await db()
        .insertInto("settings")
        .values(["a", "b", "c", "d"].map((key) => ({ key, value: { key } })))
        .execute();
    });

    it("counts updated and deleted rows, with and without returning", async () => {
      const updated = await db()
        .updateTable("settings")
        .set({ value: { touched: true } })
        .where("key", "in", ["a", "b", "c"])
        .executeTakeFirst();
      const updatedReturning = await db()
        .updateTable("settings")
        .set({ value: { touched: 2 } })
        .where("key", "in", ["a", "b"])
        .returning("key")
        .execute();
      const deleted = await db()
        .deleteFrom("settings")
        .where("key", "in", ["c", "d", "zz"])
        .executeTakeFirst();
      const none = await db().deleteFrom("settings").where("key", "=", "nope").executeTakeFirst();

      expect(updated.numUpdatedRows).toBe(3n);
      expect(updatedReturning.map((r) => r.key).sort()).toEqual(["a", "b"]);
      expect(deleted.numDeletedRows).toBe(2n);
      expect(none.numDeletedRows).toBe(0n);
    });

    it("reports counts for raw statements as Kysely's pg driver does", async () => {
      const update = await sql`update settings set value = '{}' where key <> 'a'`.execute(db());
      const cte =
        await sql`with gone as (delete from settings where key = 'b' returning key) select count(*) as n from gone`.execute(
          db(),
        );
      const cteDml =
        await sql`with k as (select 'c' as key) delete from settings using k where settings.key = k.key`.execute(
          db(),
        );
      const insertReturning =
        await sql`insert into settings (key, value) values ('x', '{}'), ('y', '{}') returning key`.execute(
          db(),
        );
      const select = await sql`select key from settings`.execute(db());

      expect(update.numAffectedRows).toBe(3n);
      expect(cte.numAffectedRows).toBeUndefined();
      expect(cte.rows).toEqual([{ n: 1 }]);
      expect(cteDml.numAffectedRows).toBe(1n);
      expect(insertReturning.numAffectedRows).toBe(2n);
      expect(insertReturning.rows).toEqual([{ key: "x" }, { key: "y" }]);
      expect(select.numAffectedRows).toBeUndefined();
    });

    it("reports the insert count of a multi-row insert", async () => {
      const result = await db()
        .insertInto("settings")
        .values([
          { key: "e", value: {} },
          { key: "f", value: {} },
        ])
        .executeTakeFirst();
      expect(result.numInsertedOrUpdatedRows).toBe(2n);
    });
  });
});

// One probe, run on every path, compared value by value and type by type (Buffer vs Uint8Array,
// Date vs string, number vs string): the strongest form of "the paths return the same thing".
describe("every path returns identical values", () => {
  const kinds: TestDatabaseKind[] = testDatabases();
  const handles = new Map<TestDatabaseKind, DatabaseHandle>();

  beforeAll(async () => {
    for (const kind of kinds) handles.set(kind, await openTestDatabase(kind));
  });
  afterAll(async () => {
    for (const handle of handles.values()) await handle.close();
  });

  const probe = (db: Kysely<Database>) =>
    sql`
      select 1::int2 as i2, 2::int4 as i4, ${TWO_POW_53 - 1}::int8 as i8, count(*) over () as cnt,
             1.25::float4 as f4, 2.5::float8 as f8, 10.50::numeric as num, true as bool,
             'text'::text as txt, 'v'::varchar(3) as vc, 'c'::char(2) as ch,
             '6f1c0b1e-3d0a-4b8e-9a53-2a2b8a6c5d10'::uuid as id,
             '{"a":[1,{"b":null}],"é":"ü"}'::jsonb as jb, '{"x": 1}'::json as js,
             timestamptz '2026-11-27 12:00:00.123456+00' as tstz, date '2026-11-27' as d,
             ${new Date("2001-02-03T04:05:06.007Z")} = timestamptz '2001-02-03 04:05:06.007+00' as date_param,
             '\\x00ff'::bytea as bytes, null::text as nothing,
             array['x', null]::text[] as texts, array[1, 2]::int4[] as ints, array[3]::int8[] as longs,
             array[true]::bool[] as bools, array['{"k":1}']::jsonb[] as jsons, array[0.5]::float8[] as floats,
             array[timestamptz '2026-01-01 00:00:00+00'] as stamps`.execute(db);

  it("as the PGlite path does", async () => {
    const results = new Map<TestDatabaseKind, unknown>();
    for (const [kind, handle] of handles) results.set(kind, (await probe(handle.db)).rows);
    const reference = results.get("pglite");
    expect(reference).toEqual([
      expect.objectContaining({
        i8: TWO_POW_53 - 1,
        tstz: new Date("2026-11-27T12:00:00.123Z"),
        d: "2026-11-27",
      }),
    ]);
    for (const [kind, rows] of results) {
      expect({ kind, rows }).toStrictEqual({ kind, rows: reference });
    }
  });
});
