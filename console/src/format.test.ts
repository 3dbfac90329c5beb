import { describe, expect, it } from "vitest";
import { parseLabels, relative } from "./format.ts";

describe("label filter", () => {
  it.each([
    ["team=db", { team: "db" }],
    [" team = db , env=prod ", { team: "db", env: "prod" }],
    ["", {}],
    ["a=b=c", { a: "b=c" }],
    ["team", undefined],
    ["=db", undefined],
  ])("%j → %j", (text, labels) => {
    expect(parseLabels(text)).toEqual(labels);
  });
});

describe("relative time", () => {
  const now = Date.UTC(2026, 10, 29, 12);
  it.each([
    [now - 30_000, "less than a minute ago"],
    [now - 5 * 60_000, "5 min ago"],
    [now + 3 * 3_600_000, "in 3 h"],
    [now + 5 * 86_400_000, "in 5 days"],
  ])("%i → %s", (at, text) => {
    expect(relative(new Date(at), now)).toBe(text);
  });
});
