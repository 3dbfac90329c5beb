import { createServer, type Server } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { AlertService } from "../functions/gen/oncall/v1/alerts_pb.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";

// The database is down (here: a Postgres address where nothing listens): every entry point answers
// 503 / `unavailable` so that senders retry, and says nothing about the driver.
let closedPort: Server;
let database: DatabaseHandle;
let server: LocalServer;

beforeAll(async () => {
  // Reserve a port, then close it: connections to it are refused.
  closedPort = createServer();
  await new Promise<void>((resolve) => closedPort.listen(0, "127.0.0.1", resolve));
  const { port } = closedPort.address() as { port: number };
  await new Promise<void>((resolve) => closedPort.close(() => resolve()));
  database = await openDatabase({ kind: "postgres", url: `postgres://postgres@127.0.0.1:${port}/oncall` });
  server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

describe("database unavailable", () => {
  it("answers a webhook with 503 so that the sender retries", async () => {
    const res = await fetch(`${server.url}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer oik_some-key" },
      body: JSON.stringify({ summary: "disk full" }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ code: "unavailable", message: "database unavailable, retry later" });
  });

  it("reports itself degraded on /healthz", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", database: "unavailable" });
  });

  it("answers an RPC with `unavailable`", async () => {
    const alerts = createClient(
      AlertService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    );
    const error = await alerts
      .listAlerts({}, { headers: { authorization: `Bearer ${testAdminToken}` } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect((error as ConnectError).rawMessage).toBe("database unavailable, retry later");
  });
});
