import { describe, expect, it } from "vitest";
import {
  cohortExecutionName,
  EXECUTION_NAME_PATTERN,
  executionNameFor,
  type ManualEscalationContext,
  planManualEscalation,
} from "./log.ts";
import type { EscalationState } from "./model.ts";

const at = new Date("2026-11-27T12:00:00Z");
const escalation = (state: Partial<EscalationState>): NonNullable<ManualEscalationContext["current"]> => ({
  status: "active",
  stepIndex: 1,
  repeatCycle: 0,
  nextStepAt: at,
  policyId: "p-current",
  executionName: "alert-7",
  ...state,
});

describe("planManualEscalation", () => {
  it.each<[string, ManualEscalationContext, unknown]>([
    [
      "an active escalation: its pending step, now, in a new execution",
      { alertStatus: "triggered", policyId: "p-service", current: escalation({}) },
      {
        outcome: "escalated",
        policyId: "p-current",
        position: { stepIndex: 1, repeatCycle: 0 },
        executionName: "alert-7-c0-s1",
        previousExecutionName: "alert-7",
      },
    ],
    [
      "a completed escalation: one more pass from step 0",
      {
        alertStatus: "triggered",
        policyId: "p-service",
        current: escalation({ status: "completed", stepIndex: 2, repeatCycle: 1, nextStepAt: null }),
      },
      { outcome: "escalated", position: { stepIndex: 0, repeatCycle: 2 }, executionName: "alert-7-c2-s0" },
    ],
    [
      "no escalation yet: step 0 of the service's policy, under the first execution name",
      { alertStatus: "triggered", policyId: "p-service", current: undefined },
      {
        outcome: "escalated",
        policyId: "p-service",
        position: { stepIndex: 0, repeatCycle: 0 },
        executionName: "alert-7",
        previousExecutionName: null,
      },
    ],
    [
      "no escalation and no policy",
      { alertStatus: "triggered", policyId: null, current: undefined },
      { outcome: "no_policy" },
    ],
    [
      "an acknowledged alert",
      { alertStatus: "acknowledged", policyId: "p-service", current: escalation({ status: "stopped" }) },
      { outcome: "not_triggered", alertStatus: "acknowledged" },
    ],
  ])("%s", (_name, context, expected) => {
    expect(planManualEscalation(7, context)).toMatchObject(expected as object);
  });

  it("logs who escalated and which step runs, counting from 1", () => {
    const plan = planManualEscalation(7, {
      alertStatus: "triggered",
      policyId: null,
      current: escalation({}),
    });
    expect(plan).toMatchObject({
      log: {
        type: "escalated_manually",
        message: "Escalated by hand: step 2, pass 1 runs now",
        data: { stepIndex: 1, repeatCycle: 0 },
      },
    });
  });

  it("names executions so that asking twice starts one", () => {
    expect(executionNameFor(42)).toBe("alert-42");
    expect(executionNameFor(42, { stepIndex: 3, repeatCycle: 1 })).toBe("alert-42-c1-s3");
  });

  it.each<[number[], string]>([
    [[42], "alert-42"],
    [[12, 10, 11], "cohort-10-3f2a9c1b"],
  ])("names the cohort of alerts %j %s (a lone alert keeps its own name)", (ids, name) => {
    expect(cohortExecutionName(ids, "3f2a9c1b")).toBe(name);
    expect(EXECUTION_NAME_PATTERN.test(name)).toBe(true);
  });

  it("gives the longest cohort name room within Step Functions' 80 characters", () => {
    const name = cohortExecutionName([Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1], "3f2a9c1b");
    expect(EXECUTION_NAME_PATTERN.test(name)).toBe(true);
    expect(EXECUTION_NAME_PATTERN.test("alert 42")).toBe(false);
  });
});
