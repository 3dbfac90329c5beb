import { describe, expect, it } from "vitest";
import { nextAllowedAt, THROTTLE_LOOKBACK_MS, THROTTLE_RULES } from "./throttle.ts";

// The per-destination caps as a table with a fixed clock: when the next message to a number, an
// address or a URL may go, given when the previous ones went.

const now = new Date("2026-11-29T10:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const inSeconds = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();

describe("nextAllowedAt", () => {
  it.each([
    ["nothing sent", "sms", [], inSeconds(0)],
    ["an SMS 61 s ago", "sms", [61], inSeconds(0)],
    ["an SMS 60 s ago (the window is open at its end)", "sms", [60], inSeconds(0)],
    ["an SMS 10 s ago", "sms", [10], inSeconds(50)],
    ["an email 59 s ago", "email", [59], inSeconds(1)],
    // 5 in 15 minutes: the fifth-newest must leave the 15-minute window.
    ["4 SMS in 15 minutes, the last 2 minutes ago", "sms", [120, 300, 500, 700], inSeconds(0)],
    ["5 SMS in 15 minutes, the oldest 14 minutes ago", "sms", [120, 300, 500, 700, 840], inSeconds(60)],
    [
      "5 SMS, the newest 30 s ago: the later of the two rules",
      "sms",
      [30, 300, 400, 500, 600],
      inSeconds(300),
    ],
    ["6 SMS, one of them outside 15 minutes", "sms", [120, 300, 500, 700, 840, 1000], inSeconds(60)],
    ["5 Slack messages in a minute", "slack_webhook", [5, 10, 20, 30, 40], inSeconds(0)],
    ["6 Slack messages in a minute", "slack_webhook", [5, 10, 20, 30, 40, 50], inSeconds(10)],
    ["6 Teams messages in a minute", "teams_webhook", [1, 2, 3, 4, 5, 6], inSeconds(54)],
    ["19 webhook posts in a minute", "webhook", Array.from({ length: 19 }, (_, i) => i + 1), inSeconds(0)],
    ["20 webhook posts in a minute", "webhook", Array.from({ length: 20 }, (_, i) => i + 1), inSeconds(40)],
  ] as const)("%s → %s", (_what, kind, secondsAgo, expected) => {
    expect(nextAllowedAt(THROTTLE_RULES[kind], secondsAgo.map(ago), now).toISOString()).toBe(expected);
  });

  it("does not depend on the order of the sent times", () => {
    const sent = [840, 120, 700, 300, 500].map(ago);
    expect(nextAllowedAt(THROTTLE_RULES.sms, sent, now).toISOString()).toBe(inSeconds(60));
  });

  it("reads back far enough for the longest window", () => {
    expect(THROTTLE_LOOKBACK_MS).toBe(15 * 60_000);
  });
});
