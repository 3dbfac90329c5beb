import { describe, expect, it } from "vitest";
import { createFixedClock } from "../clock.ts";
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError, ValidationError } from "../errors.ts";
import { type IngestKey, type IngestPorts, ingestWebhook, type WebhookSource } from "./ingest.ts";

// A fake store that applies the same admission rule as the SQL statement (alert-signals.ts): the
// key's type fits the webhook or is universal, and the request is within the key's limit. The store
// tests check the statement itself.
function fakePorts(key: IngestKey | undefined) {
  const calls: { source: WebhookSource; signals: number }[] = [];
  const ports: IngestPorts = {
    clock: createFixedClock("2026-11-27T12:00:45Z"),
    newId: () => "generated-id",
    async ingest({ source, signals }) {
      calls.push({ source, signals: signals.length });
      if (!key) return { admitted: false, results: [], effects: [] };
      const admitted =
        (key.type === "universal" || key.type === source) &&
        key.requestsThisMinute <= key.limitPerMinute &&
        key.alertsThisMinute <= key.alertLimitPerMinute;
      return {
        key,
        admitted,
        results: admitted
          ? signals.map((s, i) => ({ dedupKey: s.dedupKey, alertId: i + 1, outcome: "created" as const }))
          : [],
        effects: [],
      };
    },
  };
  return { ports, calls };
}

const key = (overrides: Partial<IngestKey> = {}): IngestKey => ({
  keyId: "k1",
  serviceId: "s1",
  type: "generic",
  requestsThisMinute: 1,
  limitPerMinute: 10,
  alertsThisMinute: 1,
  alertLimitPerMinute: 100,
  ...overrides,
});
const generic = { summary: "disk full", dedup: "disk-1" };

describe("ingestWebhook", () => {
  it("applies the signals of an admitted request", async () => {
    const { ports, calls } = fakePorts(key());
    const result = await ingestWebhook(ports, { source: "generic", secret: "s", body: generic });
    expect(result).toMatchObject({ serviceId: "s1", keyId: "k1", signalCount: 1, truncatedAlerts: 0 });
    expect(result.results).toEqual([{ dedupKey: "disk-1", alertId: 1, outcome: "created" }]);
    expect(calls).toEqual([{ source: "generic", signals: 1 }]);
  });

  it("answers PagerDuty with the generated dedup key", async () => {
    const { ports } = fakePorts(key({ type: "pagerduty" }));
    const result = await ingestWebhook(ports, {
      source: "pagerduty",
      secret: "s",
      body: { event_action: "trigger", payload: { summary: "x", source: "y", severity: "info" } },
    });
    expect(result.pagerDutyDedupKey).toBe("generated-id");
  });

  it.each([
    ["no secret", undefined, key(), generic, UnauthenticatedError, false],
    ["an unknown key", "s", undefined, generic, UnauthenticatedError, true],
    ["a key of another type", "s", key({ type: "grafana" }), generic, PermissionDeniedError, true],
    ["a key over its limit", "s", key({ requestsThisMinute: 11 }), generic, RateLimitedError, true],
    ["a key over its alert budget", "s", key({ alertsThisMinute: 101 }), generic, RateLimitedError, true],
    ["a bad payload", "s", key(), { details: "no summary" }, ValidationError, false],
  ] as const)("refuses %s", async (_name, secret, found, body, errorType, reachesStore) => {
    const { ports, calls } = fakePorts(found);
    const error = await ingestWebhook(ports, { source: "generic", secret, body }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorType);
    expect(calls.length > 0).toBe(reachesStore);
  });

  it("tells a rate-limited sender when the window turns", async () => {
    const { ports } = fakePorts(key({ requestsThisMinute: 11 }));
    const error = (await ingestWebhook(ports, { source: "generic", secret: "s", body: generic }).catch(
      (e) => e,
    )) as RateLimitedError;
    expect(error.retryAfterSeconds).toBe(15); // the clock says :45
  });

  it("says which limit a refused request is over", async () => {
    const overRequests = await ingestWebhook(fakePorts(key({ requestsThisMinute: 11 })).ports, {
      source: "generic",
      secret: "s",
      body: generic,
    }).catch((e: Error) => e.message);
    const overAlerts = await ingestWebhook(fakePorts(key({ alertsThisMinute: 101 })).ports, {
      source: "generic",
      secret: "s",
      body: generic,
    }).catch((e: Error) => e.message);
    expect(overRequests).toBe("integration key over its limit of 10 requests per minute");
    expect(overAlerts).toBe(
      "integration key over its budget of 100 alerts per minute (101 with this request)",
    );
  });
});
