import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase, type TestDatabaseKind } from "../../../test/support/databases.ts";
import type { DatabaseHandle } from "./database.ts";
import { databaseRoleNames, provisionDatabaseRoles, scramSha256Verifier, tableAccess } from "./roles.ts";

// Roles are global to a PostgreSQL server, so these suites run only where the server is the test's
// own: PGlite, and the Data API path (emulated over PGlite). Never on the machine's shared Postgres.
const credentials = databaseRoleNames.map((role) => ({ role, password: `pw-${role}-0123456789abcdef` }));

describe.each(["pglite", "data-api"] as TestDatabaseKind[])("provisionDatabaseRoles on %s", (kind) => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDatabase(kind);
    await provisionDatabaseRoles(database.db, credentials);
  });
  afterAll(async () => {
    await database?.close();
  });

  const query = async <R>(statement: ReturnType<typeof sql<R>>) =>
    (await statement.execute(database.db)).rows;

  it("creates login roles that hold a SCRAM verifier, no clear password, and no special rights", async () => {
    const rows = await query(sql<{
      rolname: string;
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolcreaterole: boolean;
      rolcreatedb: boolean;
      scram: boolean;
    }>`
      select rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb,
             rolpassword like 'SCRAM-SHA-256$4096:%' as scram
      from pg_authid where rolname like 'oncall\\_%' order by rolname
    `);

    expect(rows).toEqual(
      [...databaseRoleNames].sort().map((rolname) => ({
        rolname,
        rolcanlogin: true,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        scram: true,
      })),
    );
  });

  it("grants each role exactly the table access of its list, on every table", async () => {
    const tables = (
      await query(sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public'`)
    ).map((r) => r.tablename);
    expect(tables).toEqual(expect.arrayContaining(["alerts", "api_keys", "kysely_migration"]));

    for (const role of databaseRoleNames) {
      const rows = await query(sql<{ tablename: string; r: boolean; w: boolean; d: boolean; t: boolean }>`
        select tablename,
               has_table_privilege(${role}, quote_ident(tablename), 'SELECT') as r,
               has_table_privilege(${role}, quote_ident(tablename), 'INSERT,UPDATE') as w,
               has_table_privilege(${role}, quote_ident(tablename), 'DELETE') as d,
               has_table_privilege(${role}, quote_ident(tablename), 'TRUNCATE') as t
        from pg_tables where schemaname = 'public' order by tablename
      `);
      const actual = Object.fromEntries(
        rows.map((r) => [
          r.tablename,
          r.t ? "truncate!" : r.w && r.d ? "read-write" : r.r ? "read-only" : "none",
        ]),
      );
      const expected = Object.fromEntries(rows.map((r) => [r.tablename, tableAccess(role, r.tablename)]));
      expect({ role, access: actual }).toEqual({ role, access: expected });
    }
    expect(tableAccess("oncall_ingest", "api_keys")).toBe("none");
    expect(tableAccess("oncall_ingest", "services")).toBe("read-only");
    expect(tableAccess("oncall_ingest", "alerts")).toBe("read-write");
    expect(tableAccess("oncall_api", "kysely_migration")).toBe("none");
  });

  it("is idempotent, and takes away a right granted by hand", async () => {
    await sql`grant select on table api_keys to oncall_ingest`.execute(database.db);

    await provisionDatabaseRoles(database.db, credentials);

    const [row] = await query(
      sql<{ r: boolean }>`select has_table_privilege('oncall_ingest', 'api_keys', 'SELECT') as r`,
    );
    expect(row?.r).toBe(false);
  });

  it("refuses an unknown role or a short password before changing anything", async () => {
    await expect(
      provisionDatabaseRoles(database.db, [{ role: "postgres" as never, password: "x".repeat(20) }]),
    ).rejects.toThrow(/unknown database role postgres/);
    await expect(
      provisionDatabaseRoles(database.db, [{ role: "oncall_api", password: "short" }]),
    ).rejects.toThrow(/shorter than 16/);
  });
});

describe("provisioned roles at work (PGlite, SET ROLE)", () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    await provisionDatabaseRoles(database.db, credentials);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("lets the ingest role read services but neither change them, nor read API keys, nor create tables", async () => {
    await database.db.connection().execute(async (db) => {
      await sql`set role oncall_ingest`.execute(db);
      try {
        await expect(sql`select count(*) from services`.execute(db)).resolves.toBeDefined();
        await expect(sql`update services set name = name`.execute(db)).rejects.toThrow(/permission denied/);
        await expect(sql`select count(*) from api_keys`.execute(db)).rejects.toThrow(/permission denied/);
        await expect(sql`create table intruder (x int)`.execute(db)).rejects.toThrow(/permission denied/);
        await expect(sql`delete from kysely_migration`.execute(db)).rejects.toThrow(/permission denied/);
      } finally {
        await sql`reset role`.execute(db);
      }
    });
  });
});

describe("scramSha256Verifier", () => {
  it("computes what PostgreSQL stores for the same password and salt", async () => {
    const database = await openTestDatabase("pglite");
    try {
      await sql`create role scram_check login password 'correct horse battery staple'`.execute(database.db);
      const [row] = (
        await sql<{
          rolpassword: string;
        }>`select rolpassword from pg_authid where rolname = 'scram_check'`.execute(database.db)
      ).rows;
      const stored = row!.rolpassword;
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;

      expect(
        scramSha256Verifier("correct horse battery staple", Buffer.from(salt!, "base64"), Number(iterations)),
      ).toBe(stored);
    } finally {
      await database.close();
    }
  });
});
