import type { DestinationKind } from "./model.ts";

/**
 * Per-destination caps (GoAlert's per-contact-method throttle as the reference): at most `count`
 * messages per `perMs` to one number, address or URL. What would exceed a cap waits until the cap
 * allows and is then sent as ONE message with everything that waited (a bundle): nothing is dropped,
 * nothing is sent 23 times.
 */
export interface ThrottleRule {
  readonly count: number;
  readonly perMs: number;
}

const minute = 60_000;

/**
 * SMS and email: one a minute (GoAlert: one per minute for SMS, voice and email), and at most 5 in
 * 15 minutes. Chat and webhooks take more (Slack allows about one a second per channel); a storm
 * still becomes a few messages, not hundreds.
 */
export const THROTTLE_RULES: Readonly<Record<DestinationKind, readonly ThrottleRule[]>> = {
  sms: [
    { count: 1, perMs: minute },
    { count: 5, perMs: 15 * minute },
  ],
  email: [
    { count: 1, perMs: minute },
    { count: 5, perMs: 15 * minute },
  ],
  slack_webhook: [{ count: 6, perMs: minute }],
  slack_chat: [{ count: 6, perMs: minute }],
  teams_webhook: [{ count: 6, perMs: minute }],
  webhook: [{ count: 20, perMs: minute }],
};

/** The longest window of any rule: how far back the sent times must be read. */
export const THROTTLE_LOOKBACK_MS = Math.max(
  ...Object.values(THROTTLE_RULES).flatMap((rules) => rules.map((r) => r.perMs)),
);

/**
 * When the next message to a destination may go, given when the previous ones were sent: `now`
 * when no rule is at its cap, else the moment the oldest message of the full window leaves it.
 *
 * @example nextAllowedAt([{ count: 1, perMs: 60_000 }], [sentAt], now) // sentAt + 60 s if within a minute
 */
export function nextAllowedAt(rules: readonly ThrottleRule[], sentAt: readonly Date[], now: Date): Date {
  const sent = sentAt.map((d) => d.getTime()).sort((a, b) => b - a);
  let allowed = now.getTime();
  for (const rule of rules) {
    const inWindow = sent.filter((t) => t > now.getTime() - rule.perMs);
    if (inWindow.length >= rule.count) {
      // The count-th newest must leave the window first.
      const pivot = inWindow[rule.count - 1]!;
      allowed = Math.max(allowed, pivot + rule.perMs);
    }
  }
  return new Date(allowed);
}
