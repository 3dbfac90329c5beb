import { describe, expect, it } from "vitest";
import { deeplyNested, fixture, rejectedField } from "../../../test/support/alert-fixtures.ts";
import type { AlertSignal } from "./alert-input.ts";
import { autoDedupKey } from "./dedup.ts";
import { MAX_JSON_DEPTH } from "./limits.ts";
import { parseGeneric } from "./parse-generic.ts";

const only = (body: unknown, options?: Parameters<typeof parseGeneric>[1]) => {
  const batch = parseGeneric(body, options);
  expect(batch.signals).toHaveLength(1);
  expect(batch.truncatedAlerts).toBe(0);
  return batch.signals[0]!;
};

describe("parseGeneric: real payloads", () => {
  it("parses the JSON fixture", () => {
    const body = fixture("generic-trigger");

    expect(only(body)).toEqual<AlertSignal>({
      action: "trigger",
      dedupKey: "gateway-health-eu-west",
      summary: "Payment gateway health check failing",
      details: "3 consecutive failures from eu-west probes",
      severity: "critical",
      labels: { service: "payment-gateway", region: "eu-west-1" },
      annotations: {},
      source: "generic",
      links: [],
      raw: body,
    });
  });

  it("parses the same alert posted as a GoAlert form", () => {
    const form = new URLSearchParams([
      ["summary", "Payment gateway health check failing"],
      ["details", "3 consecutive failures from eu-west probes"],
      ["dedup", "gateway-health-eu-west"],
      ["severity", "critical"],
      ["meta", "service=payment-gateway"],
      ["label", "region=eu-west-1"],
    ]);

    const signal = only(form);

    expect(signal).toMatchObject({
      action: "trigger",
      dedupKey: "gateway-health-eu-west",
      summary: "Payment gateway health check failing",
      severity: "critical",
      labels: { service: "payment-gateway", region: "eu-west-1" },
    });
  });
});

describe("parseGeneric: choices", () => {
  const actions: [unknown, string][] = [
    [undefined, "trigger"],
    ["", "trigger"],
    ["trigger", "trigger"],
    ["close", "resolve"],
    ["CLOSE", "resolve"],
    ["resolve", "resolve"],
    ["ack", "acknowledge"],
    ["acknowledge", "acknowledge"],
  ];
  it.each(actions)("action %j → %s", (action, expected) => {
    expect(only({ summary: "s", dedup: "d", action }).action).toBe(expected);
  });

  it("without dedup, dedups on summary and details as GoAlert does", () => {
    const first = only({ summary: "Disk full", details: "db-12" });
    const again = only(new URLSearchParams("summary=Disk+full&details=db-12"));
    const other = only({ summary: "Disk full", details: "db-13" });
    const close = only({ summary: "Disk full", details: "db-12", action: "close" });

    expect(first.dedupKey).toBe(autoDedupKey("Disk full", "db-12"));
    expect(again.dedupKey).toBe(first.dedupKey);
    expect(other.dedupKey).not.toBe(first.dedupKey);
    expect(close).toMatchObject({ action: "resolve", dedupKey: first.dedupKey });
  });

  it("closes by dedup without a summary", () => {
    expect(only({ dedup: "disk-check", action: "close" })).toMatchObject({
      action: "resolve",
      dedupKey: "disk-check",
      summary: "",
    });
  });

  const severities: [Record<string, unknown>, string][] = [
    [{ severity: "P2" }, "error"],
    [{ severity: "bogus", labels: { severity: "warn" } }, "warning"],
    [{ labels: { priority: "low" } }, "info"],
    [{}, "error"],
  ];
  it.each(severities)("severity of %j → %s", (fields, expected) => {
    expect(only({ summary: "s", ...fields }).severity).toBe(expected);
  });

  it("merges GoAlert meta into labels, labels winning", () => {
    const signal = only({
      summary: "s",
      meta: { a: "meta", b: "meta" },
      labels: { b: "label" },
      annotations: { x: "y" },
    });
    expect(signal.labels).toEqual({ a: "meta", b: "label" });
    expect(signal.annotations).toEqual({ x: "y" });
  });

  it("takes fields from the query string, the body winning", () => {
    const query = new URLSearchParams("token=secret&summary=from-query&dedup=q&severity=info&meta=env=prod");

    const signal = only({ summary: "from-body" }, { query });

    expect(signal).toMatchObject({
      summary: "from-body",
      dedupKey: "q",
      severity: "info",
      labels: { env: "prod" },
    });
    expect(JSON.stringify(signal.raw)).not.toContain("secret");
  });

  it("keeps credentials out of the raw payload", () => {
    const signal = only({ summary: "s", token: "secret", key: "secret", extra: 1 });
    expect(signal.raw).toEqual({ summary: "s", extra: 1 });
  });

  it("form: the first value of a repeated field wins, a value may contain '='", () => {
    const signal = only(new URLSearchParams("summary=a&summary=b&meta=query=x%3D1"));
    expect(signal).toMatchObject({ summary: "a", labels: { query: "x=1" } });
  });
});

describe("parseGeneric: bad input names the field", () => {
  const tenThousand = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, "v"]));
  const cases: [string, unknown, string][] = [
    ["a string body", "summary=x", "body"],
    ["an array body", [{ summary: "x" }], "body"],
    ["no summary", { details: "d" }, "summary"],
    ["a blank summary", { summary: "   " }, "summary"],
    ["a numeric summary", { summary: 5 }, "summary"],
    ["an oversize summary", { summary: "s".repeat(1025) }, "summary"],
    ["close without summary nor dedup", { action: "close" }, "summary"],
    ["trigger by dedup without summary", { dedup: "d" }, "summary"],
    ["oversize details", { summary: "s", details: "d".repeat(64 * 1024 + 1) }, "details"],
    ["object details", { summary: "s", details: { a: 1 } }, "details"],
    ["an unknown action", { summary: "s", action: "explode" }, "action"],
    ["a prototype action", { summary: "s", action: "constructor" }, "action"],
    ["a numeric action", { summary: "s", action: 1 }, "action"],
    ["a numeric dedup", { summary: "s", dedup: 1 }, "dedup"],
    ["an oversize dedup", { summary: "s", dedup: "d".repeat(256) }, "dedup"],
    ["a numeric severity", { summary: "s", severity: 1 }, "severity"],
    ["labels as a string", { summary: "s", labels: "a=b" }, "labels"],
    ["a numeric label value", { summary: "s", labels: { team: 1 } }, "labels.team"],
    ["10,000 labels", { summary: "s", labels: tenThousand }, "labels"],
    ["10,000 meta entries", { summary: "s", meta: tenThousand }, "meta"],
    [
      "labels and meta over the limit together",
      {
        summary: "s",
        labels: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, "v"])),
        meta: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, "v"])),
      },
      "labels",
    ],
    ["a numeric annotation", { summary: "s", annotations: { a: 1 } }, "annotations.a"],
    [
      "deep nesting",
      { summary: "s", labels: deeplyNested(10_000) },
      `labels${".a".repeat(MAX_JSON_DEPTH - 1)}`,
    ],
    ["a lone surrogate", JSON.parse('{"summary":"\\udc00"}'), "summary"],
    ["a form meta without '='", new URLSearchParams("summary=s&meta=novalue"), "meta"],
    ["a form summary with NUL", new URLSearchParams("summary=a%00b"), "summary"],
    ["a form with no summary", new URLSearchParams("details=d"), "summary"],
  ];
  it.each(cases)("rejects %s", (_name, body, field) => {
    expect(rejectedField(() => parseGeneric(body))).toBe(field);
  });
});
