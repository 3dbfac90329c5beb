import { describe, expect, it } from "vitest";
import {
  DEFAULT_SEVERITY,
  normalizeSeverity,
  type Severity,
  severityFrom,
  severityFromLabels,
} from "./severity.ts";

describe("normalizeSeverity", () => {
  const cases: [unknown, Severity | undefined][] = [
    ["critical", "critical"],
    ["CRIT", "critical"],
    [" Fatal ", "critical"],
    ["emergency", "critical"],
    ["page", "critical"],
    ["P1", "critical"],
    ["sev1", "critical"],
    ["high", "error"],
    ["Error", "error"],
    ["err", "error"],
    ["major", "error"],
    ["p2", "error"],
    ["warning", "warning"],
    ["WARN", "warning"],
    ["minor", "warning"],
    ["medium", "warning"],
    ["p3", "warning"],
    ["info", "info"],
    ["informational", "info"],
    ["low", "info"],
    ["none", "info"],
    ["ok", "info"],
    ["p4", "info"],
    ["P5", "info"],
    ["bogus", undefined],
    ["", undefined],
    ["constructor", undefined],
    [undefined, undefined],
    [null, undefined],
    [1, undefined],
  ];
  it.each(cases)("%j → %s", (value, expected) => {
    expect(normalizeSeverity(value)).toBe(expected);
  });
});

describe("severityFrom", () => {
  const cases: [string, unknown[], Severity][] = [
    ["first recognised wins", ["warning", "critical"], "warning"],
    ["skips unrecognised values", ["disastrous", "p1"], "critical"],
    ["skips absent values", [undefined, "info"], "info"],
    ["falls back to the default", [undefined, "bogus"], DEFAULT_SEVERITY],
    ["falls back with nothing", [], DEFAULT_SEVERITY],
  ];
  it.each(cases)("%s", (_name, candidates, expected) => {
    expect(severityFrom(candidates)).toBe(expected);
  });

  it("the documented default is error", () => {
    expect(DEFAULT_SEVERITY).toBe("error");
  });
});

describe("severityFromLabels", () => {
  const cases: [Record<string, string>, Severity][] = [
    [{ severity: "critical", priority: "p4" }, "critical"],
    [{ priority: "P3" }, "warning"],
    [{ severity: "unknown", priority: "high" }, "error"],
    [{ team: "db" }, "error"],
  ];
  it.each(cases)("%j → %s", (labels, expected) => {
    expect(severityFromLabels(labels)).toBe(expected);
  });
});
