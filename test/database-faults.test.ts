import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { migrateToLatest } from "../functions/adapters/db/migrate.ts";
import { AlertService } from "../functions/gen/oncall/v1/alerts_pb.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

// Database faults (issue 9, row 2) on a Postgres database this suite creates and drops, reached
// through a TCP proxy the suite controls: a partition, the database dropped, then recreated empty.
// Every request answers 503 with Retry-After (so the sender retries), /healthz says what is wrong,
// and a request that answered 503 writes nothing afterwards. Needs DATABASE_URL (a Postgres server).
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)("database faults through a proxy", () => {
  const name = `oncall_fault_${randomBytes(6).toString("hex")}`;
  let proxy: TcpProxy;
  let database: DatabaseHandle;
  let server: LocalServer;
  let seeded: SeededService;

  const admin = async (statement: string, database_ = "") => {
    const url = new URL(serverUrl!);
    if (database_) url.pathname = `/${database_}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return await client.query(statement);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`create database ${name}`);
    const direct = new URL(serverUrl!);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(serverUrl!);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    viaProxy.pathname = `/${name}`;
    database = await openDatabase({
      kind: "postgres",
      url: viaProxy.toString(),
      maxConnections: 4,
      timeouts: { connectMs: 1_000, statementMs: 1_000 },
    });
    await migrateToLatest(database.db);
    seeded = await seedService(database.db);
    server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await database?.close().catch(() => {});
    await proxy?.close();
    await admin(`drop database if exists ${name} with (force)`);
  });

  const postAlert = (dedup: string) =>
    fetch(`${server.url}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.generic}` },
      body: JSON.stringify({ summary: "disk full", dedup }),
    });

  async function expectUnavailable(res: Response): Promise<void> {
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({ code: "unavailable", message: "database unavailable, retry later" });
  }

  const health = async () => {
    const res = await fetch(`${server.url}/healthz`);
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
  };

  it("a partition: 503 with Retry-After, /healthz degraded, and nothing written after the heal", async () => {
    expect((await postAlert("before")).status).toBe(200);

    proxy.partition();
    await expectUnavailable(await postAlert("during-partition"));
    expect(await health()).toMatchObject({
      status: 503,
      retryAfter: "5",
      body: { status: "degraded", database: "unavailable" },
    });
    const alerts = createClient(
      AlertService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const rpcError = await alerts
      .listAlerts({}, { headers: { authorization: `Bearer ${testAdminToken}` } })
      .catch((e: unknown) => e);
    expect(rpcError).toMatchObject({ rawMessage: "database unavailable, retry later" });

    proxy.heal();
    // The link is back: requests succeed again (the reset connections were replaced)...
    let after = await postAlert("after-heal");
    if (after.status === 503) after = await postAlert("after-heal");
    expect(after.status).toBe(200);
    expect((await health()).status).toBe(200);
    // ...and the request that was told 503 never wrote its alert (read past the proxy).
    const { rows } = await admin("select dedup_key from alerts order by id", name);
    expect(rows.map((r) => r.dedup_key)).toEqual(["before", "after-heal"]);
  }, 60_000);

  it("the database dropped: 503 (57P01, then 3D000), /healthz unavailable", async () => {
    await admin(`drop database ${name} with (force)`);
    await expectUnavailable(await postAlert("dropped"));
    await expectUnavailable(await postAlert("dropped-again"));
    expect(await health()).toMatchObject({ status: 503, body: { database: "unavailable" } });
  }, 60_000);

  it("the database recreated empty: 503 (42P01), /healthz notices the missing schema", async () => {
    await admin(`create database ${name}`);
    await expectUnavailable(await postAlert("empty"));
    expect(await health()).toMatchObject({
      status: 503,
      body: { status: "degraded", database: "schema_missing" },
    });
  }, 60_000);
});
