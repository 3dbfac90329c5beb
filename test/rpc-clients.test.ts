import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { latestSchemaVersion } from "../functions/adapters/db/migrate.ts";
import { version } from "../functions/adapters/version.ts";
import { SystemService } from "../functions/gen/oncall/v1/system_pb.ts";
import { createApiHandler } from "../functions/handlers/api.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { createLambdaTransport } from "./support/lambda-transport.ts";

// The same RPCs through every client we support, over the real local HTTP server and straight
// into the Lambda handler: the answers must be identical.
let database: DatabaseHandle;
let server: LocalServer;
const transports: Record<string, Transport> = {};

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const handler = createApiHandler(createTestAppContext(database));
  server = await startLocalServer(handler, { port: 0 });
  Object.assign(transports, {
    "http connect-json": createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    "http connect-binary": createConnectTransport({
      baseUrl: server.url,
      httpVersion: "1.1",
      useBinaryFormat: true,
    }),
    "http grpc-web": createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    "lambda connect-json": createLambdaTransport(handler, "connect-json"),
    "lambda connect-binary": createLambdaTransport(handler, "connect-binary"),
    "lambda grpc-web": createLambdaTransport(handler, "grpc-web"),
  });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

const auth = { headers: { authorization: `Bearer ${testAdminToken}` } };
const transportNames = [
  "http connect-json",
  "http connect-binary",
  "http grpc-web",
  "lambda connect-json",
  "lambda connect-binary",
  "lambda grpc-web",
];

describe.each(transportNames)("SystemService via %s", (name) => {
  const client = () => createClient(SystemService, transports[name]!);

  it("answers GetVersion without credentials", async () => {
    const res = await client().getVersion({});
    expect({ version: res.version, runtime: res.runtime, schemaVersion: res.schemaVersion }).toEqual({
      version,
      runtime: "embedded",
      schemaVersion: latestSchemaVersion,
    });
  });

  it("identifies the admin token", async () => {
    const res = await client().whoAmI({}, auth);
    expect(res.principal).toBe("admin");
    expect(res.scopes).toEqual(["read", "write"]);
  });

  it("checks database health", async () => {
    const res = await client().checkHealth({}, auth);
    expect(res.databaseOk).toBe(true);
    expect(res.checkedAt).toBeDefined();
  });

  it.each([
    ["no token", {}],
    ["a wrong token", { headers: { authorization: "Bearer not-the-token" } }],
    ["a malformed header", { headers: { authorization: "Basic abc" } }],
  ])("refuses %s with unauthenticated", async (_label, options) => {
    const error = await client()
      .whoAmI({}, options)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
  });
});

describe("plain HTTP edges of the local server", () => {
  it("answers /healthz", async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", database: "ok", version, runtime: "embedded" });
  });

  it("answers 404 with a JSON error for an unknown path and for an unknown RPC", async () => {
    for (const path of ["/nope", "/oncall.v1.SystemService/NoSuchMethod"]) {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: "not_found" });
    }
  });

  it("answers a malformed Connect JSON body with invalid_argument", async () => {
    const res = await fetch(`${server.url}/oncall.v1.SystemService/GetVersion`, {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_argument" });
  });

  it("refuses a body over 1 MiB with 413 and keeps serving", async () => {
    const res = await fetch(`${server.url}/oncall.v1.SystemService/GetVersion`, {
      method: "POST",
      body: `{"x":"${"a".repeat(1024 * 1024)}"}`,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("answers CORS preflight for gRPC-web from a browser", async () => {
    const res = await fetch(`${server.url}/oncall.v1.SystemService/WhoAmI`, {
      method: "OPTIONS",
      headers: { origin: "https://console.example", "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/X-Grpc-Web/i);
  });
});

const execFileAsync = promisify(execFile);

describe.each(["connect", "grpcweb"])("buf curl --protocol %s", (protocol) => {
  const bufCurl = (method: string, token?: string) =>
    execFileAsync(
      "node_modules/.bin/buf",
      [
        "curl",
        "--schema",
        "proto",
        "--protocol",
        protocol,
        ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
        "--data",
        "{}",
        `${server.url}/oncall.v1.SystemService/${method}`,
      ],
      { timeout: 20_000 },
    );

  it("calls GetVersion", async () => {
    const { stdout } = await bufCurl("GetVersion");
    expect(JSON.parse(stdout)).toEqual({ version, runtime: "embedded", schemaVersion: latestSchemaVersion });
  });

  it("calls WhoAmI with the admin token", async () => {
    const { stdout } = await bufCurl("WhoAmI", testAdminToken);
    expect(JSON.parse(stdout)).toEqual({ principal: "admin", scopes: ["read", "write"] });
  });

  it("reports unauthenticated without a token", async () => {
    const error = (await bufCurl("WhoAmI").catch((e: unknown) => e)) as { stderr: string; code: number };
    expect(error.code).not.toBe(0);
    expect(JSON.parse(error.stderr)).toMatchObject({ code: "unauthenticated" });
  });
});

describe("buf curl --protocol grpcweb TemplateService/RenderPreview", () => {
  it("renders every channel of the default alert template for the sample alert", async () => {
    const { stdout } = await execFileAsync(
      "node_modules/.bin/buf",
      [
        "curl",
        "--schema",
        "proto",
        "--protocol",
        "grpcweb",
        "-H",
        `Authorization: Bearer ${testAdminToken}`,
        "--data",
        JSON.stringify({ template: { id: "default-alert" } }),
        `${server.url}/oncall.v1.TemplateService/RenderPreview`,
      ],
      { timeout: 20_000 },
    );
    const res = JSON.parse(stdout) as {
      templateId: string;
      renderings: { channel: string; parts: { name: string; content: string }[]; errors?: unknown[] }[];
    };
    expect(res.templateId).toBe("default-alert");
    expect(res.renderings.map((r) => r.channel)).toEqual([
      "CHANNEL_SLACK",
      "CHANNEL_TEAMS",
      "CHANNEL_EMAIL",
      "CHANNEL_SMS",
      "CHANNEL_VOICE",
      "CHANNEL_WEBHOOK",
    ]);
    for (const r of res.renderings) expect(r.errors ?? []).toEqual([]);
    const part = (channel: string, name: string) =>
      res.renderings.find((r) => r.channel === channel)!.parts.find((p) => p.name === name)!.content;
    expect(JSON.parse(part("CHANNEL_SLACK", "blocks")).blocks.length).toBeGreaterThan(0);
    expect(JSON.parse(part("CHANNEL_TEAMS", "card")).type).toBe("AdaptiveCard");
    expect(JSON.parse(part("CHANNEL_WEBHOOK", "body")).alert.id).toBe(4217);
  });
});
