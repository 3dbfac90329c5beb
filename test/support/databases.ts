import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { type DatabaseHandle, openDatabase } from "../../functions/adapters/db/database.ts";
import { migrateToLatest } from "../../functions/adapters/db/migrate.ts";
import { createDataApiEmulator } from "./data-api-emulator.ts";

/**
 * The database paths every database suite runs on: embedded PGlite, a real Postgres when
 * `DATABASE_URL` is set, and the RDS Data API (emulated over PGlite).
 */
export type TestDatabaseKind = "pglite" | "postgres" | "data-api";

export function testDatabases(): TestDatabaseKind[] {
  return ["pglite", ...(process.env.DATABASE_URL ? (["postgres"] as const) : []), "data-api"];
}

/**
 * A migrated database of that kind that no other suite sees; `close()` throws it away.
 * PGlite costs ~2 s and ~0.7 GB per instance, so each worker migrates one template once and hands
 * out copies of it; Postgres gets a fresh `oncall_test_<random>` database on the `DATABASE_URL` server.
 */
export async function openTestDatabase(kind: TestDatabaseKind): Promise<DatabaseHandle> {
  switch (kind) {
    case "pglite": {
      const instance = await clonePgliteTemplate();
      const handle = await openDatabase({ kind: "pglite-instance", instance });
      return withCleanup(handle, () => instance.close());
    }
    case "data-api": {
      const instance = await clonePgliteTemplate();
      const emulator = await createDataApiEmulator(instance);
      const handle = await openDatabase({
        kind: "data-api",
        client: emulator.client,
        resourceArn: emulator.resourceArn,
        secretArn: emulator.secretArn,
        database: emulator.database,
      });
      const closeable = withCleanup(handle, async () => {
        await emulator.close();
        await instance.close();
      });
      try {
        // Through the Data API itself: a no-op on the clone, but it proves the path can migrate.
        await migrateToLatest(handle.db);
      } catch (err) {
        await closeable.close();
        throw err;
      }
      return closeable;
    }
    case "postgres":
      return openFreshPostgres();
  }
}

/** Context handed to a `describeEachDatabase` body; `handle` is open between beforeAll and afterAll. */
export interface DatabaseSuite {
  readonly kind: TestDatabaseKind;
  readonly handle: DatabaseHandle;
}

/**
 * `describe.each` over {@link testDatabases}: one body, run on every path, with a database opened
 * before the suite and closed after it.
 *
 * @example
 * describeEachDatabase("settings", (suite) => {
 *   it("stores a value", async () => {
 *     await suite.handle.db.insertInto("settings").values({ key: "k", value: { a: 1 } }).execute();
 *   });
 * });
 */
export function describeEachDatabase(name: string, fn: (suite: DatabaseSuite) => void): void {
  describe.each(testDatabases())(`${name} [%s]`, (kind) => {
    let handle: DatabaseHandle | undefined;
    beforeAll(async () => {
      handle = await openTestDatabase(kind);
    });
    afterAll(async () => {
      await handle?.close();
      handle = undefined;
    });
    fn({
      kind,
      get handle() {
        if (!handle) throw new Error("the suite's database is open only inside tests and hooks");
        return handle;
      },
    });
  });
}

// One migrated PGlite per worker process, kept as its data-folder dump: each test database loads
// the dump (what PGlite's clone() does, minus dumping the template again every time).
let template: Promise<File | Blob> | undefined;

/** A migrated PGlite of its own (a copy of the worker's template); the caller closes it. */
export async function clonePgliteTemplate(): Promise<PGlite> {
  template ??= createPgliteTemplate();
  return PGlite.create({ loadDataDir: await template });
}

async function createPgliteTemplate(): Promise<File | Blob> {
  const instance = await PGlite.create("memory://");
  try {
    const handle = await openDatabase({ kind: "pglite-instance", instance });
    try {
      await migrateToLatest(handle.db);
    } finally {
      await handle.close();
    }
    return await instance.dumpDataDir("none");
  } finally {
    await instance.close();
  }
}

async function openFreshPostgres(): Promise<DatabaseHandle> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error("DATABASE_URL is not set");
  const name = `oncall_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    const handle = await openDatabase({ kind: "postgres", url: url.toString(), maxConnections: 5 });
    await migrateToLatest(handle.db);
    return withCleanup(handle, () => adminQuery(serverUrl, `drop database if exists ${name} with (force)`));
  } catch (err) {
    await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    throw err;
  }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withCleanup(handle: DatabaseHandle, cleanup: () => Promise<void>): DatabaseHandle {
  let closed: Promise<void> | undefined;
  return {
    db: handle.db,
    kind: handle.kind,
    ping: () => handle.ping(),
    close() {
      closed ??= (async () => {
        try {
          await handle.close();
        } finally {
          await cleanup();
        }
      })();
      return closed;
    },
  };
}
