import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  ExecuteStatementCommand,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
  TransactionNotFoundException,
} from "@aws-sdk/client-rds-data";
import type { PGlite } from "@electric-sql/pglite";
import { mockClient } from "aws-sdk-client-mock";
import { isAbortedTransactionError, Kysely, sql } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDataApiEmulator, type DataApiEmulator } from "../../../test/support/data-api-emulator.ts";
import { clonePgliteTemplate } from "../../../test/support/databases.ts";
import {
  createDataApiDialect,
  DataApiParameterError,
  DataApiStatementError,
  decodeField,
  decodeRecords,
  statementCommand,
  toDataApiSql,
  toSqlParameter,
  toStatementError,
} from "./data-api-dialect.ts";
import { isDatabaseUnavailable } from "./errors.ts";
import type { Database } from "./schema.ts";
import { UnsafeIntegerError } from "./type-parsers.ts";

describe("toDataApiSql", () => {
  it.each([
    [
      "plain placeholders",
      "select * from t where a = $1 and b = $2",
      "select * from t where a = :p1 and b = :p2",
    ],
    ["two-digit placeholders", "values ($9, $10, $11)", "values (:p9, :p10, :p11)"],
    ["casts stay", "select $1::jsonb, $2::int8[], x::text", "select :p1::jsonb, :p2::int8[], x::text"],
    ["single-quoted string", "select 'a $1 b', $1", "select 'a $1 b', :p1"],
    ["doubled quote inside a string", "select 'it''s $1', $2", "select 'it''s $1', :p2"],
    ["E-string with backslash quote", "select E'\\'$1', $2", "select E'\\'$1', :p2"],
    ["standard string ending in a backslash", "select 'C:\\', $1", "select 'C:\\', :p1"],
    ["quoted identifier", 'select 1 as "col $1", $1', 'select 1 as "col $1", :p1'],
    ["quoted identifier with doubled quote", 'select 1 as "a""$1", $1', 'select 1 as "a""$1", :p1'],
    ["dollar-quoted body", "select $$ $1 ' $$, $1", "select $$ $1 ' $$, :p1"],
    ["tagged dollar quote", "select $fn$ $1 $$ $2 $fn$, $1", "select $fn$ $1 $$ $2 $fn$, :p1"],
    ["line comment", "select $1 -- and $2\n, $3", "select :p1 -- and $2\n, :p3"],
    ["block comment", "select /* $1 */ $2", "select /* $1 */ :p2"],
    ["nested block comment", "select /* a /* $1 */ $2 */ $3", "select /* a /* $1 */ $2 */ :p3"],
    ["dollar inside an identifier", "select a$1, $1 from t$2", "select a$1, :p1 from t$2"],
    ["no placeholders", "select 1", "select 1"],
    ["unterminated string is left alone", "select 'abc $1", "select 'abc $1"],
    ["placeholder at the very end", "limit $1", "limit :p1"],
    ["placeholder touching operators", "a=$1,b>=$2)", "a=:p1,b>=:p2)"],
  ])("%s", (_name, input, expected) => {
    expect(toDataApiSql(input)).toBe(expected);
  });
});

describe("statementCommand", () => {
  it.each([
    ["select 1", "select"],
    ["  UPDATE t set a = 1", "update"],
    ["-- comment\ninsert into t values (1)", "insert"],
    ["/* update */ delete from t", "delete"],
    ["with x as (select 1) update t set a = 1 from x", "update"],
    ["with recursive x as (select 1 union all select 1 from x) select * from x", "select"],
    ["with gone as (delete from t returning *) select count(*) from gone", "select"],
    ['with "update" as (select 1) insert into t select * from "update"', "insert"],
    ["merge into t using s on t.id = s.id when matched then do nothing", "merge"],
    ["create table t (a int)", "create"],
    ["set transaction isolation level serializable", "set"],
    ["table settings", "table"],
    ["  ", undefined],
  ])("%j → %s", (input, expected) => {
    expect(statementCommand(input)).toBe(expected);
  });
});

describe("toSqlParameter", () => {
  const bytes = new Uint8Array([0, 255]);
  it.each<[string, unknown, SqlParameter]>([
    ["null", null, { name: "p1", value: { isNull: true } }],
    ["undefined", undefined, { name: "p1", value: { isNull: true } }],
    ["true", true, { name: "p1", value: { booleanValue: true } }],
    ["false", false, { name: "p1", value: { booleanValue: false } }],
    ["integer", 42, { name: "p1", value: { longValue: 42 } }],
    ["negative integer", -7, { name: "p1", value: { longValue: -7 } }],
    ["largest safe integer", 2 ** 53 - 1, { name: "p1", value: { longValue: 2 ** 53 - 1 } }],
    ["fraction", 2.5, { name: "p1", value: { doubleValue: 2.5 } }],
    ["integer beyond 2^53 stays a double", 1e20, { name: "p1", value: { doubleValue: 1e20 } }],
    ["bigint", 123n, { name: "p1", value: { longValue: 123 } }],
    ["string", "it's $1", { name: "p1", value: { stringValue: "it's $1" } }],
    ["empty string", "", { name: "p1", value: { stringValue: "" } }],
    [
      "Date in UTC with milliseconds",
      new Date("2026-11-27T12:00:00.123Z"),
      { name: "p1", value: { stringValue: "2026-11-27 12:00:00.123" }, typeHint: "TIMESTAMP" },
    ],
    ["Uint8Array", bytes, { name: "p1", value: { blobValue: bytes } }],
    ["Buffer", Buffer.from([1]), { name: "p1", value: { blobValue: Buffer.from([1]) } }],
    [
      "plain object as JSON",
      { a: [1, "ü"], b: null },
      { name: "p1", value: { stringValue: '{"a":[1,"ü"],"b":null}' }, typeHint: "JSON" },
    ],
    ["empty object", {}, { name: "p1", value: { stringValue: "{}" }, typeHint: "JSON" }],
    [
      "null-prototype object",
      Object.assign(Object.create(null), { k: 1 }),
      { name: "p1", value: { stringValue: '{"k":1}' }, typeHint: "JSON" },
    ],
  ])("%s", (_name, value, expected) => {
    expect(toSqlParameter("p1", value)).toEqual(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ["an array", [1, 2], /no array parameters.*jsonb_to_recordset/],
    ["a bigint above 2^53", 2n ** 53n, /exceeds Number.MAX_SAFE_INTEGER/],
    ["a bigint below -2^53", -(2n ** 53n), /exceeds Number.MAX_SAFE_INTEGER/],
    ["NaN", Number.NaN, /cannot be sent/],
    ["Infinity", Number.POSITIVE_INFINITY, /cannot be sent/],
    ["an invalid Date", new Date("nope"), /invalid Date/],
    ["a class instance", new Map([["a", 1]]), /only plain objects.*Map/],
    ["a function", () => 1, /function cannot be sent/],
  ])("refuses %s", (_name, value, message) => {
    expect(() => toSqlParameter("p1", value)).toThrow(DataApiParameterError);
    expect(() => toSqlParameter("p1", value)).toThrow(message);
  });
});

describe("decodeField", () => {
  it.each<[string, Field, string, unknown]>([
    ["null", { isNull: true }, "int8", null],
    ["int2", { longValue: -5 }, "int2", -5],
    ["int4", { longValue: 2147483647 }, "int4", 2147483647],
    ["int8", { longValue: 2 ** 53 - 1 }, "int8", 2 ** 53 - 1],
    ["serial", { longValue: 3 }, "serial", 3],
    ["bigserial", { longValue: 4 }, "bigserial", 4],
    ["int8 as text (longReturnType STRING)", { stringValue: "9007199254740991" }, "int8", 2 ** 53 - 1],
    ["float8", { doubleValue: 1.5 }, "float8", 1.5],
    ["float4", { doubleValue: 0.25 }, "float4", 0.25],
    ["numeric as text", { stringValue: "10.50" }, "numeric", "10.50"],
    ["numeric as double (DOUBLE_OR_LONG)", { doubleValue: 1.5 }, "numeric", "1.5"],
    ["bool", { booleanValue: false }, "bool", false],
    ["jsonb", { stringValue: '{"a": [1, null], "é": "ü"}' }, "jsonb", { a: [1, null], é: "ü" }],
    ["json", { stringValue: "[1, 2]" }, "json", [1, 2]],
    ["jsonb string", { stringValue: '"x"' }, "jsonb", "x"],
    [
      "timestamptz with microseconds (UTC, no offset)",
      { stringValue: "2026-11-27 12:00:00.123456" },
      "timestamptz",
      new Date("2026-11-27T12:00:00.123Z"),
    ],
    [
      "timestamptz without fraction",
      { stringValue: "2026-11-27 12:00:00" },
      "timestamptz",
      new Date("2026-11-27T12:00:00Z"),
    ],
    ["date", { stringValue: "2026-02-28" }, "date", "2026-02-28"],
    ["text", { stringValue: "it's" }, "text", "it's"],
    ["varchar", { stringValue: "v" }, "varchar", "v"],
    [
      "uuid",
      { stringValue: "6f1c0b1e-3d0a-4b8e-9a53-2a2b8a6c5d10" },
      "uuid",
      "6f1c0b1e-3d0a-4b8e-9a53-2a2b8a6c5d10",
    ],
    ["unknown type stays text", { stringValue: "(1,2)" }, "point_like", "(1,2)"],
    ["bytea", { blobValue: new Uint8Array([0, 255]) }, "bytea", Buffer.from([0, 255])],
    ["text[]", { arrayValue: { stringValues: ["a", 'b "c"', "d\\e"] } }, "_text", ["a", 'b "c"', "d\\e"]],
    [
      "text[] with null",
      { arrayValue: { stringValues: ["a", null as unknown as string] } },
      "_text",
      ["a", null],
    ],
    ["int4[]", { arrayValue: { longValues: [1, 2] } }, "_int4", [1, 2]],
    // int8[] elements are numbers, like int8 (type-parsers.ts), on every path.
    ["int8[] as numbers, like int8", { arrayValue: { longValues: [1, 2] } }, "_int8", [1, 2]],
    ["bool[]", { arrayValue: { booleanValues: [true, false] } }, "_bool", [true, false]],
    ["float8[]", { arrayValue: { doubleValues: [0.5] } }, "_float8", [0.5]],
    ["jsonb[]", { arrayValue: { stringValues: ['{"k": 1}'] } }, "_jsonb", [{ k: 1 }]],
    [
      "timestamptz[]",
      { arrayValue: { stringValues: ["2026-01-01 00:00:00"] } },
      "_timestamptz",
      [new Date("2026-01-01T00:00:00Z")],
    ],
    [
      "two-dimensional int4[]",
      { arrayValue: { arrayValues: [{ longValues: [1, 2] }, { longValues: [3, 4] }] } },
      "_int4",
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ])("%s", (_name, field, typeName, expected) => {
    const value = decodeField(field, typeName);
    expect(value).toStrictEqual(expected);
  });

  it("refuses an int8 that a JS number cannot hold", () => {
    // 2^53 + 1 arrives from the SDK's JSON parsing already rounded to 2^53: still unsafe.
    expect(() => decodeField({ longValue: 2 ** 53 }, "int8")).toThrow(UnsafeIntegerError);
    expect(() => decodeField({ stringValue: "9007199254740993" }, "int8")).toThrow(
      /9007199254740993 exceeds/,
    );
  });

  it("builds rows keyed by column label, like node-postgres", () => {
    const rows = decodeRecords(
      [
        [{ longValue: 1 }, { stringValue: "a" }],
        [{ longValue: 2 }, { isNull: true }],
      ],
      [
        { name: "id", label: "id", typeName: "int8" },
        { name: "key", label: "k", typeName: "text" },
      ],
    );
    expect(rows).toEqual([
      { id: 1, k: "a" },
      { id: 2, k: null },
    ]);
  });
});

describe("toStatementError", () => {
  it("lifts the SQLSTATE, message and detail out of a Data API error", () => {
    const service = new DatabaseErrorException({
      message:
        'ERROR: duplicate key value violates unique constraint "settings_pkey"\n  Detail: Key (key)=(a) already exists.; SQLState: 23505',
      $metadata: {},
    });
    const err = toStatementError(service) as DataApiStatementError;
    expect(err).toBeInstanceOf(DataApiStatementError);
    expect(err.code).toBe("23505");
    expect(err.message).toBe('duplicate key value violates unique constraint "settings_pkey"');
    expect(err.detail).toBe("Key (key)=(a) already exists.");
    expect(err.cause).toBe(service);
  });

  it("keeps connection-class SQLSTATEs recognisable as 'unavailable'", () => {
    const err = toStatementError(
      new DatabaseErrorException({
        message: "ERROR: terminating connection; SQLState: 57P01",
        $metadata: {},
      }),
    );
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it("passes other errors through unchanged", () => {
    const timeout = new Error("boom");
    timeout.name = "StatementTimeoutException";
    expect(toStatementError(timeout)).toBe(timeout);
    const noState = new DatabaseErrorException({ message: "something else", $metadata: {} });
    expect(toStatementError(noState)).toBe(noState);
  });
});

describe("the driver on the wire", () => {
  const config = {
    resourceArn: "arn:aws:rds:eu-west-1:1:cluster:c",
    secretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:s",
    database: "oncall",
  };
  const client = new RDSDataClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
  });
  const mock = mockClient(client);
  const db = new Kysely<Database>({ dialect: createDataApiDialect({ client, ...config }) });

  beforeEach(() => {
    mock.reset();
    mock.on(BeginTransactionCommand).resolves({ transactionId: "tx-1" });
    mock.on(CommitTransactionCommand).resolves({ transactionStatus: "Transaction Committed" });
    mock.on(RollbackTransactionCommand).resolves({ transactionStatus: "Rollback Complete" });
    mock.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 1 });
  });
  afterAll(async () => {
    await db.destroy();
    mock.restore();
  });

  const executed = () => mock.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);

  it("sends named parameters, the target and includeResultMetadata", async () => {
    await db
      .updateTable("settings")
      .set({ value: { a: 1 } })
      .where("key", "=", "k")
      .execute();
    expect(executed()).toEqual([
      {
        ...config,
        sql: 'update "settings" set "value" = :p1 where "key" = :p2',
        parameters: [
          { name: "p1", value: { stringValue: '{"a":1}' }, typeHint: "JSON" },
          { name: "p2", value: { stringValue: "k" } },
        ],
        includeResultMetadata: true,
      },
    ]);
  });

  it("runs a transaction on one transactionId and commits it", async () => {
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("settings").execute();
      await sql`select 1`.execute(trx);
    });
    await sql`select 2`.execute(db);

    expect(mock.commandCalls(BeginTransactionCommand).map((c) => c.args[0].input)).toEqual([config]);
    expect(executed().map((i) => [i.sql, i.transactionId])).toEqual([
      ['delete from "settings"', "tx-1"],
      ["select 1", "tx-1"],
      ["select 2", undefined],
    ]);
    expect(mock.commandCalls(CommitTransactionCommand).map((c) => c.args[0].input)).toEqual([
      { resourceArn: config.resourceArn, secretArn: config.secretArn, transactionId: "tx-1" },
    ]);
    expect(mock.commandCalls(RollbackTransactionCommand)).toHaveLength(0);
  });

  it("sets the isolation level as the transaction's first statement", async () => {
    await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (trx) => {
        await sql`select 1`.execute(trx);
      });
    expect(executed().map((i) => i.sql)).toEqual([
      "set transaction isolation level repeatable read",
      "select 1",
    ]);
  });

  it("rolls back when the callback throws", async () => {
    await expect(
      db.transaction().execute(async () => {
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(mock.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
    expect(mock.commandCalls(CommitTransactionCommand)).toHaveLength(0);
  });

  it("rolls back instead of committing after a failed statement, like Postgres", async () => {
    mock
      .on(ExecuteStatementCommand, { sql: "select 1/0" })
      .rejects(
        new DatabaseErrorException({ message: "ERROR: division by zero; SQLState: 22012", $metadata: {} }),
      );
    const err = await db
      .transaction()
      .execute(async (trx) => {
        await sql`select 1/0`.execute(trx).catch((e: unknown) => {
          expect((e as DataApiStatementError).code).toBe("22012");
        });
      })
      .catch((e: unknown) => e);
    expect(isAbortedTransactionError(err)).toBe(true);
    expect(mock.commandCalls(CommitTransactionCommand)).toHaveLength(0);
    expect(mock.commandCalls(RollbackTransactionCommand)).toHaveLength(1);
  });

  it("counts rows for DML only, taking RETURNING rows when the service reports 0", async () => {
    mock.on(ExecuteStatementCommand).resolves({
      numberOfRecordsUpdated: 0,
      records: [[{ stringValue: "a" }], [{ stringValue: "b" }]],
      columnMetadata: [{ name: "key", label: "key", typeName: "text" }],
    });
    const returning = await db.deleteFrom("settings").returning("key").execute();
    const raw = await sql`select key from settings`.execute(db);
    expect(returning).toEqual([{ key: "a" }, { key: "b" }]);
    expect(raw.numAffectedRows).toBeUndefined();
    mock.on(ExecuteStatementCommand).resolves({ numberOfRecordsUpdated: 5 });
    const update = await db.updateTable("settings").set({ value: {} }).executeTakeFirst();
    expect(update.numUpdatedRows).toBe(5n);
  });

  it("refuses streaming with a clear error", async () => {
    const stream = db.selectFrom("settings").selectAll().stream();
    await expect(stream.next()).rejects.toThrow(/streamQuery is not supported over the RDS Data API/);
  });

  it("refuses an array parameter before calling the service", async () => {
    await expect(sql`select ${["a", "b"]}::text[]`.execute(db)).rejects.toThrow(/no array parameters/);
    expect(executed()).toHaveLength(0);
  });
});

// The emulator is what the three-path suites trust for the Data API; pin the habits of the real
// service that make SQL behave differently from node-postgres.
describe("data-api emulator", () => {
  let pg: PGlite;
  let emulator: DataApiEmulator;
  let db: Kysely<Database>;

  beforeAll(async () => {
    pg = await clonePgliteTemplate();
  });
  beforeEach(async () => {
    emulator = await createDataApiEmulator(pg, { waitTimeoutMs: 300 });
    db = new Kysely<Database>({ dialect: createDataApiDialect(emulator) });
    await db.deleteFrom("settings").execute();
  });
  afterEach(async () => {
    await db.destroy();
    await emulator.close();
  });
  afterAll(async () => {
    await pg.close();
  });

  const execute = (sqlText: string, parameters: SqlParameter[] = [], transactionId?: string) =>
    emulator.client.send(
      new ExecuteStatementCommand({
        resourceArn: emulator.resourceArn,
        secretArn: emulator.secretArn,
        sql: sqlText,
        parameters,
        includeResultMetadata: true,
        ...(transactionId ? { transactionId } : {}),
      }),
    );

  it("returns records and columnMetadata in the service's formats", async () => {
    const out = await execute(
      `select 9007199254740993::int8 as big, 1.5::float8 as f, 2.50::numeric as n, true as b,
              timestamptz '2026-11-27 12:00:00.123456+00' as ts, date '2026-11-27' as d, '{"a":1}'::jsonb as j,
              '\\x00ff'::bytea as bytes, array['a', null]::text[] as texts, array[1,2]::int8[] as longs, null::int4 as nothing`,
    );
    expect(out.numberOfRecordsUpdated).toBe(0);
    expect(out.records).toEqual([
      [
        { longValue: 9007199254740992 },
        { doubleValue: 1.5 },
        { stringValue: "2.50" },
        { booleanValue: true },
        { stringValue: "2026-11-27 12:00:00.123456" },
        { stringValue: "2026-11-27" },
        { stringValue: '{"a": 1}' },
        { blobValue: new Uint8Array([0, 255]) },
        { arrayValue: { stringValues: ["a", null] } },
        { arrayValue: { longValues: [1, 2] } },
        { isNull: true },
      ],
    ]);
    expect(out.columnMetadata?.map((c) => c.typeName)).toEqual([
      "int8",
      "float8",
      "numeric",
      "bool",
      "timestamptz",
      "date",
      "jsonb",
      "bytea",
      "_text",
      "_int8",
      "int4",
    ]);
  });

  it("types parameters as the service does: a string is varchar, so jsonb needs a cast or a JSON hint", async () => {
    const asVarchar = execute("insert into settings (key, value) values ('k', :v)", [
      { name: "v", value: { stringValue: '{"a":1}' } },
    ]);
    await expect(asVarchar).rejects.toThrow(DatabaseErrorException);
    await expect(asVarchar).rejects.toThrow(
      /column "value" is of type jsonb but expression is of type character varying.*SQLState: 42804/s,
    );
    const hinted = await execute("insert into settings (key, value) values ('k', :v)", [
      { name: "v", value: { stringValue: '{"a":1}' }, typeHint: "JSON" },
    ]);
    expect(hinted.numberOfRecordsUpdated).toBe(1);
    const typed = await execute(
      "select pg_typeof(:s)::text as s, pg_typeof(:l)::text as l, pg_typeof(:t)::text as t",
      [
        { name: "s", value: { stringValue: "x" } },
        { name: "l", value: { longValue: 1 } },
        { name: "t", value: { stringValue: "2026-01-01 00:00:00" }, typeHint: "TIMESTAMP" },
      ],
    );
    expect(typed.records).toEqual([
      [
        { stringValue: "character varying" },
        { stringValue: "bigint" },
        { stringValue: "timestamp without time zone" },
      ],
    ]);
  });

  it("needs an explicit cast for jsonb_to_recordset, as the service does", async () => {
    const rows = JSON.stringify([{ key: "a" }]);
    await expect(
      execute("select * from jsonb_to_recordset(:rows) as r(key text)", [
        { name: "rows", value: { stringValue: rows }, typeHint: "JSON" },
      ]),
    ).rejects.toThrow(/function jsonb_to_recordset\(json\) does not exist/);
    const cast = await execute("select * from jsonb_to_recordset(cast(:rows as jsonb)) as r(key text)", [
      { name: "rows", value: { stringValue: rows }, typeHint: "JSON" },
    ]);
    expect(cast.records).toEqual([[{ stringValue: "a" }]]);
  });

  it("reports 0 updated records for DML with RETURNING and the count without it", async () => {
    const inserted = await execute(
      "insert into settings (key, value) values ('a', '{}'), ('b', '{}') returning key",
    );
    const updated = await execute("update settings set value = '[]'");
    expect(inserted.numberOfRecordsUpdated).toBe(0);
    expect(inserted.records).toHaveLength(2);
    expect(updated.numberOfRecordsUpdated).toBe(2);
    expect(updated.records).toBeUndefined();
  });

  it("refuses array parameters and unknown transactions", async () => {
    await expect(
      execute("select :a", [{ name: "a", value: { arrayValue: { longValues: [1] } } }]),
    ).rejects.toThrow(/Array parameters are not supported/);
    await expect(execute("select 1", [], "no-such-transaction")).rejects.toThrow(
      TransactionNotFoundException,
    );
  });

  it("isolates a transaction: other calls wait for its end and then see its writes", async () => {
    // Prepare
    const events: string[] = [];
    const trx = await db.startTransaction().execute();
    await trx.insertInto("settings").values({ key: "t", value: {} }).execute();

    // Act: a read outside the transaction is held back until the commit.
    const outside = db
      .selectFrom("settings")
      .select("key")
      .execute()
      .then((rows) => {
        events.push(`outside read ${rows.map((r) => r.key).join(",")}`);
      });
    await new Promise((resolve) => setTimeout(resolve, 50));
    events.push("commit");
    await trx.commit().execute();
    await outside;

    // Assess
    expect(events).toEqual(["commit", "outside read t"]);
  });

  it("rolls back a transaction's writes", async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto("settings").values({ key: "r", value: {} }).execute();
    await trx.rollback().execute();
    expect(await db.selectFrom("settings").select("key").execute()).toEqual([]);
  });

  it("names the likely mistake when a statement outside a transaction waits too long", async () => {
    await expect(
      db.transaction().execute(async () => {
        await db.selectFrom("settings").selectAll().execute(); // db, not trx
      }),
    ).rejects.toThrow(/waited 300 ms for a transaction to end.*use trx, not db/s);
  });
});
