import { describe, expect, it } from "vitest";
import { MAX_OVERLAPPING_OVERRIDES, MAX_UPCOMING_OVERRIDES, overrideCapProblem } from "./limits.ts";

describe("overrideCapProblem", () => {
  it.each([
    [0, 0, undefined],
    [MAX_OVERLAPPING_OVERRIDES - 1, MAX_UPCOMING_OVERRIDES - 1, undefined],
    [MAX_OVERLAPPING_OVERRIDES, 0, /overlapping this range; at most 50 may overlap/],
    [0, MAX_UPCOMING_OVERRIDES, /1000 overrides that have not ended/],
  ])("%d overlapping, %d upcoming", (overlapping, upcoming, expected) => {
    const problem = overrideCapProblem({ overlapping, upcoming });
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});
