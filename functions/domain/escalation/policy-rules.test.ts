import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { checkPolicy, checkRepeatCount, checkSteps, type PolicyShape } from "./policy-rules.ts";

const step = (delaySeconds: number, targets = 1) => ({ delaySeconds, targets: Array(targets).fill("t") });

function error(fn: () => void): { field: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return { field: e.field, message: e.message };
  }
}

describe("checkPolicy", () => {
  it.each<[string, PolicyShape, "steps" | "repeat_count", string | undefined]>([
    ["no repeat, no delay", { repeatCount: 0, steps: [step(0), step(0)] }, "steps", undefined],
    [
      "repeat with a minute after every step",
      { repeatCount: 3, steps: [step(60), step(300)] },
      "steps",
      undefined,
    ],
    [
      "repeat with a quick step, steps changed",
      { repeatCount: 1, steps: [step(60), step(59)] },
      "steps",
      "policy.steps[1].delay_seconds",
    ],
    [
      "repeat with a quick step, repeat changed",
      { repeatCount: 1, steps: [step(0)] },
      "repeat_count",
      "policy.repeat_count",
    ],
    ["500 target pages", { repeatCount: 9, steps: [step(60, 50)] }, "steps", undefined],
    [
      "501 target pages",
      { repeatCount: 0, steps: Array.from({ length: 11 }, () => step(0, 50)) },
      "steps",
      "policy.steps",
    ],
    [
      "20 passes × 20 steps × 50 targets",
      { repeatCount: 20, steps: Array.from({ length: 20 }, () => step(60, 50)) },
      "repeat_count",
      "policy.repeat_count",
    ],
  ])("%s", (_, policy, changed, field) => {
    expect(error(() => checkPolicy(policy, "policy.", changed))?.field).toBe(field);
  });

  it("says what the rule is", () => {
    expect(error(() => checkPolicy({ repeatCount: 2, steps: [step(0)] }, "", "steps"))?.message).toBe(
      "steps[0].delay_seconds: a policy that repeats waits at least 60 seconds after every step (repeat_count is 2)",
    );
  });
});

describe("checkSteps and checkRepeatCount", () => {
  it.each<[string, () => void, string | undefined]>([
    ["a valid step", () => checkSteps([step(0)], ""), undefined],
    ["a negative delay", () => checkSteps([step(-1)], ""), "steps[0].delay_seconds"],
    ["a step without targets", () => checkSteps([step(0, 0)], ""), "steps[0].targets"],
    ["51 targets", () => checkSteps([step(0, 51)], ""), "steps[0].targets"],
    [
      "21 steps",
      () =>
        checkSteps(
          Array.from({ length: 21 }, () => step(0)),
          "",
        ),
      "steps",
    ],
    ["repeat 20", () => checkRepeatCount(20, "repeat_count"), undefined],
    ["repeat 21", () => checkRepeatCount(21, "repeat_count"), "repeat_count"],
  ])("%s", (_, fn, field) => {
    expect(error(fn)?.field).toBe(field);
  });
});
