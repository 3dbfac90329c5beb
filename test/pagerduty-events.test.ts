import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { ServiceService } from "../functions/gen/oncall/v1/services_pb.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { admin, createInMemoryTransport, failure } from "./support/rpc.ts";
import { type SeededService, seedService } from "./support/seed.ts";

// PagerDuty compatibility (issue 9, row 17): Events API v2 validated as PagerDuty validates it, and
// the Change Events API recorded on the service's timeline, readable through ServiceService.
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let services: ReturnType<typeof createClient<typeof ServiceService>>;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database);
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
  services = createClient(ServiceService, createInMemoryTransport(ctx));
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  seeded = await seedService(database.db);
});

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

const trigger = (routingKey: string, payload: Record<string, unknown>) => ({
  routing_key: routingKey,
  event_action: "trigger",
  payload: { summary: "CPU high on web-1", source: "web-1", severity: "critical", ...payload },
});

describe("Events API v2 (/v2/enqueue)", () => {
  it.each([
    ["a synonym", "high"],
    ["an upper-case name", "CRITICAL"],
    ["an unknown name", "urgent"],
  ])("refuses %s as severity with 400 naming payload.severity, writing nothing", async (_name, severity) => {
    const res = await post("/v2/enqueue", trigger(seeded.secrets.pagerduty, { severity }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: "invalid_argument",
      message: "payload.severity: must be one of critical, error, warning, info",
      field: "payload.severity",
    });
    expect(await database.db.selectFrom("alerts").select("id").execute()).toEqual([]);
  });

  it.each(["critical", "error", "warning", "info"])("accepts severity %s", async (severity) => {
    const res = await post("/v2/enqueue", trigger(seeded.secrets.pagerduty, { severity }));
    expect(res.status).toBe(202);
  });
});

describe("Change Events API (/v2/change/enqueue)", () => {
  const change = (routingKey: string, extra: Record<string, unknown> = {}) => ({
    routing_key: routingKey,
    payload: {
      summary: "Deployed checkout v42",
      timestamp: "2026-11-29T10:00:00.000+0000",
      source: "ci-pipeline",
      custom_details: { build: 42, commit: "abc123" },
    },
    links: [{ href: "https://ci.example.test/builds/42", text: "Build 42" }],
    ...extra,
  });

  it("records the change on the service and answers as PagerDuty does", async () => {
    const res = await post("/v2/change/enqueue", change(seeded.secrets.pagerduty));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "success", message: "Change event processed" });
    // A change pages nobody: no alert.
    expect(await database.db.selectFrom("alerts").select("id").execute()).toEqual([]);

    const { changeEvents, nextPageToken } = await services.listServiceChangeEvents(
      { serviceId: seeded.serviceId },
      admin,
    );
    expect(nextPageToken).toBe("");
    expect(changeEvents).toHaveLength(1);
    const [event] = changeEvents;
    expect(event).toMatchObject({
      serviceId: seeded.serviceId,
      summary: "Deployed checkout v42",
      source: "ci-pipeline",
      links: [{ href: "https://ci.example.test/builds/42", text: "Build 42" }],
    });
    expect(event!.eventTime?.seconds).toBe(BigInt(Date.parse("2026-11-29T10:00:00Z") / 1000));
    expect(toJson(ValueSchema, event!.customDetails!)).toEqual({ build: 42, commit: "abc123" });
  });

  it("pages newest first", async () => {
    for (const n of [1, 2, 3]) {
      const res = await post("/v2/change/enqueue", {
        routing_key: seeded.secrets.universal,
        payload: { summary: `change ${n}` },
      });
      expect(res.status).toBe(202);
    }
    const first = await services.listServiceChangeEvents({ serviceId: seeded.serviceId, pageSize: 2 }, admin);
    expect(first.changeEvents.map((e) => e.summary)).toEqual(["change 3", "change 2"]);
    const second = await services.listServiceChangeEvents(
      { serviceId: seeded.serviceId, pageSize: 2, pageToken: first.nextPageToken },
      admin,
    );
    expect(second.changeEvents.map((e) => e.summary)).toEqual(["change 1"]);
    expect(second.nextPageToken).toBe("");
  });

  it.each([
    ["no payload", { payload: undefined }, "payload"],
    ["no summary", { payload: { source: "ci" } }, "payload.summary"],
    ["an oversize summary", { payload: { summary: "s".repeat(1025) } }, "payload.summary"],
    ["a bad timestamp", { payload: { summary: "x", timestamp: "yesterday" } }, "payload.timestamp"],
    ["a link without href", { links: [{ text: "x" }] }, "links[0].href"],
  ])("refuses %s with 400 naming the field, writing nothing", async (_name, extra, field) => {
    const res = await post("/v2/change/enqueue", change(seeded.secrets.pagerduty, extra));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_argument", field });
    expect(await database.db.selectFrom("service_change_events").select("id").execute()).toEqual([]);
  });

  it("refuses an unknown key (401) and a key of another webhook (403)", async () => {
    expect((await post("/v2/change/enqueue", change("oik_unknown-key-0123456789"))).status).toBe(401);
    expect((await post("/v2/change/enqueue", change(seeded.secrets.alertmanager))).status).toBe(403);
    expect(await database.db.selectFrom("service_change_events").select("id").execute()).toEqual([]);
  });

  it("answers 405 to a GET", async () => {
    const res = await fetch(`${server.url}/v2/change/enqueue`);
    expect(res.status).toBe(405);
  });

  it("says not_found for an unknown service", async () => {
    const error = await failure(
      services.listServiceChangeEvents({ serviceId: "00000000-0000-4000-8000-000000000000" }, admin),
    );
    expect(error.rawMessage).toMatch(/service .* not found/);
  });
});
