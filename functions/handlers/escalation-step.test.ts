import { beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { describeEachDatabase } from "../../test/support/databases.ts";
import { seedPolicy, seedRotation, seedSchedule } from "../../test/support/seed-oncall.ts";
import { openDatabase } from "../adapters/db/database.ts";
import { applySignals } from "../adapters/db/stores/alert-signals.ts";
import { acknowledgeAlert } from "../adapters/db/stores/alerts.ts";
import { listNotifications, loadEscalation, openEscalations } from "../adapters/db/stores/escalations.ts";
import { createService } from "../adapters/db/stores/services.ts";
import { createFixedClock } from "../domain/clock.ts";
import { createEscalationFailureHandler } from "./escalation-failure.ts";
import { createEscalationStepHandler } from "./escalation-step.ts";

const t0 = "2026-11-27T12:00:00.000Z"; // a Friday; rotation week 47 since 2026-01-05: participant 46 % 2 = 0
const at = (seconds: number) => new Date(new Date(t0).getTime() + seconds * 1000).toISOString();

describeEachDatabase("escalation task handlers", (suite) => {
  const db = () => suite.handle.db;
  const clock = createFixedClock(t0);
  let runStep: ReturnType<typeof createEscalationStepHandler>;
  let recordFailure: ReturnType<typeof createEscalationFailureHandler>;
  let serviceId: string;
  let scheduleId: string;
  let rotationId: string;

  beforeEach(async () => {
    clock.set(t0);
    runStep = createEscalationStepHandler({ db: db(), clock });
    recordFailure = createEscalationFailureHandler({ db: db(), clock });
    await db().deleteFrom("services").execute();
    await db().deleteFrom("escalation_policies").execute();
    await db().deleteFrom("schedules").execute();
    await db().deleteFrom("rotations").execute();
    rotationId = await seedRotation(db(), ["alice", "bob"]);
    scheduleId = await seedSchedule(db(), { rotationId });
  });

  async function alertOn(steps: Parameters<typeof seedPolicy>[1], options: { repeatCount?: number } = {}) {
    const policyId = await seedPolicy(db(), steps, options);
    serviceId = (await createService(db(), {
      name: "s",
      description: "",
      escalationPolicyId: policyId,
      now: new Date(t0),
    }))!.id;
    const {
      results: [result],
    } = await applySignals(db(), {
      serviceId,
      actor: "integration_key:test",
      now: new Date(t0),
      signals: [
        {
          action: "trigger",
          dedupKey: "k",
          summary: "disk full",
          details: "",
          severity: "error",
          source: "generic",
          labels: {},
          annotations: {},
        },
      ],
    });
    const alertId = result!.alertId!;
    await openEscalations(db(), { alertIds: [alertId], policyId, now: new Date(t0) });
    return alertId;
  }

  /** The task input of the execution that walks the alert (a cohort of one). */
  const cohortOf = (alertId: number) => ({ executionName: `alert-${alertId}` });

  const loggedTypes = async (alertId: number) =>
    (
      await db()
        .selectFrom("alert_events")
        .select("type")
        .where("alert_id", "=", alertId)
        .orderBy("id")
        .execute()
    ).map((e) => e.type);

  it("walks the policy: the schedule's on-call user now, the next user after the delay, then done", async () => {
    const alertId = await alertOn([
      { delaySeconds: 0, targets: [{ kind: "schedule", id: scheduleId }] },
      { delaySeconds: 3, targets: [{ kind: "user", id: "manager" }] },
    ]);

    const first = await runStep(cohortOf(alertId));
    const second = await runStep(cohortOf(alertId)); // step 1 waits 0 s: step 2 is due at once

    expect(first).toEqual({ done: false, nextStepAt: at(0) });
    expect(second).toEqual({ done: true, nextStepAt: null });
    expect(
      (await listNotifications(db(), alertId)).map((n) => [n.stepIndex, n.targetKind, n.targetId, n.reason]),
    ).toEqual([
      [0, "user", "alice", { stepIndex: 0, repeatCycle: 0, via: [{ kind: "schedule", id: scheduleId }] }],
      [1, "user", "manager", { stepIndex: 1, repeatCycle: 0, via: [{ kind: "user", id: "manager" }] }],
    ]);
    expect(await loggedTypes(alertId)).toEqual([
      "created",
      "escalation_started",
      "escalated",
      "escalated",
      "escalation_completed",
    ]);
  });

  it("answers the remaining wait without notifying when woken before the step is due", async () => {
    const alertId = await alertOn([
      { delaySeconds: 3, targets: [{ kind: "rotation", id: rotationId }] },
      { delaySeconds: 0, targets: [{ kind: "user", id: "manager" }] },
    ]);

    expect(await runStep(cohortOf(alertId))).toEqual({ done: false, nextStepAt: at(3) });
    clock.advance(1000);
    expect(await runStep(cohortOf(alertId))).toEqual({ done: false, nextStepAt: at(3) });
    clock.advance(2000);
    expect(await runStep(cohortOf(alertId))).toEqual({ done: true, nextStepAt: null });
    expect((await listNotifications(db(), alertId)).map((n) => n.targetId)).toEqual(["alice", "manager"]);
  });

  it("records a step with no one to notify and goes on to the next", async () => {
    const empty = await seedSchedule(db(), null);
    const alertId = await alertOn([
      {
        delaySeconds: 0,
        targets: [
          { kind: "schedule", id: empty },
          { kind: "rotation", id: "00000000-0000-4000-8000-000000000000" },
        ],
      },
      { delaySeconds: 0, targets: [{ kind: "user", id: "manager" }] },
    ]);

    const policyId = (await loadEscalation(db(), alertId))?.escalation.policyId;
    await runStep(cohortOf(alertId));
    await runStep(cohortOf(alertId));

    const events = await db()
      .selectFrom("alert_events")
      .select(["type", "message", "data"])
      .where("alert_id", "=", alertId)
      .where("type", "in", ["no_one_to_notify", "escalated"])
      .orderBy("id")
      .execute();
    expect(events).toEqual([
      {
        type: "no_one_to_notify",
        message: `Step 1 of 2, pass 1 of 1: no one to notify (schedule ${empty}: no one on call; rotation 00000000-0000-4000-8000-000000000000: not found)`,
        data: {
          policyId,
          stepIndex: 0,
          repeatCycle: 0,
          notified: [],
          unresolved: [
            { kind: "schedule", id: empty, problem: "no_one_on_call" },
            { kind: "rotation", id: "00000000-0000-4000-8000-000000000000", problem: "not_found" },
          ],
        },
      },
      expect.objectContaining({
        type: "escalated",
        data: expect.objectContaining({ policyId, stepIndex: 1 }),
      }),
    ]);
    expect(policyId).toEqual(expect.any(String));
    expect((await listNotifications(db(), alertId)).map((n) => n.targetId)).toEqual(["manager"]);
  });

  it("notifies no one once the alert is acknowledged, and ends", async () => {
    const alertId = await alertOn([{ delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] }]);
    await acknowledgeAlert(db(), { id: alertId, actor: "admin", now: new Date(t0) });

    expect(await runStep(cohortOf(alertId))).toEqual({ done: true, nextStepAt: null });
    expect(await listNotifications(db(), alertId)).toEqual([]);
    expect((await loadEscalation(db(), alertId))?.escalation.status).toBe("stopped");
  });

  it("repeats the policy, waiting the last step's delay between passes", async () => {
    const alertId = await alertOn([{ delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] }], {
      repeatCount: 1,
    });

    expect(await runStep(cohortOf(alertId))).toEqual({ done: false, nextStepAt: at(60) });
    clock.advance(60_000);
    expect(await runStep(cohortOf(alertId))).toEqual({ done: true, nextStepAt: null });
    expect((await listNotifications(db(), alertId)).map((n) => [n.repeatCycle, n.targetId])).toEqual([
      [0, "alice"],
      [1, "alice"],
    ]);
  });

  it("records a caught failure and answers when to try again", async () => {
    const alertId = await alertOn([{ delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] }]);

    const first = await recordFailure({ ...cohortOf(alertId), error: { Error: "Error", Cause: "boom" } });
    const second = await recordFailure({
      ...cohortOf(alertId),
      error: {
        Error: "TypeError",
        Cause: JSON.stringify({ errorType: "TypeError", errorMessage: "x is undefined", trace: ["at y"] }),
      },
    });

    expect(first).toEqual({ done: false, nextStepAt: at(30) });
    expect(second).toEqual({ done: false, nextStepAt: at(60) });
    expect((await loadEscalation(db(), alertId))?.escalation.lastError).toBe("TypeError: x is undefined");
  });

  it("is done, without recording, when a failure comes after the escalation ended", async () => {
    const alertId = await alertOn([{ delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] }]);
    await runStep(cohortOf(alertId));

    expect(await recordFailure({ ...cohortOf(alertId), error: { Error: "Error", Cause: "late" } })).toEqual({
      done: true,
      nextStepAt: null,
    });
  });

  it("runs one step for every alert of a cohort, and drops an acknowledged one", async () => {
    const first = await alertOn([
      { delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] },
      { delaySeconds: 0, targets: [{ kind: "user", id: "bob" }] },
    ]);
    const more = await applySignals(db(), {
      serviceId,
      actor: "integration_key:test",
      now: new Date(t0),
      signals: ["k2", "k3"].map((dedupKey) => ({
        action: "trigger" as const,
        dedupKey,
        summary: "disk full",
        details: "",
        severity: "error" as const,
        source: "generic",
        labels: {},
        annotations: {},
      })),
    });
    const others = more.results.map((r) => r.alertId!);
    const { policyId } = (await loadEscalation(db(), first))!.escalation;
    await db().deleteFrom("alert_escalations").execute();
    const ids = [first, ...others];
    await openEscalations(db(), { alertIds: ids, policyId, executionName: "cohort-k", now: new Date(t0) });

    expect(await runStep({ executionName: "cohort-k" })).toEqual({ done: false, nextStepAt: at(60) });
    await acknowledgeAlert(db(), { id: others[0]!, actor: "admin", now: new Date(t0) });
    clock.set(at(60));
    expect(await runStep({ executionName: "cohort-k" })).toEqual({ done: true, nextStepAt: null });

    const notified = async (id: number) => (await listNotifications(db(), id)).map((n) => n.targetId);
    expect(await notified(first)).toEqual(["alice", "bob"]);
    expect(await notified(others[0]!)).toEqual(["alice"]);
    expect(await notified(others[1]!)).toEqual(["alice", "bob"]);
    expect((await loadEscalation(db(), others[0]!))?.escalation.status).toBe("stopped");
  });

  it("takes the one-alert input of executions started before cohorts", async () => {
    const alertId = await alertOn([{ delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] }]);

    expect(await runStep({ alertId })).toEqual({ done: true, nextStepAt: null });
    expect((await listNotifications(db(), alertId)).map((n) => n.targetId)).toEqual(["alice"]);
    expect(await runStep({ alertId: 999_999 })).toEqual({ done: true, nextStepAt: null });
  });

  it.each([
    [{}],
    [{ alertId: "1" }],
    [{ alertId: -1 }],
    [null],
    [{ executionName: "" }],
    [{ executionName: "has space" }],
    [{ executionName: 7 }],
    [{ executionName: "x".repeat(81) }],
  ])("refuses the input %j by name", async (input) => {
    await expect(runStep(input)).rejects.toMatchObject({ name: "EscalationInputError" });
    await expect(recordFailure(input)).rejects.toMatchObject({ name: "EscalationInputError" });
  });
});

describe("escalation task handlers without a database", () => {
  it("report an unreachable database as TransientError, which the state machine retries", async () => {
    // Nothing listens on port 1: every query fails with ECONNREFUSED.
    const handle = await openDatabase({ kind: "postgres", url: "postgres://oncall@127.0.0.1:1/oncall" });
    onTestFinished(() => handle.close());
    const runStep = createEscalationStepHandler({ db: handle.db, clock: createFixedClock(t0) });
    const recordFailure = createEscalationFailureHandler({ db: handle.db, clock: createFixedClock(t0) });

    await expect(runStep({ alertId: 1 })).rejects.toMatchObject({ name: "TransientError" });
    await expect(recordFailure({ alertId: 1, error: { Error: "X", Cause: "y" } })).rejects.toMatchObject({
      name: "TransientError",
    });
  });
});
