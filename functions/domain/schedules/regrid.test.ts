import { describe, expect, it } from "vitest";
import { changeRotation } from "./regrid.ts";
import { type Rotation, rotationShiftAt } from "./rotation.ts";

const at = (iso: string) => new Date(iso);

// Daily at 09:00 UTC from 1 March: a, b, c, a, …
const daily: Rotation = {
  participants: ["a", "b", "c"],
  shiftLength: { count: 1, unit: "day" },
  start: at("2026-03-01T09:00:00Z"),
  timeZone: "UTC",
};

describe("changeRotation", () => {
  it.each<[string, Rotation, Partial<Rotation>, string, Rotation["anchor"]]>([
    [
      "the grid unchanged keeps no anchor",
      daily,
      { participants: ["a", "b", "c"] },
      "2026-03-02T12:00:00Z",
      undefined,
    ],
    [
      "the grid unchanged keeps the anchor",
      { ...daily, anchor: { index: 2, at: at("2026-03-02T09:00:00Z") } },
      {},
      "2026-03-02T12:00:00Z",
      { index: 2, at: at("2026-03-02T09:00:00Z") },
    ],
    [
      "a new shift length keeps the one on call (b, day 2) from now",
      daily,
      { shiftLength: { count: 12, unit: "hour" } },
      "2026-03-02T12:00:00Z",
      { index: 1, at: at("2026-03-02T12:00:00Z"), previousIndex: 1 },
    ],
    [
      "a change at a handoff names who was on before",
      daily,
      { timeZone: "Europe/Berlin" },
      "2026-03-02T09:00:00Z",
      { index: 1, at: at("2026-03-02T09:00:00Z"), previousIndex: 0 },
    ],
    [
      "a start still ahead starts over",
      daily,
      { start: at("2026-04-01T09:00:00Z") },
      "2026-03-02T12:00:00Z",
      undefined,
    ],
    [
      "before the old start no one was on",
      daily,
      { start: at("2026-02-01T09:00:00Z") },
      "2026-02-15T00:00:00Z",
      undefined,
    ],
  ])("%s", (_, current, change, now, anchor) => {
    const next = changeRotation(current, { ...current, anchor: undefined, ...change }, at(now));
    expect(next.anchor).toEqual(anchor);
  });

  it("keeps the person on call on call across a change of grid", () => {
    const now = at("2026-03-02T12:00:00Z");
    const next = changeRotation(daily, { ...daily, shiftLength: { count: 12, unit: "hour" } }, now);
    expect(rotationShiftAt(next, now)?.userId).toBe(rotationShiftAt(daily, now)?.userId);
  });
});
