import { describe, expect, it } from "vitest";
import { deeplyNested, rejectedField } from "../../../test/support/alert-fixtures.ts";
import { MAX_JSON_DEPTH } from "./limits.ts";
import {
  assertJsonLimits,
  fieldPath,
  LABEL_LIMITS,
  optionalId,
  optionalLink,
  optionalTimestamp,
  stringMap,
  truncate,
} from "./validate.ts";

describe("fieldPath", () => {
  const cases: [string, string | number, string][] = [
    ["", "alerts", "alerts"],
    ["alerts", 3, "alerts[3]"],
    ["alerts[3]", "labels", "alerts[3].labels"],
    ["labels", "app.kubernetes.io/name", 'labels["app.kubernetes.io/name"]'],
    ["", "tag name", '["tag name"]'],
    ["labels", "k".repeat(100), `labels["${"k".repeat(64)}…"]`],
  ];
  it.each(cases)("%j + %j → %s", (parent, key, expected) => {
    expect(fieldPath(parent, key)).toBe(expected);
  });
});

describe("assertJsonLimits", () => {
  const nestedArrays = (levels: number) => JSON.parse(`${"[".repeat(levels)}${"]".repeat(levels)}`);
  const rejected: [string, unknown, string][] = [
    ["10,000 nested objects", deeplyNested(10_000), `a${".a".repeat(MAX_JSON_DEPTH - 1)}`],
    ["100,000 nested arrays", nestedArrays(100_000), "[0]".repeat(MAX_JSON_DEPTH)],
    ["one level too deep", deeplyNested(MAX_JSON_DEPTH + 1), `a${".a".repeat(MAX_JSON_DEPTH - 1)}`],
    [
      "deep under a named field",
      { alerts: [{ labels: deeplyNested(50) }] },
      `alerts[0].labels${".a".repeat(MAX_JSON_DEPTH - 3)}`,
    ],
    ["NUL in a value", { summary: "a\u0000b" }, "summary"],
    ["NUL in a key", { labels: { "a\u0000": "x" } }, 'labels["a\\u0000"]'],
    ["lone surrogate", JSON.parse('{"summary":"\\ud800"}'), "summary"],
    ["NUL at the root", "\u0000", "body"],
  ];
  it.each(rejected)("rejects %s", (_name, value, field) => {
    expect(rejectedField(() => assertJsonLimits(value))).toBe(field);
  });

  const accepted: [string, unknown][] = [
    ["the deepest allowed", deeplyNested(MAX_JSON_DEPTH)],
    ["scalars", 1],
    ["emoji (a surrogate pair)", { summary: "🔥 disk" }],
    ["null", null],
  ];
  it.each(accepted)("accepts %s", (_name, value) => {
    expect(() => assertJsonLimits(value)).not.toThrow();
  });

  it("prefixes paths with the given field", () => {
    expect(rejectedField(() => assertJsonLimits({ x: "\u0000" }, "payload"))).toBe("payload.x");
  });
});

describe("stringMap", () => {
  const tooMany = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, "v"]));
  const rejected: [string, unknown, string][] = [
    ["a string", "team=db", "labels"],
    ["an array", ["team"], "labels"],
    ["10,000 labels", tooMany, "labels"],
    ["a number value", { team: 1 }, "labels.team"],
    ["a null value", { team: null }, "labels.team"],
    ["an object value", { team: { name: "db" } }, "labels.team"],
    ["a dotted key with a bad value", { "app.kubernetes.io/name": true }, 'labels["app.kubernetes.io/name"]'],
    ["an empty key", { "": "x" }, "labels"],
    ["a long key", { ["k".repeat(257)]: "x" }, `labels["${"k".repeat(64)}…"]`],
    ["a long value", { team: "x".repeat(4097) }, "labels.team"],
  ];
  it.each(rejected)("rejects %s", (_name, value, field) => {
    expect(rejectedField(() => stringMap(value, "labels", LABEL_LIMITS))).toBe(field);
  });

  it("keeps __proto__ as data", () => {
    const labels = stringMap(JSON.parse('{"__proto__":"x","team":"db"}'), "labels", LABEL_LIMITS);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.keys(labels)).toEqual(["__proto__", "team"]);
  });

  it.each([undefined, null])("reads %s as no labels", (value) => {
    expect(stringMap(value, "labels", LABEL_LIMITS)).toEqual({});
  });
});

describe("optionalTimestamp", () => {
  const accepted: [unknown, string | undefined][] = [
    ["2026-11-27T12:21:13.938671763Z", "2026-11-27T12:21:13.938Z"],
    ["2026-11-27T12:21:13Z", "2026-11-27T12:21:13.000Z"],
    ["2021-10-12T09:51:03.157076+02:00", "2021-10-12T07:51:03.157Z"],
    ["2015-07-17T08:42:58.315+0000", "2015-07-17T08:42:58.315Z"],
    ["2026-11-27t12:21:13.5z", "2026-11-27T12:21:13.500Z"],
    ["2026-11-27 12:00:00-05:30", "2026-11-27T17:30:00.000Z"],
    ["2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"],
    ["0050-01-01T00:00:00Z", "0050-01-01T00:00:00.000Z"],
    ["0001-01-01T00:00:00Z", undefined],
    ["", undefined],
    [undefined, undefined],
    [null, undefined],
  ];
  it.each(accepted)("%j → %s", (value, expected) => {
    expect(optionalTimestamp(value, "startsAt")?.toISOString()).toBe(expected);
  });

  it.each([
    "yesterday",
    "2026-11-27",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-11-31T00:00:00Z",
    "2026-11-27T24:00:00Z",
    "2026-11-27T12:60:00Z",
    "2026-11-27T12:00:60Z",
    1_700_000_000,
    {},
  ])("rejects %j", (value) => {
    expect(rejectedField(() => optionalTimestamp(value, "startsAt"))).toBe("startsAt");
  });
});

describe("optionalLink", () => {
  const cases: [unknown, string | undefined][] = [
    ["https://grafana.example.test/d/x", "https://grafana.example.test/d/x"],
    ["http://prometheus.local/graph", "http://prometheus.local/graph"],
    ["javascript:alert(1)", undefined],
    ["not a url", undefined],
    ["", undefined],
    [null, undefined],
  ];
  it.each(cases)("%j → %s", (href, expected) => {
    expect(optionalLink(href, "url", "Source")?.href).toBe(expected);
  });

  it.each([5, `https://x.test/${"a".repeat(8200)}`])("rejects %#", (href) => {
    expect(rejectedField(() => optionalLink(href, "generatorURL", "Source"))).toBe("generatorURL");
  });
});

describe("optionalId", () => {
  it.each([
    [1, "1"],
    ["abc", "abc"],
    [undefined, undefined],
    ["", undefined],
  ])("%j → %j", (value, expected) => {
    expect(optionalId(value, "ruleId")).toBe(expected);
  });

  it.each([1.5, {}, true, "x".repeat(65)])("rejects %#", (value) => {
    expect(rejectedField(() => optionalId(value, "ruleId"))).toBe("ruleId");
  });
});

describe("truncate", () => {
  it.each([
    ["short", 10, "short"],
    ["abcdefghij", 5, "abcd…"],
    ["abc😀def", 5, "abc…"],
  ])("%j to %i → %j", (text, max, expected) => {
    const cut = truncate(text, max);
    expect(cut).toBe(expected);
    expect(cut.length).toBeLessThanOrEqual(max);
    expect(cut.isWellFormed()).toBe(true);
  });
});
