import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import { authenticateWebhookKey } from "../../../../test/support/seed.ts";
import type { StoredSignal } from "./alert-signals.ts";
import { ingestWithKey } from "./alert-signals.ts";
import { INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS, KEY_USAGE_SLOTS } from "./integration-keys.ts";
import { createIntegrationKey, createService } from "./services.ts";

const t0 = new Date("2026-11-27T12:00:10Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const trigger: StoredSignal = {
  action: "trigger",
  dedupKey: "disk",
  summary: "Disk full",
  details: "",
  severity: "warning",
  source: "generic",
  labels: {},
  annotations: {},
};

describeEachDatabase("integration key request counting", (suite) => {
  const db = () => suite.handle.db;
  let key: { id: string; secret: string };
  const authenticate = (now: Date, secret = key.secret) =>
    authenticateWebhookKey(db(), { secret, now, defaultLimitPerMinute: 1000 });
  const usage = async () =>
    db()
      .selectFrom("integration_key_usage")
      .select(["slot", "window_start", "request_count"])
      .where("key_id", "=", sql<string>`${key.id}::uuid`)
      .execute();
  const lastUsed = async () =>
    (
      await db()
        .selectFrom("integration_keys")
        .select("last_used_at")
        .where("id", "=", sql<string>`${key.id}::uuid`)
        .executeTakeFirstOrThrow()
    ).last_used_at;

  beforeEach(async () => {
    await db().deleteFrom("services").execute();
    // Through the stores (not test/support/seed.ts): their SQL casts what the Data API sends as text.
    const service = await createService(db(), {
      name: "s",
      description: "",
      escalationPolicyId: null,
      now: t0,
    });
    const issued = await createIntegrationKey(db(), {
      serviceId: service!.id,
      name: "k",
      type: "generic",
      rateLimitPerMinute: 5,
      now: t0,
    });
    key = { id: issued!.key.id, secret: issued!.secret };
  });

  it("counts every request of the minute whatever slot it lands in, and starts again next minute", async () => {
    const counts: number[] = [];
    for (let i = 0; i < 30; i++) counts.push((await authenticate(at(i)))!.requestsThisMinute);
    expect(counts).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const rows = await usage();
    expect(rows.reduce((sum, r) => sum + r.request_count, 0)).toBe(30);
    expect(rows.every((r) => r.slot >= 0 && r.slot < KEY_USAGE_SLOTS)).toBe(true);
    // 30 requests over 8 slots: more than one slot was used (all in one has odds 8^-29).
    expect(rows.length).toBeGreaterThan(1);

    // Next minute: old slots do not count, whichever slot the request lands in.
    expect((await authenticate(at(60)))!.requestsThisMinute).toBe(1);
    expect((await authenticate(at(61)))!.requestsThisMinute).toBe(2);
  });

  it("loses no count when many requests of one key arrive at once", async () => {
    const results = await Promise.all(Array.from({ length: 24 }, () => authenticate(t0)));
    expect(results.every((r) => r !== undefined)).toBe(true);
    expect((await usage()).reduce((sum, r) => sum + r.request_count, 0)).toBe(24);
    expect((await authenticate(t0))!.requestsThisMinute).toBe(25);
  });

  it("admits up to the key's limit per minute and writes nothing for refused requests", async () => {
    const ingest = (now: Date) =>
      ingestWithKey(db(), {
        secret: key.secret,
        source: "generic",
        now,
        defaultLimitPerMinute: 1000,
        defaultAlertLimitPerMinute: 1_000_000,
        signals: [trigger],
      });
    const admitted: boolean[] = [];
    for (let i = 0; i < 7; i++) admitted.push((await ingest(at(i))).admitted);
    expect(admitted).toEqual([true, true, true, true, true, false, false]);
    const alert = await db().selectFrom("alerts").select("duplicate_count").executeTakeFirstOrThrow();
    expect(alert.duplicate_count).toBe(4);
    expect((await ingest(at(60))).admitted).toBe(true);
  });

  it("writes last_used_at at most once per resolution period", async () => {
    expect(await lastUsed()).toBeNull();
    await authenticate(t0);
    expect(await lastUsed()).toEqual(t0);
    await authenticate(at(INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS - 1));
    expect(await lastUsed()).toEqual(t0);
    await authenticate(at(INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS + 1));
    expect(await lastUsed()).toEqual(at(INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS + 1));
  });

  it("counts nothing for unknown or revoked keys", async () => {
    expect(await authenticate(t0, "oik_unknown")).toBeUndefined();
    await db()
      .updateTable("integration_keys")
      .set({ revoked_at: t0 })
      .where("id", "=", sql<string>`${key.id}::uuid`)
      .execute();
    expect(await authenticate(t0)).toBeUndefined();
    expect(await db().selectFrom("integration_key_usage").selectAll().execute()).toEqual([]);
  });

  it("counts alerts too: a request over the key's alert budget is refused and writes nothing", async () => {
    const ingest = (now: Date, alerts: number) =>
      ingestWithKey(db(), {
        secret: key.secret,
        source: "generic",
        now,
        defaultLimitPerMinute: 1000,
        defaultAlertLimitPerMinute: 10,
        signals: Array.from({ length: alerts }, (_, i) => ({
          ...trigger,
          dedupKey: `k${now.getTime()}-${i}`,
        })),
      });
    const first = await ingest(at(1), 6);
    expect(first).toMatchObject({ admitted: true, key: { alertsThisMinute: 6, alertLimitPerMinute: 10 } });
    const over = await ingest(at(2), 6);
    expect(over).toMatchObject({ admitted: false, key: { alertsThisMinute: 12, alertLimitPerMinute: 10 } });
    expect(await db().selectFrom("alerts").select("id").execute()).toHaveLength(6);
    // A key's own budget wins over the default; a new minute starts again.
    await db()
      .updateTable("integration_keys")
      .set({ alert_limit_per_minute: 20 })
      .where("id", "=", sql<string>`${key.id}::uuid`)
      .execute();
    expect((await ingest(at(3), 6)).admitted).toBe(true);
    expect((await ingest(at(61), 10)).key).toMatchObject({ alertsThisMinute: 10, alertLimitPerMinute: 20 });
  });
});
