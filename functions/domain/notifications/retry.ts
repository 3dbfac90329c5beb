/**
 * When a delivery whose provider answered `retry` is tried again: exponential backoff with full
 * jitter (AWS's "Exponential Backoff and Jitter"), never earlier than the provider's Retry-After.
 */

/**
 * Attempts of a message before it is `failed`: 1 + 11 retries, between 6 and 12 minutes of backoff
 * in all (about 9 on average: 2 + 4 + … + 64 s, then 2 minutes five times, each halved at worst by
 * the jitter), plus the sends. A provider outage shorter than 6 minutes never fails a page; an
 * on-call tool keeps trying that long (six attempts, 62 s at most, failed pages in a 1–2 minute
 * outage). An acknowledged or resolved alert's pages waiting for their retry are suppressed.
 */
export const MAX_DELIVERY_ATTEMPTS = 12;
/** First backoff ceiling, doubling per attempt, capped. */
export const BASE_BACKOFF_MS = 2_000;
export const MAX_BACKOFF_MS = 120_000;

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: "attempts_exhausted" };

/**
 * After `attempts` attempts (1 = the first just failed): retry after a delay in
 * [ceiling/2, ceiling] (half jitter: never a near-zero wait after a 5xx), at least `retryAfterMs`.
 * `random` in [0, 1).
 *
 * @example retryDecision({ attempts: 1, maxAttempts: 12, random: 0.5 }) // { retry: true, delayMs: 1500 }
 */
export function retryDecision(input: {
  attempts: number;
  maxAttempts: number;
  random: number;
  retryAfterMs?: number | undefined;
}): RetryDecision {
  if (input.attempts >= input.maxAttempts) return { retry: false, reason: "attempts_exhausted" };
  const ceiling = Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, input.attempts - 1), MAX_BACKOFF_MS);
  const jittered = Math.round(ceiling / 2 + (ceiling / 2) * input.random);
  return { retry: true, delayMs: Math.max(jittered, Math.ceil(input.retryAfterMs ?? 0)) };
}
