import { describe, expect, it } from "vitest";
import type { AlertStatus, EscalationPolicy, EscalationState, TargetResolution } from "./model.ts";
import { decide, failureRetryDelaySeconds, MAX_RECIPIENTS_PER_STEP, MAX_WAIT_MS, planStep } from "./plan.ts";

const now = new Date("2026-11-27T12:00:00.000Z");
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);

// Step 0: the primary schedule, then 60 s; step 1: a manager and a channel, then 300 s. One repeat.
const policy: EscalationPolicy = {
  id: "p1",
  repeatCount: 1,
  steps: [
    { delaySeconds: 60, targets: [{ kind: "schedule", id: "s1" }] },
    {
      delaySeconds: 300,
      targets: [
        { kind: "user", id: "manager" },
        { kind: "channel", id: "c1" },
      ],
    },
  ],
};

const state = (stepIndex: number, repeatCycle: number, nextStepAt: Date | null = now): EscalationState => ({
  status: "active",
  stepIndex,
  repeatCycle,
  nextStepAt,
});

describe("decide", () => {
  it.each<[string, EscalationPolicy, EscalationState, AlertStatus, ReturnType<typeof decide>]>([
    [
      "a due first step runs",
      policy,
      state(0, 0),
      "triggered",
      { action: "run", position: state(0, 0), step: policy.steps[0]! },
    ],
    [
      "a step due in the past runs (late after a restart)",
      policy,
      state(1, 0, at(-30)),
      "triggered",
      {
        action: "run",
        position: state(1, 0, at(-30)),
        step: policy.steps[1]!,
      },
    ],
    [
      "a step not due yet waits until it is",
      policy,
      state(1, 0, at(3)),
      "triggered",
      { action: "wait", until: at(3) },
    ],
    [
      "a far step waits at most a week per run",
      policy,
      state(1, 0, at(30 * 86400)),
      "triggered",
      {
        action: "wait",
        until: new Date(now.getTime() + MAX_WAIT_MS),
      },
    ],
    [
      "an acknowledged alert stops, even when a step is due",
      policy,
      state(1, 0),
      "acknowledged",
      {
        action: "finish",
        status: "stopped",
        reason: "alert_acknowledged",
      },
    ],
    [
      "a resolved alert stops",
      policy,
      state(0, 0, at(60)),
      "resolved",
      { action: "finish", status: "stopped", reason: "alert_resolved" },
    ],
    [
      "a stopped escalation has nothing to do",
      policy,
      { ...state(1, 0), status: "stopped" },
      "triggered",
      { action: "done" },
    ],
    [
      "a completed escalation has nothing to do",
      policy,
      { ...state(2, 1, null), status: "completed" },
      "triggered",
      {
        action: "done",
      },
    ],
    [
      "a policy that lost steps starts the next pass",
      policy,
      state(5, 0),
      "triggered",
      {
        action: "run",
        position: { stepIndex: 0, repeatCycle: 1 },
        step: policy.steps[0]!,
      },
    ],
    [
      "a policy that lost steps in its last pass completes",
      policy,
      state(5, 1),
      "triggered",
      {
        action: "finish",
        status: "completed",
        reason: "policy_exhausted",
      },
    ],
    [
      "a policy without steps runs one empty step",
      { ...policy, steps: [] },
      state(0, 0),
      "triggered",
      {
        action: "run",
        position: state(0, 0),
        step: { delaySeconds: 0, targets: [] },
      },
    ],
    [
      "a policy without steps completes after it",
      { ...policy, steps: [] },
      state(1, 0),
      "triggered",
      {
        action: "finish",
        status: "completed",
        reason: "policy_exhausted",
      },
    ],
  ])("%s", (_, p, s, alertStatus, expected) => {
    expect(decide(p, s, alertStatus, now)).toEqual(expected);
  });
});

const onCall = (id: string, ...users: string[]): TargetResolution => ({
  target: { kind: "schedule", id },
  recipients: users.map((u) => ({ kind: "user", id: u })),
  ...(users.length === 0 ? { problem: "no_one_on_call" as const } : {}),
});

describe("planStep", () => {
  it.each<[string, EscalationPolicy, number, number, EscalationState]>([
    ["step 0 → step 1 after its delay", policy, 0, 0, state(1, 0, at(60))],
    ["the last step → the next pass, after the last step's delay", policy, 1, 0, state(0, 1, at(300))],
    [
      "the last step of the last pass → completed at once",
      policy,
      1,
      1,
      { status: "completed", stepIndex: 2, repeatCycle: 1, nextStepAt: null },
    ],
    [
      "no repeat: the last step completes",
      { ...policy, repeatCount: 0 },
      1,
      0,
      { status: "completed", stepIndex: 2, repeatCycle: 0, nextStepAt: null },
    ],
    [
      "a manual extra pass beyond the repeat count completes after its last step",
      policy,
      1,
      2,
      { status: "completed", stepIndex: 2, repeatCycle: 2, nextStepAt: null },
    ],
    [
      "a 0 s delay makes the next step due now",
      { ...policy, steps: [{ delaySeconds: 0, targets: [] }, policy.steps[1]!] },
      0,
      0,
      state(1, 0, now),
    ],
  ])("next state: %s", (_, p, stepIndex, repeatCycle, next) => {
    expect(planStep(p, { stepIndex, repeatCycle }, [onCall("s1", "alice")], now).next).toEqual(next);
  });

  it("notifies each distinct recipient once, with every target that named them", () => {
    const plan = planStep(
      policy,
      { stepIndex: 0, repeatCycle: 0 },
      [
        onCall("s1", "alice", "bob"),
        { target: { kind: "user", id: "alice" }, recipients: [{ kind: "user", id: "alice" }] },
        { target: { kind: "channel", id: "c1" }, recipients: [{ kind: "channel", id: "c1" }] },
      ],
      now,
    );

    expect(plan.notifications).toEqual([
      {
        recipient: { kind: "user", id: "alice" },
        reason: {
          stepIndex: 0,
          repeatCycle: 0,
          via: [
            { kind: "schedule", id: "s1" },
            { kind: "user", id: "alice" },
          ],
        },
      },
      {
        recipient: { kind: "user", id: "bob" },
        reason: { stepIndex: 0, repeatCycle: 0, via: [{ kind: "schedule", id: "s1" }] },
      },
      {
        recipient: { kind: "channel", id: "c1" },
        reason: { stepIndex: 0, repeatCycle: 0, via: [{ kind: "channel", id: "c1" }] },
      },
    ]);
    expect(plan.event).toEqual({
      type: "escalated",
      message: "Step 1 of 2, pass 1 of 2: notified user alice, user bob, channel c1",
      data: {
        policyId: "p1",
        stepIndex: 0,
        repeatCycle: 0,
        notified: [
          { kind: "user", id: "alice" },
          { kind: "user", id: "bob" },
          { kind: "channel", id: "c1" },
        ],
        unresolved: [],
      },
    });
  });

  it("records a step with no one to notify, naming why, and still moves on", () => {
    const plan = planStep(
      policy,
      { stepIndex: 0, repeatCycle: 0 },
      [onCall("s1"), { target: { kind: "rotation", id: "r1" }, recipients: [], problem: "not_found" }],
      now,
    );

    expect(plan.notifications).toEqual([]);
    expect(plan.event).toEqual({
      type: "no_one_to_notify",
      message:
        "Step 1 of 2, pass 1 of 2: no one to notify (schedule s1: no one on call; rotation r1: not found)",
      data: {
        policyId: "p1",
        stepIndex: 0,
        repeatCycle: 0,
        notified: [],
        unresolved: [
          { kind: "schedule", id: "s1", problem: "no_one_on_call" },
          { kind: "rotation", id: "r1", problem: "not_found" },
        ],
      },
    });
    expect(plan.next).toEqual(state(1, 0, at(60)));
  });

  it("lists the targets that gave no one beside those notified", () => {
    const plan = planStep(
      policy,
      { stepIndex: 0, repeatCycle: 0 },
      [onCall("s1", "alice"), onCall("s2")],
      now,
    );

    expect(plan.event.type).toBe("escalated");
    expect(plan.event.data.unresolved).toEqual([{ kind: "schedule", id: "s2", problem: "no_one_on_call" }]);
  });

  it.each([
    [MAX_RECIPIENTS_PER_STEP, 0],
    [MAX_RECIPIENTS_PER_STEP + 1, 1],
    [3001, 3001 - MAX_RECIPIENTS_PER_STEP],
  ])("caps a step resolving to %d recipients and records the %d left out on the alert", (count, left) => {
    const users = Array.from({ length: count }, (_, i) => `u${i}`);
    const plan = planStep(policy, { stepIndex: 0, repeatCycle: 0 }, [onCall("s1", ...users)], now);

    expect(plan.notifications).toHaveLength(Math.min(count, MAX_RECIPIENTS_PER_STEP));
    expect(plan.notifications.at(-1)?.recipient.id).toBe(`u${Math.min(count, MAX_RECIPIENTS_PER_STEP) - 1}`);
    if (left === 0) {
      expect(plan.event.data.overCap).toBeUndefined();
    } else {
      expect(plan.event.data.overCap).toEqual({ limit: MAX_RECIPIENTS_PER_STEP, notNotified: left });
      expect(plan.event.message).toMatch(
        new RegExp(
          `; ${left} more recipients? not notified \\(at most ${MAX_RECIPIENTS_PER_STEP} per step\\)$`,
        ),
      );
    }
  });

  it("records a step without targets as no one to notify", () => {
    const plan = planStep({ ...policy, steps: [] }, { stepIndex: 0, repeatCycle: 0 }, [], now);

    expect(plan.event.message).toBe("Step 1 of 1, pass 1 of 2: no one to notify (the step has no targets)");
    expect(plan.next).toEqual({ status: "completed", stepIndex: 1, repeatCycle: 0, nextStepAt: null });
  });
});

describe("failureRetryDelaySeconds", () => {
  it.each([
    [0, 30],
    [1, 30],
    [2, 60],
    [3, 120],
    [4, 240],
    [5, 300],
    [1000, 300],
  ])("after %i failures in a row: %i s", (failures, seconds) => {
    expect(failureRetryDelaySeconds(failures)).toBe(seconds);
  });
});
