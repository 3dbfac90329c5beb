import { describe, expect, it } from "vitest";
import { deeplyNested, fixture, rejectedField } from "../../../test/support/alert-fixtures.ts";
import type { AlertSignal } from "./alert-input.ts";
import { MAX_JSON_DEPTH } from "./limits.ts";
import { parseGrafana } from "./parse-grafana.ts";

/** Grafana's documented legacy alerting webhook body. */
function legacy(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dashboardId: 1,
    evalMatches: [
      { value: 100, metric: "High value", tags: null },
      { value: 200, metric: "Higher Value", tags: null },
    ],
    imageUrl: "https://grafana.example.test/render/panel.png",
    message: "Notification Message",
    orgId: 1,
    panelId: 2,
    ruleId: 1,
    ruleName: "Panel Title alert",
    ruleUrl: "http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1",
    state: "alerting",
    tags: { "tag name": "tag value" },
    title: "[Alerting] Panel Title alert",
    ...patch,
  };
}

describe("parseGrafana: unified alerting", () => {
  it("parses the fixture into one signal per alert", () => {
    const body = fixture("grafana-unified-firing");

    const batch = parseGrafana(body);

    expect(batch.groupKey).toBe('{}:{team="payments"}');
    expect(batch.truncatedAlerts).toBe(0);
    expect(batch.signals).toEqual<AlertSignal[]>([
      {
        action: "trigger",
        dedupKey: "5f1e0a9b3c7d2e41",
        summary: "Checkout 5xx rate above 5% for 5m",
        details:
          "Error rate is 7.4% on checkout-api\n\nValues: A=0.074, B=1\n\nhttps://grafana.example.test/alerting/grafana/ab12cd34/view",
        severity: "critical",
        labels: {
          alertname: "CheckoutErrorRate",
          team: "payments",
          severity: "critical",
          grafana_folder: "Payments",
        },
        annotations: {
          summary: "Checkout 5xx rate above 5% for 5m",
          description: "Error rate is 7.4% on checkout-api",
          runbook_url: "https://runbooks.example.test/checkout-5xx",
        },
        source: "grafana",
        startsAt: new Date("2026-11-27T10:15:00Z"),
        links: [
          { href: "https://grafana.example.test/alerting/grafana/ab12cd34/view", text: "Source" },
          {
            href: "https://grafana.example.test/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DCheckoutErrorRate",
            text: "Silence",
          },
          { href: "https://grafana.example.test/d/checkout", text: "Dashboard" },
          { href: "https://grafana.example.test/d/checkout?viewPanel=4", text: "Panel" },
          { href: "https://runbooks.example.test/checkout-5xx", text: "Runbook" },
        ],
        raw: body.alerts![0],
      },
      {
        action: "trigger",
        dedupKey: "0c4d9e2f8a6b1357",
        summary: "Checkout p99 latency above 2s",
        details: "Values: A=2.31\n\nhttps://grafana.example.test/alerting/grafana/ef56ab78/view",
        severity: "warning",
        labels: { alertname: "CheckoutLatencyP99", team: "payments", severity: "warning" },
        annotations: { summary: "Checkout p99 latency above 2s" },
        source: "grafana",
        startsAt: new Date("2026-11-27T10:16:00Z"),
        links: [{ href: "https://grafana.example.test/alerting/grafana/ef56ab78/view", text: "Source" }],
        raw: body.alerts![1],
      },
    ]);
  });

  it("resolves a resolved alert", () => {
    const body = fixture("grafana-unified-firing");
    Object.assign(body.alerts![1]!, { status: "resolved", endsAt: "2026-11-27T10:20:00Z" });

    const [, signal] = parseGrafana(body).signals;

    expect(signal).toMatchObject({
      action: "resolve",
      dedupKey: "0c4d9e2f8a6b1357",
      endsAt: new Date("2026-11-27T10:20:00Z"),
    });
  });

  it("ignores values it cannot show", () => {
    const body = fixture("grafana-unified-firing");
    Object.assign(body.alerts![1]!, { values: null });
    expect(parseGrafana(body).signals[1]!.details).toBe(
      "https://grafana.example.test/alerting/grafana/ef56ab78/view",
    );
  });
});

describe("parseGrafana: legacy alerting", () => {
  it("parses the documented legacy body", () => {
    const body = legacy();

    const batch = parseGrafana(body);

    expect(batch).toEqual({
      truncatedAlerts: 0,
      signals: [
        {
          action: "trigger",
          dedupKey: "grafana-legacy/org/1/dashboard/1/panel/2/rule/1",
          summary: "Panel Title alert",
          details: `Notification Message\n\nHigh value: 100\nHigher Value: 200\n\n${body.ruleUrl}`,
          severity: "error",
          labels: { "tag name": "tag value", alertname: "Panel Title alert" },
          annotations: {},
          source: "grafana",
          links: [
            { href: body.ruleUrl, text: "Alert rule" },
            { href: "https://grafana.example.test/render/panel.png", text: "Image" },
          ],
          raw: body,
        },
      ],
    });
  });

  const actions: [string, string | undefined][] = [
    ["alerting", "trigger"],
    ["no_data", "trigger"],
    ["ok", "resolve"],
    ["paused", undefined],
    ["pending", undefined],
  ];
  it.each(actions)("state %s → %s", (state, action) => {
    const { signals } = parseGrafana(legacy({ state }));
    expect(signals.map((s) => s.action)).toEqual(action ? [action] : []);
  });

  const keys: [string, Record<string, unknown>, string][] = [
    [
      "ok resolves the same key",
      { state: "ok", title: "[OK] Panel Title alert" },
      "grafana-legacy/org/1/dashboard/1/panel/2/rule/1",
    ],
    [
      "no ruleId: the rule name",
      { ruleId: undefined },
      "grafana-legacy/org/1/dashboard/1/panel/2/rule-name/Panel Title alert",
    ],
    [
      "string ids",
      { orgId: "7", ruleId: "42", dashboardId: null, panelId: undefined },
      "grafana-legacy/org/7/rule/42",
    ],
  ];
  it.each(keys)("dedup key: %s", (_name, patch, expected) => {
    expect(parseGrafana(legacy(patch)).signals[0]!.dedupKey).toBe(expected);
  });

  const more: [string, Record<string, unknown>, Partial<AlertSignal>][] = [
    [
      "summary from title without ruleName",
      { ruleName: undefined },
      { summary: "[Alerting] Panel Title alert" },
    ],
    [
      "summary from ruleId alone",
      { ruleName: undefined, title: undefined },
      { summary: "Grafana alert rule 1" },
    ],
    ["severity from tags", { tags: { priority: "P1" } }, { severity: "critical" }],
    ["an alertname tag is kept", { tags: { alertname: "Disk" } }, { labels: { alertname: "Disk" } }],
    [
      "no message nor matches",
      { message: undefined, evalMatches: null, ruleUrl: undefined },
      { details: "" },
    ],
  ];
  it.each(more)("%s", (_name, patch, expected) => {
    expect(parseGrafana(legacy(patch)).signals[0]).toMatchObject(expected);
  });

  it("shows at most 20 eval matches", () => {
    const evalMatches = Array.from({ length: 25 }, (_, i) => ({ metric: `m${i}`, value: i }));
    const { details } = parseGrafana(legacy({ evalMatches, message: undefined, ruleUrl: undefined }))
      .signals[0]!;
    expect(details.split("\n")).toHaveLength(21);
    expect(details.endsWith("m19: 19\n… and 5 more")).toBe(true);
  });
});

describe("parseGrafana: bad input names the field", () => {
  const unified = (patch: Record<string, unknown>) => ({ ...fixture("grafana-unified-firing"), ...patch });
  const unifiedEntry = (patch: Record<string, unknown>) => {
    const body = fixture("grafana-unified-firing");
    Object.assign(body.alerts![1]!, patch);
    return body;
  };
  const cases: [string, unknown, string][] = [
    ["a string body", "x", "body"],
    ["neither format", { receiver: "oncall" }, "alerts"],
    ["unified version 2", unified({ version: "2" }), "version"],
    ["unified without version", unified({ version: undefined }), "version"],
    ["empty alerts[]", unified({ alerts: [] }), "alerts"],
    ["alerts as a string", unified({ alerts: "x" }), "alerts"],
    ["a numeric label in the second alert", unifiedEntry({ labels: { team: 1 } }), "alerts[1].labels.team"],
    ["a numeric silenceURL", unifiedEntry({ silenceURL: 1 }), "alerts[1].silenceURL"],
    [
      "an oversize summary",
      unifiedEntry({ annotations: { summary: "s".repeat(1025) } }),
      "alerts[1].annotations.summary",
    ],
    [
      "deep nesting in values",
      unifiedEntry({ values: deeplyNested(10_000) }),
      `alerts[1].values${".a".repeat(MAX_JSON_DEPTH - 3)}`,
    ],
    ["legacy unknown state", legacy({ state: "firing" }), "state"],
    ["legacy without state", legacy({ state: undefined }), "state"],
    ["legacy without ruleName and ruleId", legacy({ ruleName: undefined, ruleId: undefined }), "ruleName"],
    ["legacy object ruleId", legacy({ ruleId: {} }), "ruleId"],
    ["legacy fractional panelId", legacy({ panelId: 1.5 }), "panelId"],
    ["legacy non-string tag", legacy({ tags: { "tag name": 5 } }), 'tags["tag name"]'],
    [
      "legacy 10,000 tags",
      legacy({ tags: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`t${i}`, "v"])) }),
      "tags",
    ],
    ["legacy evalMatches as an object", legacy({ evalMatches: {} }), "evalMatches"],
    ["legacy evalMatch that is a number", legacy({ evalMatches: [1] }), "evalMatches[0]"],
    ["legacy numeric message", legacy({ message: 1 }), "message"],
    ["legacy oversize ruleName", legacy({ ruleName: "r".repeat(1025) }), "ruleName"],
    [
      "legacy rule name too long for a key",
      legacy({ ruleId: undefined, ruleName: "r".repeat(300) }),
      "ruleName",
    ],
    ["legacy numeric ruleUrl", legacy({ ruleUrl: 5 }), "ruleUrl"],
    [
      "legacy deep nesting",
      legacy({ evalMatches: deeplyNested(10_000) }),
      `evalMatches${".a".repeat(MAX_JSON_DEPTH - 1)}`,
    ],
  ];
  it.each(cases)("rejects %s", (_name, body, field) => {
    expect(rejectedField(() => parseGrafana(body))).toBe(field);
  });
});
