import { describe, expect, it } from "vitest";
import { fixture } from "../../../test/support/alert-fixtures.ts";
import { autoDedupKey, labelsFingerprint } from "./dedup.ts";

describe("labelsFingerprint", () => {
  it.each(["alertmanager-v4-firing", "alertmanager-v4-resolved"] as const)(
    "equals the fingerprint Alertmanager sent in %s",
    (name) => {
      const [entry] = fixture(name).alerts!;
      expect(labelsFingerprint(entry!.labels as Record<string, string>)).toBe(entry!.fingerprint);
    },
  );

  const cases: [string, Record<string, string>, string][] = [
    ["empty label set (FNV-1a offset basis)", {}, "cbf29ce484222325"],
    [
      "order of keys does not matter",
      { team: "db", alertname: "DiskFull" },
      labelsFingerprint({ alertname: "DiskFull", team: "db" }),
    ],
  ];
  it.each(cases)("%s", (_name, labels, expected) => {
    expect(labelsFingerprint(labels)).toBe(expected);
  });

  it("differs when a value differs", () => {
    expect(labelsFingerprint({ a: "1" })).not.toBe(labelsFingerprint({ a: "2" }));
  });
});

describe("autoDedupKey", () => {
  it("is stable, prefixed, and sensitive to both parts and their boundary", () => {
    const key = autoDedupKey("Disk full", "db-12");
    expect(key).toMatch(/^auto:[0-9a-f]{64}$/);
    expect(autoDedupKey("Disk full", "db-12")).toBe(key);
    expect(autoDedupKey("Disk full", "db-13")).not.toBe(key);
    expect(autoDedupKey("ab", "c")).not.toBe(autoDedupKey("a", "bc"));
  });
});
