import { describe, expect, it } from "vitest";
import { createFixedClock } from "../clock.ts";
import type {
  AlertStatus,
  EscalationPolicy,
  EscalationPosition,
  EscalationState,
  TargetResolution,
} from "./model.ts";
import type { StepPlan } from "./plan.ts";
import {
  decideCohort,
  type EscalationStepPorts,
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

/**
 * An in-memory store of one cohort with the same compare-and-set rule as the database one: alert 1
 * starts at `initial`, more members with addMember.
 */
function createFakePorts(initial: EscalationState, alertStatus: AlertStatus = "triggered") {
  const clock = createFixedClock(t0);
  const members = new Map<number, { state: EscalationState; alertStatus: AlertStatus }>([
    [1, { state: initial, alertStatus }],
  ]);
  const committed: StepPlan[] = [];
  /** Per commit: which alerts each plan was recorded for. */
  const commits: { plan: StepPlan; alertIds: number[] }[][] = [];
  const finished: string[] = [];
  const resolved: string[][] = [];
  let pageSize = Number.POSITIVE_INFINITY;
  const same = (alertId: number, a: EscalationPosition) => {
    const m = members.get(alertId);
    return (
      m !== undefined &&
      m.state.status === "active" &&
      m.alertStatus === "triggered" &&
      a.stepIndex === m.state.stepIndex &&
      a.repeatCycle === m.state.repeatCycle
    );
  };
  /** Runs before the next commit or finish, as another execution would. */
  let interloper: (() => void) | undefined;
  const ports: EscalationStepPorts = {
    clock,
    load: async () => {
      const active = [...members]
        .filter(([, m]) => m.state.status === "active")
        .sort(([, x], [, y]) => (x.state.nextStepAt?.getTime() ?? 0) - (y.state.nextStepAt?.getTime() ?? 0))
        .map(([alertId, m]) => ({ alertId, policyId: policy.id, ...m }));
      return {
        members: active.slice(0, pageSize),
        policies: new Map([[policy.id, policy]]),
        truncated: active.length > pageSize,
      };
    },
    resolve: async (targets): Promise<TargetResolution[]> => {
      resolved.push(targets.map((t) => t.id));
      return targets.map((target) => ({
        target,
        recipients: [{ kind: "user", id: target.kind === "schedule" ? "alice" : target.id }],
      }));
    },
    commit: async (groups) => {
      interloper?.();
      interloper = undefined;
      const advanced = new Set<number>();
      const turn: { plan: StepPlan; alertIds: number[] }[] = [];
      for (const { plan, members: group } of groups) {
        const alertIds = group.filter((m) => same(m.alertId, m.from)).map((m) => m.alertId);
        if (alertIds.length > 0) committed.push(plan);
        turn.push({ plan, alertIds });
        for (const id of alertIds) {
          members.get(id)!.state = plan.next;
          advanced.add(id);
        }
      }
      commits.push(turn);
      return advanced;
    },
    finish: async (finishes) => {
      const done = new Set<number>();
      for (const f of finishes) {
        const m = members.get(f.alertId);
        if (m?.state.status !== "active" || m.state.stepIndex !== f.from.stepIndex) continue;
        finished.push(f.reason);
        m.state = { ...m.state, status: f.status, nextStepAt: null };
        done.add(f.alertId);
      }
      return done;
    },
  };
  return {
    ports,
    clock,
    committed,
    commits,
    finished,
    resolved,
    members,
    get state() {
      return members.get(1)!.state;
    },
    interfere(fn: () => void) {
      interloper = fn;
    },
    setState(s: EscalationState, alertId = 1) {
      members.get(alertId)!.state = s;
    },
    addMember(alertId: number, state: EscalationState, status: AlertStatus = "triggered") {
      members.set(alertId, { state, alertStatus: status });
    },
    pageOf(size: number) {
      pageSize = size;
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

    const outcome = await runEscalationStep(fake.ports, "alert-1");

    expect(outcome).toEqual({ done: false, nextStepAt: new Date(t0) });
    expect(fake.committed.map((p) => p.notifications.map((n) => n.recipient.id))).toEqual([["alice"]]);
    expect(fake.state).toMatchObject({ stepIndex: 1, nextStepAt: new Date(t0) });
  });

  it("answers the remaining wait, without notifying, when woken early", async () => {
    const fake = createFakePorts(active(1, "2026-11-27T12:00:03.000Z"));
    fake.clock.advance(1000);

    expect(await runEscalationStep(fake.ports, "alert-1")).toEqual({
      done: false,
      nextStepAt: new Date("2026-11-27T12:00:03.000Z"),
    });
    expect(fake.committed).toEqual([]);
  });

  it("ends after the last step", async () => {
    const fake = createFakePorts(active(1, t0));

    expect(await runEscalationStep(fake.ports, "alert-1")).toEqual({ done: true, nextStepAt: null });
    expect(fake.state.status).toBe("completed");
  });

  it("stops without notifying when the alert was acknowledged (a lost stop pages no one)", async () => {
    const fake = createFakePorts(active(1, t0), "acknowledged");

    expect(await runEscalationStep(fake.ports, "alert-1")).toEqual({ done: true, nextStepAt: null });
    expect(fake.committed).toEqual([]);
    expect(fake.finished).toEqual(["alert_acknowledged"]);
  });

  it("does not run a step that another run recorded in the meantime", async () => {
    const fake = createFakePorts(active(0, t0));
    // Another execution commits step 0 between our read and our write.
    fake.interfere(() => fake.setState(active(1, "2026-11-27T12:00:03.000Z")));

    const outcome = await runEscalationStep(fake.ports, "alert-1");

    expect(outcome).toEqual({ done: false, nextStepAt: new Date("2026-11-27T12:00:03.000Z") });
    expect(fake.committed).toEqual([]);
  });

  it("is done when the cohort has no active escalation", async () => {
    const fake = createFakePorts(active(0, t0));
    fake.ports.load = async () => ({ members: [], policies: new Map(), truncated: false });

    expect(await runEscalationStep(fake.ports, "alert-1")).toEqual({ done: true, nextStepAt: null });
  });
});

describe("runEscalationStep for a cohort", () => {
  it("runs the due step for every member: targets resolved once, one commit, one shared plan", async () => {
    const fake = createFakePorts(active(0, t0));
    for (const id of [2, 3, 4]) fake.addMember(id, active(0, t0));

    const outcome = await runEscalationStep(fake.ports, "cohort-1-0a1b2c3d");

    expect(outcome).toEqual({ done: false, nextStepAt: new Date(t0) });
    expect(fake.resolved).toEqual([["s1"]]);
    expect(fake.commits).toHaveLength(1);
    expect(fake.commits[0]!.map((g) => g.alertIds)).toEqual([[1, 2, 3, 4]]);
    for (const id of [1, 2, 3, 4]) expect(fake.members.get(id)!.state.stepIndex).toBe(1);
  });

  it("drops acknowledged members (no one notified for them) and goes on for the others", async () => {
    const fake = createFakePorts(active(1, t0));
    fake.addMember(2, active(1, t0), "acknowledged");
    fake.addMember(3, active(1, t0));

    const outcome = await runEscalationStep(fake.ports, "cohort-1-0a1b2c3d");

    expect(outcome).toEqual({ done: true, nextStepAt: null });
    expect(fake.commits[0]!.map((g) => g.alertIds)).toEqual([[1, 3]]);
    expect(fake.finished).toEqual(["alert_acknowledged"]);
    expect(fake.members.get(2)!.state.status).toBe("stopped");
    expect(fake.members.get(3)!.state.status).toBe("completed");
  });

  it("answers the earliest next step of the members that are not due yet", async () => {
    const fake = createFakePorts(active(1, "2026-11-27T12:00:09.000Z"));
    fake.addMember(2, active(1, "2026-11-27T12:00:05.000Z"));

    expect(await runEscalationStep(fake.ports, "cohort-1-0a1b2c3d")).toEqual({
      done: false,
      nextStepAt: new Date("2026-11-27T12:00:05.000Z"),
    });
    expect(fake.commits).toEqual([]);
  });

  it("records the step only for members still where they were read; reads again for the others", async () => {
    const fake = createFakePorts(active(0, t0));
    fake.addMember(2, active(0, t0));
    // Another run records step 0 of alert 2 between our read and our write.
    fake.interfere(() => fake.setState(active(1, "2026-11-27T12:00:03.000Z"), 2));

    const outcome = await runEscalationStep(fake.ports, "cohort-1-0a1b2c3d");

    expect(fake.commits[0]!.map((g) => g.alertIds)).toEqual([[1]]);
    // The second read finds alert 1 due (step 1 now, delay 0) and alert 2 due at +3 s.
    expect(fake.members.get(1)!.state.status).toBe("completed");
    expect(outcome).toEqual({ done: false, nextStepAt: new Date("2026-11-27T12:00:03.000Z") });
  });

  it("runs again at once when the cohort has more members than a page", async () => {
    const fake = createFakePorts(active(0, t0));
    fake.addMember(2, active(0, t0));
    fake.pageOf(1);

    expect(await runEscalationStep(fake.ports, "cohort-1-0a1b2c3d")).toEqual({
      done: false,
      nextStepAt: new Date(t0),
    });
    expect(fake.commits[0]!.map((g) => g.alertIds)).toEqual([[1]]);
  });
});

describe("decideCohort", () => {
  it("groups members due at the same position of the same policy; finishes and waits apart", () => {
    const now = new Date(t0);
    const member = (alertId: number, state: EscalationState, alertStatus: AlertStatus = "triggered") => ({
      alertId,
      policyId: policy.id,
      state,
      alertStatus,
    });
    const decision = decideCohort(
      [
        member(1, active(0, t0)),
        member(2, active(1, t0)),
        member(3, active(0, t0)),
        member(4, active(0, t0), "resolved"),
        member(5, active(1, "2026-11-27T12:01:00.000Z")),
        { ...member(6, active(0, t0)), policyId: "deleted" },
      ],
      new Map([[policy.id, policy]]),
      now,
    );

    expect(decision.due.map((d) => [d.position.stepIndex, d.members.map((m) => m.alertId)])).toEqual([
      [0, [1, 3]],
      [1, [2]],
    ]);
    expect(decision.finishes).toEqual([
      { alertId: 4, from: { stepIndex: 0, repeatCycle: 0 }, status: "stopped", reason: "alert_resolved" },
    ]);
    expect(decision.waits).toEqual([new Date("2026-11-27T12:01:00.000Z")]);
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
        recordFailure: async (executionName, error) => {
          seen.push({ executionName, error });
          return failures;
        },
      },
      "cohort-7-0a1b2c3d",
      { name: "TransientError", cause: "database unavailable" },
    );

    expect(outcome).toEqual({ done: false, nextStepAt: new Date(retryAt) });
    expect(seen).toEqual([
      {
        executionName: "cohort-7-0a1b2c3d",
        error: { name: "TransientError", cause: "database unavailable" },
      },
    ]);
  });

  it("ends the execution when the escalation is over", async () => {
    const outcome = await recordEscalationFailure(
      { clock: createFixedClock(t0), recordFailure: async () => undefined },
      "alert-7",
      { name: "Error", cause: "x" },
    );

    expect(outcome).toEqual({ done: true, nextStepAt: null });
  });
});
