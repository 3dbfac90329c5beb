import { describe, expect, it } from "vitest";
import { claimLeaseMs, deliverySettingsFor } from "./delivery-runtime.ts";

// ONCALL_OUTBOUND_TIMEOUT_MS is the bound on one send in both runtimes: the use case's cut follows it
// (it was a fixed 10 s, so a longer configured timeout was cut at 10 s anyway), and a lease outlasts
// two sends.

describe("deliverySettingsFor", () => {
  it.each([
    [100, 1_100, 60_000],
    [10_000, 11_000, 60_000],
    [30_000, 31_000, 62_000],
    [120_000, 121_000, 242_000],
  ])("an outbound timeout of %i ms: the send is cut at %i ms, leased for %i ms", (timeout, send, lease) => {
    const settings = deliverySettingsFor({
      outboundTimeoutMs: timeout,
      consoleUrl: "https://oncall.example.com",
    });
    expect(settings).toMatchObject({
      sendTimeoutMs: send,
      leaseMs: lease,
      consoleUrl: "https://oncall.example.com",
    });
    expect(settings.leaseMs).toBeGreaterThan(settings.sendTimeoutMs);
  });
});

// A claim's lease covers the sends owed ahead of it and its own, `sendSlots` at a time, plus one
// send's time for the database work around them: a send waiting for a slot is never taken again.
describe("claimLeaseMs", () => {
  it.each([
    // sends, slots, send timeout, shortest lease, lease
    [1, 32, 11_000, 60_000, 60_000],
    [32, 32, 11_000, 60_000, 60_000],
    [231, 32, 11_000, 60_000, 99_000],
    [1_000, 32, 11_000, 60_000, 363_000],
    [2, 1, 30_000, 60_000, 90_000],
    [0, 32, 121_000, 242_000, 242_000],
    [64, 32, 121_000, 242_000, 363_000],
  ])(
    "%i sends over %i slots of %i ms (at least %i ms): %i ms",
    (sends, sendSlots, sendTimeoutMs, minLeaseMs, lease) => {
      expect(claimLeaseMs({ sends, sendSlots, sendTimeoutMs, minLeaseMs })).toBe(lease);
    },
  );
});
