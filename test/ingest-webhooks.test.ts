import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";

// Webhooks end to end: real fixture bodies over real HTTP into the embedded runtime.
const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/webhooks/${name}`, import.meta.url), "utf8");

let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  seeded = await seedService(database.db);
});

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const alertRows = () => database.db.selectFrom("alerts").selectAll().orderBy("id").execute();

describe("Alertmanager webhook", () => {
  it("creates one alert per entry, dedups on the fingerprint, and resolves", async () => {
    const firing = fixture("alertmanager-v4-firing.json");
    const first = await post("/v1/webhooks/alertmanager", firing, bearer(seeded.secrets.alertmanager));
    expect(first.status).toBe(200);
    const body = (await first.json()) as { alerts: { id: number; dedupKey: string; outcome: string }[] };
    expect(body.alerts).toEqual([
      { id: expect.any(Number), dedupKey: "dda347d465921b7c", outcome: "created" },
    ]);

    const again = await post("/v1/webhooks/alertmanager", firing, bearer(seeded.secrets.alertmanager));
    expect(((await again.json()) as typeof body).alerts[0]).toMatchObject({
      id: body.alerts[0]!.id,
      outcome: "deduplicated",
    });

    const [alert] = await alertRows();
    expect(alert).toMatchObject({
      status: "triggered",
      severity: "critical",
      summary: "Disk 95% full on db-12",
      source: "alertmanager",
      duplicate_count: 1,
      labels: { alertname: "DiskFull", instance: "db-12", severity: "critical", team: "db" },
    });

    const resolved = JSON.parse(firing);
    resolved.status = "resolved";
    resolved.alerts[0].status = "resolved";
    const res = await post(
      "/v1/webhooks/alertmanager",
      JSON.stringify(resolved),
      bearer(seeded.secrets.alertmanager),
    );
    expect(((await res.json()) as typeof body).alerts[0]).toMatchObject({ outcome: "resolved" });
    expect((await alertRows())[0]).toMatchObject({
      status: "resolved",
      resolved_by: `integration_key:${seeded.keyIds.alertmanager}`,
    });

    const events = await database.db.selectFrom("alert_events").select("type").orderBy("id").execute();
    expect(events.map((e) => e.type)).toEqual(["created", "duplicate_suppressed", "resolved"]);
  });

  it("accepts the key as ?key= and from a universal key", async () => {
    const res = await post(
      `/v1/webhooks/alertmanager?key=${seeded.secrets.universal}`,
      fixture("alertmanager-v4-firing.json"),
    );
    expect(res.status).toBe(200);
  });
});

describe("other sources", () => {
  it("Grafana unified: one alert per entry", async () => {
    const res = await post(
      "/v1/webhooks/grafana",
      fixture("grafana-unified-firing.json"),
      bearer(seeded.secrets.grafana),
    );
    expect(res.status).toBe(200);
    expect((await alertRows()).map((a) => a.source)).toEqual(["grafana", "grafana"]);
  });

  it("generic JSON and form posts", async () => {
    expect(
      (await post("/v1/webhooks/generic", fixture("generic-trigger.json"), bearer(seeded.secrets.generic)))
        .status,
    ).toBe(200);
    const form = await fetch(`${server.url}/v1/webhooks/generic?token=${seeded.secrets.generic}`, {
      method: "POST",
      body: "summary=Queue%20backlog&dedup=queue-1&details=depth%20900",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(200);
    expect((await alertRows()).map((a) => [a.dedup_key, a.summary])).toEqual([
      ["gateway-health-eu-west", "Payment gateway health check failing"],
      ["queue-1", "Queue backlog"],
    ]);
    const close = await post(
      "/v1/webhooks/generic",
      JSON.stringify({ dedup: "queue-1", action: "close" }),
      bearer(seeded.secrets.generic),
    );
    expect(((await close.json()) as { alerts: { outcome: string }[] }).alerts[0]!.outcome).toBe("resolved");
  });

  it("PagerDuty Events v2: trigger, acknowledge, resolve by dedup_key", async () => {
    const event = JSON.parse(fixture("pagerduty-events-v2-trigger.json"));
    event.routing_key = seeded.secrets.pagerduty;
    const trigger = await post("/v2/enqueue", JSON.stringify(event));
    expect(trigger.status).toBe(202);
    expect(await trigger.json()).toEqual({
      status: "success",
      message: "Event processed",
      dedup_key: "backup-job-nightly-2026-11-27",
    });
    for (const action of ["acknowledge", "resolve"] as const) {
      const res = await post(
        "/v2/enqueue",
        JSON.stringify({
          routing_key: seeded.secrets.pagerduty,
          event_action: action,
          dedup_key: event.dedup_key,
        }),
      );
      expect(res.status).toBe(202);
    }
    expect((await alertRows())[0]).toMatchObject({ status: "resolved", severity: "error" });
    expect(
      (await database.db.selectFrom("alert_events").select("type").orderBy("id").execute()).map(
        (e) => e.type,
      ),
    ).toEqual(["created", "acknowledged", "resolved"]);
  });
});

describe("bad input: a clear 4xx, nothing written, the server keeps serving", () => {
  const am = () => seeded.secrets.alertmanager;
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ["malformed JSON", () => post("/v1/webhooks/alertmanager", '{"alerts": [', bearer(am())), 400, /body/],
    [
      "wrong types",
      () => post("/v1/webhooks/alertmanager", JSON.stringify({ version: "4", alerts: "x" }), bearer(am())),
      400,
      /alerts/,
    ],
    [
      "empty alerts[]",
      () =>
        post(
          "/v1/webhooks/alertmanager",
          JSON.stringify({ version: "4", status: "firing", alerts: [] }),
          bearer(am()),
        ),
      400,
      /alerts/,
    ],
    [
      "non-UTF-8 body",
      () =>
        fetch(`${server.url}/v1/webhooks/generic`, {
          method: "POST",
          body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
          headers: { "content-type": "application/json", ...bearer(seeded.secrets.generic) },
        }),
      400,
      /UTF-8/,
    ],
    [
      "deep nesting",
      () =>
        post(
          "/v1/webhooks/generic",
          `${"[".repeat(5000)}${"]".repeat(5000)}`,
          bearer(seeded.secrets.generic),
        ),
      400,
      /depth|nest/i,
    ],
    [
      "10 MiB body",
      () => post("/v1/webhooks/alertmanager", `{"x":"${"a".repeat(10 * 1024 * 1024)}"}`, bearer(am())),
      413,
      /exceeds/,
    ],
    [
      "10,000 labels",
      () => {
        const body = JSON.parse(fixture("alertmanager-v4-firing.json"));
        body.alerts[0].labels = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, "v"]));
        return post("/v1/webhooks/alertmanager", JSON.stringify(body), bearer(am()));
      },
      400,
      /labels/,
    ],
    [
      "unknown key",
      () => post("/v1/webhooks/alertmanager", fixture("alertmanager-v4-firing.json"), bearer("oik_nope")),
      401,
      /unknown/,
    ],
    [
      "missing key",
      () => post("/v1/webhooks/alertmanager", fixture("alertmanager-v4-firing.json")),
      401,
      /missing/,
    ],
    [
      "key of another type",
      () =>
        post(
          "/v1/webhooks/alertmanager",
          fixture("alertmanager-v4-firing.json"),
          bearer(seeded.secrets.grafana),
        ),
      403,
      /grafana/,
    ],
    [
      "wrong content type",
      () =>
        post("/v1/webhooks/alertmanager", fixture("alertmanager-v4-firing.json"), {
          ...bearer(am()),
          "content-type": "text/plain",
        }),
      415,
      /content-type/,
    ],
    [
      "GET on a webhook",
      () => fetch(`${server.url}/v1/webhooks/alertmanager`, { headers: bearer(am()) }),
      405,
      /POST/,
    ],
  ];

  it.each(cases)("%s", async (_name, send, status, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as { message: string };
    expect(body.message).toMatch(message);
    expect(await alertRows()).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("a batch with one bad alert writes none of its alerts", async () => {
    const body = JSON.parse(fixture("alertmanager-v4-firing.json"));
    body.alerts.push({ ...body.alerts[0], fingerprint: "second", labels: { alertname: 5 } });
    const res = await post("/v1/webhooks/alertmanager", JSON.stringify(body), bearer(am()));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { field: string }).field).toBe("alerts[1].labels.alertname");
    expect(await alertRows()).toEqual([]);
  });
});

describe("rate limit per key", () => {
  it("answers 429 with Retry-After over the key's limit", async () => {
    const limited = await seedService(database.db, { name: "limited", rateLimitPerMinute: 2 });
    const send = () =>
      post("/v1/webhooks/generic", fixture("generic-trigger.json"), bearer(limited.secrets.generic));
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send()).status);
    // Two in the window pass; the third is refused (unless the minute turned between requests).
    const third = await send();
    statuses.push(third.status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses).toContain(429);
    const refused = statuses.indexOf(429);
    expect(refused).toBeGreaterThanOrEqual(2);
    if (third.status === 429) {
      const retryAfter = Number(third.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });
});
