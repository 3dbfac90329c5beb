import { describe, expect, it } from "vitest";
import { deeplyNested, fixture, rejectedField } from "../../../test/support/alert-fixtures.ts";
import type { AlertSignal } from "./alert-input.ts";
import { MAX_ALERTS_PER_REQUEST, MAX_JSON_DEPTH } from "./limits.ts";
import { parseAlertmanager } from "./parse-alertmanager.ts";

/** The firing fixture with its single entry changed by `patch`. */
function firingWith(patch: Record<string, unknown>, entryIndex = 0) {
  const body = fixture("alertmanager-v4-firing");
  const alerts = body.alerts!;
  while (alerts.length <= entryIndex) alerts.push(structuredClone(alerts[0]!));
  Object.assign(alerts[entryIndex]!, patch);
  return body;
}

function labelsWith(patch: Record<string, unknown>) {
  return { ...(fixture("alertmanager-v4-firing").alerts![0]!.labels as object), ...patch };
}

describe("parseAlertmanager: real payloads", () => {
  it("parses the firing fixture into one trigger keyed by fingerprint", () => {
    const body = fixture("alertmanager-v4-firing");

    const batch = parseAlertmanager(body);

    expect(batch.truncatedAlerts).toBe(0);
    expect(batch.groupKey).toBe('{}:{alertname="DiskFull", team="db"}');
    expect(batch.signals).toEqual<AlertSignal[]>([
      {
        action: "trigger",
        dedupKey: "dda347d465921b7c",
        summary: "Disk 95% full on db-12",
        details: "http://prometheus.local/graph",
        severity: "critical",
        labels: { alertname: "DiskFull", instance: "db-12", severity: "critical", team: "db" },
        annotations: { runbook_url: "https://runbooks.local/disk", summary: "Disk 95% full on db-12" },
        source: "alertmanager",
        startsAt: new Date("2026-11-27T12:21:13.938Z"),
        links: [
          { href: "http://prometheus.local/graph", text: "Source" },
          { href: "https://runbooks.local/disk", text: "Runbook" },
        ],
        raw: body.alerts![0],
      },
    ]);
    expect(batch.signals[0]).not.toHaveProperty("endsAt");
  });

  it("parses the resolved fixture into a resolve with its end time", () => {
    const [signal] = parseAlertmanager(fixture("alertmanager-v4-resolved")).signals;

    expect(signal).toMatchObject({
      action: "resolve",
      dedupKey: "ae017ed1c69a0b64",
      summary: "p99 > 2s",
      severity: "warning",
      startsAt: new Date("2026-11-27T12:21:13Z"),
      endsAt: new Date("2026-11-27T12:21:19Z"),
    });
  });

  it("makes one signal per entry, never one per group", () => {
    const body = firingWith({ fingerprint: "0000000000000002", status: "resolved" }, 2);
    body.truncatedAlerts = 7;

    const batch = parseAlertmanager(body);

    expect(batch.signals.map((s) => [s.dedupKey, s.action])).toEqual([
      ["dda347d465921b7c", "trigger"],
      ["dda347d465921b7c", "trigger"],
      ["0000000000000002", "resolve"],
    ]);
    expect(batch.truncatedAlerts).toBe(7);
  });

  it("accepts the maximum number of alerts", () => {
    const body = firingWith({}, MAX_ALERTS_PER_REQUEST - 1);
    expect(parseAlertmanager(body).signals).toHaveLength(MAX_ALERTS_PER_REQUEST);
  });
});

describe("parseAlertmanager: choices", () => {
  const base = { alertname: "DiskFull", instance: "db-12" };
  const summaries: [string, Record<string, unknown>, string][] = [
    ["annotations.summary", { annotations: { summary: "  Disk full  " } }, "Disk full"],
    ["alertname on instance", { annotations: {}, labels: base }, "DiskFull on db-12"],
    ["blank summary falls back", { annotations: { summary: "  " }, labels: base }, "DiskFull on db-12"],
    ["alertname alone", { annotations: {}, labels: { alertname: "Watchdog" } }, "Watchdog"],
    ["the label set", { annotations: {}, labels: { job: "node", env: "prod" } }, '{job="node", env="prod"}'],
    ["the dedup key", { annotations: {}, labels: {}, fingerprint: "abc" }, "Alert abc"],
    [
      "a long composed summary is cut",
      { annotations: {}, labels: { alertname: "A".repeat(1000), instance: "i".repeat(1000) } },
      `${"A".repeat(1000)} on ${"i".repeat(19)}…`,
    ],
  ];
  it.each(summaries)("summary from %s", (_name, patch, expected) => {
    expect(parseAlertmanager(firingWith(patch)).signals[0]!.summary).toBe(expected);
  });

  const severities: [Record<string, string>, string][] = [
    [{ severity: "page" }, "critical"],
    [{ severity: "bogus", priority: "P3" }, "warning"],
    [{ priority: "high" }, "error"],
    [{}, "error"],
  ];
  it.each(severities)("severity from labels %j → %s", (labels, expected) => {
    expect(parseAlertmanager(firingWith({ labels })).signals[0]!.severity).toBe(expected);
  });

  const dedupKeys: [string, Record<string, unknown>, string][] = [
    [
      "missing fingerprint → Alertmanager's own fingerprint of the labels",
      { fingerprint: undefined },
      "dda347d465921b7c",
    ],
    ["blank fingerprint → the same", { fingerprint: " " }, "dda347d465921b7c"],
    ["the summary never matters", { annotations: { summary: "other" } }, "dda347d465921b7c"],
  ];
  it.each(dedupKeys)("%s", (_name, patch, expected) => {
    expect(parseAlertmanager(firingWith(patch)).signals[0]!.dedupKey).toBe(expected);
  });

  it("puts the description before the generator URL in details", () => {
    const body = firingWith({ annotations: { description: "Only 5% left.\nClean up /var." } });
    expect(parseAlertmanager(body).signals[0]!.details).toBe(
      "Only 5% left.\nClean up /var.\n\nhttp://prometheus.local/graph",
    );
  });

  it("drops links that are not http(s)", () => {
    const body = firingWith({
      generatorURL: "javascript:alert(1)",
      annotations: { runbook_url: "file:///etc" },
    });
    const [signal] = parseAlertmanager(body).signals;
    expect(signal!.links).toEqual([]);
    expect(signal!.details).toBe("");
  });

  it("omits groupKey when the sender does", () => {
    const body = fixture("alertmanager-v4-firing");
    delete body.groupKey;
    expect(parseAlertmanager(body)).not.toHaveProperty("groupKey");
  });
});

describe("parseAlertmanager: bad input names the field", () => {
  const tenThousandLabels = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`label_${i}`, "v"]));
  const withTop = (patch: Record<string, unknown>) => ({ ...fixture("alertmanager-v4-firing"), ...patch });
  const alerts = (n: number) => Array.from({ length: n }, () => fixture("alertmanager-v4-firing").alerts![0]);

  const cases: [string, unknown, string][] = [
    ["a string body", "hello", "body"],
    ["an array body", [], "body"],
    ["a null body", null, "body"],
    ["no version", withTop({ version: undefined }), "version"],
    ["a numeric version", withTop({ version: 4 }), "version"],
    ["version 3", withTop({ version: "3" }), "version"],
    ["no alerts", withTop({ alerts: undefined }), "alerts"],
    ["alerts as an object", withTop({ alerts: {} }), "alerts"],
    ["empty alerts[]", withTop({ alerts: [] }), "alerts"],
    ["too many alerts", withTop({ alerts: alerts(MAX_ALERTS_PER_REQUEST + 1) }), "alerts"],
    ["an alert that is a string", withTop({ alerts: ["x"] }), "alerts[0]"],
    ["a negative truncatedAlerts", withTop({ truncatedAlerts: -1 }), "truncatedAlerts"],
    ["a string truncatedAlerts", withTop({ truncatedAlerts: "0" }), "truncatedAlerts"],
    ["a numeric groupKey", withTop({ groupKey: 5 }), "groupKey"],
    ["an unknown status", firingWith({ status: "pending" }), "alerts[0].status"],
    ["no status", firingWith({ status: undefined }), "alerts[0].status"],
    ["labels as a string", firingWith({ labels: "team=db" }), "alerts[0].labels"],
    ["labels as an array", firingWith({ labels: [["team", "db"]] }), "alerts[0].labels"],
    ["10,000 labels", firingWith({ labels: tenThousandLabels }), "alerts[0].labels"],
    ["a numeric label value", firingWith({ labels: labelsWith({ team: 42 }) }), "alerts[0].labels.team"],
    ["a null label value", firingWith({ labels: labelsWith({ team: null }) }), "alerts[0].labels.team"],
    [
      "a boolean value under a dotted name",
      firingWith({ labels: labelsWith({ "app.kubernetes.io/name": true }) }),
      'alerts[0].labels["app.kubernetes.io/name"]',
    ],
    [
      "an oversize label value",
      firingWith({ labels: labelsWith({ team: "x".repeat(4097) }) }),
      "alerts[0].labels.team",
    ],
    ["a bad label in the second alert", firingWith({ labels: { team: 1 } }, 1), "alerts[1].labels.team"],
    ["annotations as a string", firingWith({ annotations: "x" }), "alerts[0].annotations"],
    ["a numeric annotation", firingWith({ annotations: { summary: 5 } }), "alerts[0].annotations.summary"],
    [
      "an oversize summary",
      firingWith({ annotations: { summary: "s".repeat(1025) } }),
      "alerts[0].annotations.summary",
    ],
    [
      "an oversize description",
      firingWith({ annotations: { description: "d".repeat(16 * 1024 + 1) } }),
      "alerts[0].annotations.description",
    ],
    ["a numeric fingerprint", firingWith({ fingerprint: 123 }), "alerts[0].fingerprint"],
    ["an oversize fingerprint", firingWith({ fingerprint: "f".repeat(256) }), "alerts[0].fingerprint"],
    ["a bad startsAt", firingWith({ startsAt: "yesterday" }), "alerts[0].startsAt"],
    ["a numeric endsAt", firingWith({ endsAt: 0 }), "alerts[0].endsAt"],
    ["a numeric generatorURL", firingWith({ generatorURL: 5 }), "alerts[0].generatorURL"],
    ["NUL in a label", firingWith({ labels: labelsWith({ team: "d\u0000b" }) }), "alerts[0].labels.team"],
    [
      "10,000 levels of nesting in labels",
      firingWith({ labels: deeplyNested(10_000) }),
      `alerts[0].labels${".a".repeat(MAX_JSON_DEPTH - 3)}`,
    ],
    [
      "deep nesting in an unknown field",
      withTop({ extra: deeplyNested(10_000) }),
      `extra${".a".repeat(MAX_JSON_DEPTH - 1)}`,
    ],
  ];
  it.each(cases)("rejects %s", (_name, body, field) => {
    expect(rejectedField(() => parseAlertmanager(body))).toBe(field);
  });

  it("checks nesting before anything else", () => {
    const body = { version: "3", alerts: deeplyNested(100) };
    expect(rejectedField(() => parseAlertmanager(body))).toMatch(/^alerts\.a/);
  });
});
