import { describe, expect, it } from "vitest";
import { BASE_BACKOFF_MS, MAX_BACKOFF_MS, MAX_DELIVERY_ATTEMPTS, retryDecision } from "./retry.ts";

// The backoff's table: the ceiling doubles from 2 s per attempt up to 2 minutes, the delay is in
// [ceiling/2, ceiling] by the jitter, never below Retry-After, and the last attempt gives up.

describe("retryDecision", () => {
  it.each([
    // attempts, random, Retry-After, delay
    [1, 0, undefined, 1_000],
    [1, 0.5, undefined, 1_500],
    [1, 0.999_999, undefined, 2_000],
    [2, 0, undefined, 2_000],
    [2, 0.5, undefined, 3_000],
    [3, 0.5, undefined, 6_000],
    [4, 0.5, undefined, 12_000],
    [5, 0.5, undefined, 24_000],
    // Retry-After wins when it is longer than the backoff, and not when it is shorter.
    [1, 0.5, 2_000, 2_000],
    [1, 0, 30_000, 30_000],
    [3, 0.5, 1_000, 6_000],
    // A fractional Retry-After (an HTTP date) is rounded up, never down.
    [1, 0, 2_000.2, 2_001],
  ])("attempt %i, random %f, Retry-After %s ms → %i ms", (attempts, random, retryAfterMs, delayMs) => {
    expect(retryDecision({ attempts, maxAttempts: 99, random, retryAfterMs })).toEqual({
      retry: true,
      delayMs,
    });
  });

  it("caps the ceiling at 2 minutes however many attempts", () => {
    for (const attempts of [8, 9, 20, 60]) {
      const { delayMs } = retryDecision({ attempts, maxAttempts: 99, random: 0.999_999 }) as {
        delayMs: number;
      };
      expect(delayMs).toBe(MAX_BACKOFF_MS);
      expect((retryDecision({ attempts, maxAttempts: 99, random: 0 }) as { delayMs: number }).delayMs).toBe(
        MAX_BACKOFF_MS / 2,
      );
    }
    expect(BASE_BACKOFF_MS * 2 ** 6).toBeGreaterThan(MAX_BACKOFF_MS);
  });

  it("gives up after the last attempt, whatever Retry-After says", () => {
    expect(
      retryDecision({ attempts: MAX_DELIVERY_ATTEMPTS - 1, maxAttempts: MAX_DELIVERY_ATTEMPTS, random: 0.5 }),
    ).toMatchObject({ retry: true });
    for (const attempts of [MAX_DELIVERY_ATTEMPTS, MAX_DELIVERY_ATTEMPTS + 1]) {
      expect(
        retryDecision({ attempts, maxAttempts: MAX_DELIVERY_ATTEMPTS, random: 0.5, retryAfterMs: 1_000 }),
      ).toEqual({ retry: false, reason: "attempts_exhausted" });
    }
  });

  it.each([
    // random for every delay, total backoff between the default 12 attempts
    [0, 363_000],
    [0.5, 544_500],
    [0.999_999, 726_000],
  ])("waits 6 to 12 minutes in all between the default 12 attempts (random %f: %i ms)", (random, total) => {
    let waited = 0;
    let attempts = 1;
    for (; ; attempts++) {
      const d = retryDecision({ attempts, maxAttempts: MAX_DELIVERY_ATTEMPTS, random });
      if (!d.retry) break;
      waited += d.delayMs;
    }
    expect(attempts).toBe(12);
    expect(waited).toBe(total);
    // A provider outage of a few minutes (up to 6) never fails a page for good.
    expect(waited).toBeGreaterThanOrEqual(6 * 60_000);
  });
});
