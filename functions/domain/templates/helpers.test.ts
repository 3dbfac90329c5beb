import { describe, expect, it } from "vitest";
import { sampleContext } from "./context.ts";
import { compileTemplate, renderChannels } from "./render.ts";

// Every helper through a real compile (as templates use them), with the sample's fixed `now`
// (2026-11-29T09:30Z) and zone (Europe/Berlin).

const render = (source: string, kind: "alert" | "bundle" = "alert") => {
  const t = compileTemplate(kind, { sms: { text: source } });
  const [r] = renderChannels(t, t, sampleContext(kind), ["sms"]);
  if (r!.errors.length) throw new Error(r!.errors[0]!.message);
  return r!.parts[0]!.content;
};

describe("helpers", () => {
  const cases: [string, string][] = [
    ["{{formatTime alert.createdAt}}", "2026-11-29 10:12 GMT+1"],
    ['{{formatTime alert.createdAt "HH:mm" zone="America/New_York"}}', "04:12"],
    ['{{formatTime alert.createdAt "HH:mm" zone="Not/AZone"}}', "09:12"],
    ["{{formatTime alert.acknowledgedAt}}", ""],
    ["{{timeAgo alert.createdAt}}", "18 minutes ago"],
    ['{{timeAgo "2026-11-29T11:31:00Z"}} {{timeAgo "2025-11-28T09:30:00Z"}}', "in 2 hours 1 year ago"],
    ['{{timeAgo "2026-11-26T09:30:00Z"}} {{timeAgo "not a time"}}', "3 days ago "],
    ['{{formatTime alert.createdAt "d LLL HH:mm ZZZZ"}}', "29 Nov 10:12 GMT+1"],
    ['{{formatTime "2026-07-01T12:00:00Z" "HH:mm ZZZZ" zone="America/New_York"}}', "08:00 EDT"],
    ['{{formatTime "2026-07-01T12:00:00Z" "HH:mm \'h\' ZZZZ"}}', "14:00 h GMT+2"],
    ["{{truncate alert.summary 10}}", "High erro…"],
    ['{{truncate "🔥🔥🔥" 2}}', "🔥…"],
    ['{{upper alert.severity}} {{lower "ABC"}}', "CRITICAL abc"],
    ['{{default alert.acknowledgedAt "never"}} {{default alert.source "x"}}', "never alertmanager"],
    ['{{join escalation.notified " & "}}', "Bob Smith"],
    ['{{join alert.labels "/"}}', "HighErrorRate/payments-api/production/payments"],
    ["{{json alert.annotations}}", '{"runbook_url":"https://runbooks.example.com/payments/error-rate"}'],
    ['{{label alert.labels "team" "none"}} {{label alert.labels "owner" "none"}}', "payments none"],
    [
      '{{pluralize 1 "alert"}} {{pluralize 7 "alert"}} {{pluralize 2 "child" "children"}}',
      "alert alerts children",
    ],
    ['{{severityEmoji alert.severity}} {{severityEmoji "bogus"}}', "🔴 ⚪"],
    ['{{severityColor alert.severity}} {{severityColor alert.severity "teams"}}', "#D32F2F attention"],
  ];
  it.each(cases)("%s", (source, expected) => {
    expect(render(source)).toBe(expected);
  });

  it("counts from the context's now, not the wall clock", () => {
    expect(render("{{#each bundle.alerts}}{{timeAgo createdAt}};{{/each}}", "bundle")).toBe(
      "18 minutes ago;18 minutes ago;",
    );
  });
});
