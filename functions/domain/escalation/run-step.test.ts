import { describe, expect, it } from "vitest";
import { createFixedClock } from "../clock.ts";
import type { EscalationPolicy, EscalationPosition, EscalationState, TargetResolution } from "./model.ts";
import type { StepPlan } from "./plan.ts";
import {
  type EscalationStepPorts,
  type LoadedEscalation,
  recordEscalationFailure,
  runEscalationStep,
} from "./run-step.ts";

const t0 = "2026-11-27T12:00:00.000Z";
const policy: EscalationPolicy = {
  id: "p1",
  repeatCount: 0,
  steps: [
    { delaySeconds: 0, targets: [{ kind: "schedule", id: "s1" }] },
    { delaySeconds: 3, targets: [{ kind: "user", id: "manager" }] },
  ],
};

/** An in-memory store with the same compare-and-set rule as the database one. */
function createFakePorts(
  initial: EscalationState,
  alertStatus: LoadedEscalation["alertStatus"] = "triggered",
) {
  const clock = createFixedClock(t0);
  let state = initial;
  const committed: StepPlan[] = [];
  const finished: string[] = [];
  const same = (a: EscalationPosition) =>
    state.status === "active" && a.stepIndex === state.stepIndex && a.repeatCycle === state.repeatCycle;
  /** Runs before the next commit or finish, as another execution would. */
  let interloper: (() => void) | undefined;
  const ports: EscalationStepPorts = {
    clock,
    load: async () => ({ state, alertStatus, policy }),
    resolve: async (targets): Promise<TargetResolution[]> =>
      targets.map((target) => ({
        target,
        recipients: [{ kind: "user", id: target.kind === "schedule" ? "alice" : target.id }],
      })),
    commit: async (_alertId, from, plan) => {
      interloper?.();
      interloper = undefined;
      if (!same(from)) return false;
      committed.push(plan);
      state = plan.next;
      return true;
    },
    finish: async (_alertId, from, status, reason) => {
      if (!same(from)) return false;
      finished.push(reason);
      state = { ...state, status, nextStepAt: null };
      return true;
    },
  };
  return {
    ports,
    clock,
    committed,
    finished,
    get state() {
      return state;
    },
    interfere(fn: () => void) {
      interloper = fn;
    },
    setState(s: EscalationState) {
      state = s;
    },
  };
}

const active = (stepIndex: number, nextStepAt: string | null): EscalationState => ({
  status: "active",
  stepIndex,
  repeatCycle: 0,
  nextStepAt: nextStepAt === null ? null : new Date(nextStepAt),
});

describe("runEscalationStep", () => {
  it("runs the due step, records it and answers when the next one is due", async () => {
    const fake = createFakePorts(active(0, t0));

    const outcome = await runEscalationStep(fake.ports, 1);

    expect(outcome).toEqual({ done: false, nextStepAt: new Date(t0) });
    expect(fake.committed.map((p) => p.notifications.map((n) => n.recipient.id))).toEqual([["alice"]]);
    expect(fake.state).toMatchObject({ stepIndex: 1, nextStepAt: new Date(t0) });
  });

  it("answers the remaining wait, without notifying, when woken early", async () => {
    const fake = createFakePorts(active(1, "2026-11-27T12:00:03.000Z"));
    fake.clock.advance(1000);

    expect(await runEscalationStep(fake.ports, 1)).toEqual({
      done: false,
      nextStepAt: new Date("2026-11-27T12:00:03.000Z"),
    });
    expect(fake.committed).toEqual([]);
  });

  it("ends after the last step", async () => {
    const fake = createFakePorts(active(1, t0));

    expect(await runEscalationStep(fake.ports, 1)).toEqual({ done: true, nextStepAt: null });
    expect(fake.state.status).toBe("completed");
  });

  it("stops without notifying when the alert was acknowledged (a lost stop pages no one)", async () => {
    const fake = createFakePorts(active(1, t0), "acknowledged");

    expect(await runEscalationStep(fake.ports, 1)).toEqual({ done: true, nextStepAt: null });
    expect(fake.committed).toEqual([]);
    expect(fake.finished).toEqual(["alert_acknowledged"]);
  });

  it("does not run a step that another run recorded in the meantime", async () => {
    const fake = createFakePorts(active(0, t0));
    // Another execution commits step 0 between our read and our write.
    fake.interfere(() => fake.setState(active(1, "2026-11-27T12:00:03.000Z")));

    const outcome = await runEscalationStep(fake.ports, 1);

    expect(outcome).toEqual({ done: false, nextStepAt: new Date("2026-11-27T12:00:03.000Z") });
    expect(fake.committed).toEqual([]);
  });

  it("is done when the alert has no escalation", async () => {
    const fake = createFakePorts(active(0, t0));
    fake.ports.load = async () => undefined;

    expect(await runEscalationStep(fake.ports, 1)).toEqual({ done: true, nextStepAt: null });
  });
});

describe("recordEscalationFailure", () => {
  it.each([
    [1, "2026-11-27T12:00:30.000Z"],
    [3, "2026-11-27T12:02:00.000Z"],
  ])("after %i failures in a row, retries at %s", async (failures, retryAt) => {
    const clock = createFixedClock(t0);
    const seen: unknown[] = [];

    const outcome = await recordEscalationFailure(
      {
        clock,
        recordFailure: async (alertId, error) => {
          seen.push({ alertId, error });
          return failures;
        },
      },
      7,
      { name: "TransientError", cause: "database unavailable" },
    );

    expect(outcome).toEqual({ done: false, nextStepAt: new Date(retryAt) });
    expect(seen).toEqual([{ alertId: 7, error: { name: "TransientError", cause: "database unavailable" } }]);
  });

  it("ends the execution when the escalation is over", async () => {
    const outcome = await recordEscalationFailure(
      { clock: createFixedClock(t0), recordFailure: async () => undefined },
      7,
      { name: "Error", cause: "x" },
    );

    expect(outcome).toEqual({ done: true, nextStepAt: null });
  });
});
