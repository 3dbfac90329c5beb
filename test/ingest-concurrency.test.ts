import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase, testDatabases } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";

// 20 concurrent senders post 2,000 Alertmanager alerts in which every fingerprint appears twice,
// the two copies sent by different senders: exactly 1,000 alerts must exist, each with one duplicate.
const senders = 20;
const distinct = 1000;
const batchSize = 10;

const kinds = testDatabases().filter((k) => k !== "data-api");

describe.each(kinds)("concurrent ingest on %s", (kind) => {
  let database: DatabaseHandle;
  let server: LocalServer;
  let seeded: SeededService;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    seeded = await seedService(database.db, { rateLimitPerMinute: 100_000 });
    server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await database?.close();
  });

  it("creates exactly the distinct alerts with the right duplicate counts", async () => {
    const entry = (n: number) => ({
      status: "firing",
      labels: { alertname: "Load", instance: `host-${n}`, severity: n % 2 ? "warning" : "critical" },
      annotations: { summary: `load high on host-${n}` },
      startsAt: "2026-11-27T12:00:00Z",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.local/graph",
      fingerprint: `fp-${n.toString(16).padStart(6, "0")}`,
    });
    // Sender s gets fingerprints s, s+20, s+40... and the second copy goes to sender (s + 7) % 20.
    const perSender: ReturnType<typeof entry>[][] = Array.from({ length: senders }, () => []);
    for (let n = 0; n < distinct; n++) {
      perSender[n % senders]!.push(entry(n));
      perSender[(n + 7) % senders]!.push(entry(n));
    }
    const statuses = await Promise.all(
      perSender.map(async (alerts) => {
        const codes: number[] = [];
        for (let i = 0; i < alerts.length; i += batchSize) {
          const res = await fetch(`${server.url}/v1/webhooks/alertmanager`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${seeded.secrets.alertmanager}`,
            },
            body: JSON.stringify({
              version: "4",
              status: "firing",
              receiver: "oncall",
              groupKey: "{}:{}",
              truncatedAlerts: 0,
              groupLabels: {},
              commonLabels: {},
              commonAnnotations: {},
              externalURL: "http://alertmanager.local",
              alerts: alerts.slice(i, i + batchSize),
            }),
          });
          codes.push(res.status);
          await res.arrayBuffer();
        }
        return codes;
      }),
    );
    expect(statuses.flat().every((s) => s === 200)).toBe(true);
    expect(statuses.flat()).toHaveLength((2 * distinct) / batchSize);

    const rows = await database.db
      .selectFrom("alerts")
      .select(["dedup_key", "duplicate_count", "status"])
      .orderBy("dedup_key")
      .execute();
    expect(rows).toHaveLength(distinct);
    expect(new Set(rows.map((r) => r.dedup_key)).size).toBe(distinct);
    expect(rows.every((r) => r.duplicate_count === 1 && r.status === "triggered")).toBe(true);

    const events = await database.db
      .selectFrom("alert_events")
      .select(["type", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("type")
      .orderBy("type")
      .execute();
    expect(events).toEqual([
      { type: "created", n: distinct },
      { type: "duplicate_suppressed", n: distinct },
    ]);
  });
});
