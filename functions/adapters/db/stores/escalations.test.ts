import { sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import { seedPolicy } from "../../../../test/support/seed-oncall.ts";
import type { OwedEffect } from "../../../domain/alerts/lifecycle.ts";
import {
  type EscalationPosition,
  executionNameFor,
  planManualEscalation,
  planStep,
  type StepPlan,
} from "../../../domain/escalation/index.ts";
import { completeEffects } from "./alert-effects.ts";
import { applySignals } from "./alert-signals.ts";
import { acknowledgeAlert } from "./alerts.ts";
import {
  applyManualEscalation,
  commitCohortStep,
  countActiveMembers,
  findActiveEscalations,
  findActiveExecutionsAfter,
  findStrandedEscalations,
  finishCohortMembers,
  listNotifications,
  loadCohort,
  loadEscalation,
  loadManualEscalationContext,
  openEscalations,
  recordCohortFailure,
  rehomeStrandedEscalations,
  stopEscalations,
} from "./escalations.ts";
import { createService } from "./services.ts";

const t0 = new Date("2026-11-27T12:00:00.000Z");
const seconds = (n: number) => new Date(t0.getTime() + n * 1000);

const steps = [
  { delaySeconds: 0, targets: [{ kind: "user" as const, id: "alice" }] },
  { delaySeconds: 3, targets: [{ kind: "user" as const, id: "manager" }] },
];
const policyOf = (id: string) => ({ id, repeatCount: 0, steps });

describeEachDatabase("escalations store", (suite) => {
  const db = () => suite.handle.db;
  let policyId: string;
  let withPolicy: string;
  let withoutPolicy: string;

  beforeEach(async () => {
    await db().deleteFrom("services").execute();
    await db().deleteFrom("escalation_policies").execute();
    policyId = await seedPolicy(db(), steps);
    withPolicy = (await createService(db(), {
      name: "a",
      description: "",
      escalationPolicyId: policyId,
      now: t0,
    }))!.id;
    withoutPolicy = (await createService(db(), {
      name: "b",
      description: "",
      escalationPolicyId: null,
      now: t0,
    }))!.id;
  });

  let lastEffects: OwedEffect[] = [];

  async function trigger(dedupKey: string, serviceId = withPolicy): Promise<number> {
    const {
      results: [result],
      effects,
    } = await applySignals(db(), {
      serviceId,
      actor: "integration_key:test",
      now: t0,
      signals: [
        {
          action: "trigger",
          dedupKey,
          summary: dedupKey,
          details: "",
          severity: "error",
          source: "generic",
          labels: {},
          annotations: {},
        },
      ],
    });
    lastEffects = effects;
    return result!.alertId!;
  }

  /** Records one alert's step through the cohort statement; true when it advanced. */
  async function commitStep(input: { alertId: number; from: EscalationPosition; plan: StepPlan; now: Date }) {
    const { alertId, from, plan, now } = input;
    const advanced = await commitCohortStep(db(), { groups: [{ plan, members: [{ alertId, from }] }], now });
    return advanced.has(alertId);
  }

  /** Ends one alert's escalation through the cohort statement; true when it ended. */
  async function finishEscalation(input: {
    alertId: number;
    from: EscalationPosition;
    status: "stopped" | "completed";
    reason: string;
    now: Date;
  }) {
    const { now, ...member } = input;
    return (await finishCohortMembers(db(), { members: [member], now })).has(input.alertId);
  }

  /** A manual escalation as the use case does it: read, decide (domain), compare-and-set. */
  async function escalateNow(input: { alertId: number; actor: string; now: Date }) {
    const context = await loadManualEscalationContext(db(), input.alertId);
    if (!context) return { outcome: "not_found" };
    const plan = planManualEscalation(input.alertId, context);
    if (plan.outcome !== "escalated") return plan;
    const applied = await applyManualEscalation(db(), {
      ...input,
      expected: context.current && { status: context.current.status, position: context.current },
      plan,
    });
    const { position, executionName, previousExecutionName } = plan;
    return applied
      ? { outcome: "escalated", position, executionName, previousExecutionName }
      : { outcome: "lost" };
  }

  const events = async (alertId: number) =>
    (
      await db()
        .selectFrom("alert_events")
        .select(["type", "actor", "message", "data"])
        .where("alert_id", "=", alertId)
        .orderBy("id")
        .execute()
    ).filter((e) => e.type !== "created");

  async function runStep(alertId: number, now: Date) {
    const { escalation } = (await loadEscalation(db(), alertId))!;
    const plan = planStep(
      policyOf(policyId),
      escalation,
      steps[escalation.stepIndex]!.targets.map((target) => ({
        target,
        recipients: [{ kind: "user" as const, id: target.id }],
      })),
      now,
    );
    return { escalation, plan, committed: await commitStep({ alertId, from: escalation, plan, now }) };
  }

  it("owes the routing of every new alert (routing chooses the policy and owes the start)", async () => {
    const a = await trigger("a");
    expect(lastEffects).toMatchObject([{ kind: "route", serviceId: withPolicy, alertIds: [a], attempts: 0 }]);
    const b = await trigger("b", withoutPolicy);
    expect(lastEffects).toMatchObject([{ kind: "route", serviceId: withoutPolicy, alertIds: [b] }]);
    await trigger("a"); // a duplicate owes nothing more
    expect(lastEffects).toEqual([]);
  });

  it("opens an escalation for triggered alerts, once; opening again names its execution to start again", async () => {
    const a = await trigger("a");
    const b = await trigger("b", withoutPolicy);

    const first = await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    const again = await openEscalations(db(), { policyId, alertIds: [a], now: seconds(1) });

    expect(first).toEqual([{ alertIds: [a], executionName: executionNameFor(a) }]);
    // A retried start: the same execution again (starting one that runs or ran is a no-op).
    expect(again).toEqual(first);
    expect(await loadEscalation(db(), a)).toEqual({
      alertStatus: "triggered",
      escalation: {
        alertId: a,
        policyId,
        status: "active",
        stepIndex: 0,
        repeatCycle: 0,
        nextStepAt: t0,
        executionName: `alert-${a}`,
        lastError: null,
      },
    });
    expect(await loadEscalation(db(), b)).toBeUndefined();
    expect(await events(a)).toEqual([
      { type: "escalation_started", actor: "system", message: "Escalation started", data: { policyId } },
    ]);
  });

  it("opens nothing along a policy that no longer exists (no foreign key refuses it)", async () => {
    const a = await trigger("a");
    const gone = await seedPolicy(db(), steps);
    await sql`delete from escalation_policies where id = ${gone}::uuid`.execute(db());

    expect(await openEscalations(db(), { policyId: gone, alertIds: [a], now: t0 })).toEqual([]);
    expect(await loadEscalation(db(), a)).toBeUndefined();
  });

  it("deletes an alert's escalation and notifications with the alert, and escalations with their policy", async () => {
    const a = await trigger("a");
    const b = await trigger("b");
    await openEscalations(db(), { policyId, alertIds: [a, b], now: t0 });
    await runStep(a, seconds(0.2));
    await runStep(b, seconds(0.2));
    expect(await listNotifications(db(), a)).toHaveLength(1);

    await db().deleteFrom("alerts").where("id", "=", a).execute();

    expect(await loadEscalation(db(), a)).toBeUndefined();
    expect(await listNotifications(db(), a)).toEqual([]);
    expect(await loadEscalation(db(), b)).toBeDefined();
    expect(await listNotifications(db(), b)).toHaveLength(1);

    await db().updateTable("services").set({ escalation_policy_id: null }).execute();
    await sql`delete from escalation_policies where id = ${policyId}::uuid`.execute(db());

    const { rows } = await sql<{ n: number }>`select count(*)::int as n from alert_escalations`.execute(db());
    expect(rows[0]!.n).toBe(0);
    expect(await listNotifications(db(), b)).toHaveLength(1);

    // Truncating the alerts (cascade) takes their notifications too, as the key did.
    await sql`truncate alerts cascade`.execute(db());
    expect(await listNotifications(db(), b)).toEqual([]);
  });

  it("does not open an escalation for an alert that is no longer triggered", async () => {
    const a = await trigger("a");
    await acknowledgeAlert(db(), { id: a, actor: "admin", now: t0 });

    expect(await openEscalations(db(), { policyId, alertIds: [a], now: t0 })).toEqual([]);
  });

  it("records a step (notifications, log, next state) once: a second run from the same position writes nothing", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });

    const first = await runStep(a, seconds(0.2));
    const repeat = await commitStep({
      alertId: a,
      from: first.escalation,
      plan: first.plan,
      now: seconds(0.3),
    });

    expect(first.committed).toBe(true);
    expect(repeat).toBe(false);
    expect(await listNotifications(db(), a)).toEqual([
      {
        id: expect.any(Number),
        alertId: a,
        repeatCycle: 0,
        stepIndex: 0,
        targetKind: "user",
        targetId: "alice",
        reason: { stepIndex: 0, repeatCycle: 0, via: [{ kind: "user", id: "alice" }] },
        status: "pending",
        createdAt: seconds(0.2),
      },
    ]);
    expect((await loadEscalation(db(), a))?.escalation).toMatchObject({
      status: "active",
      stepIndex: 1,
      repeatCycle: 0,
      nextStepAt: seconds(0.2),
    });
    expect((await events(a)).map((e) => e.type)).toEqual(["escalation_started", "escalated"]);
  });

  it("completes after the last step and logs it after the step", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    await runStep(a, t0);

    const last = await runStep(a, seconds(3));

    expect(last.committed).toBe(true);
    expect((await loadEscalation(db(), a))?.escalation).toMatchObject({
      status: "completed",
      stepIndex: 2,
      nextStepAt: null,
    });
    expect((await events(a)).map((e) => e.type)).toEqual([
      "escalation_started",
      "escalated",
      "escalated",
      "escalation_completed",
    ]);
    expect((await listNotifications(db(), a)).map((n) => [n.stepIndex, n.targetId])).toEqual([
      [0, "alice"],
      [1, "manager"],
    ]);
  });

  it("records nothing for an acknowledged alert, even with a plan in hand", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    const { escalation } = (await loadEscalation(db(), a))!;
    const plan = planStep(
      policyOf(policyId),
      escalation,
      [{ target: steps[0]!.targets[0]!, recipients: [{ kind: "user", id: "alice" }] }],
      t0,
    );
    await acknowledgeAlert(db(), { id: a, actor: "admin", now: t0 });

    expect(await commitStep({ alertId: a, from: escalation, plan, now: t0 })).toBe(false);
    expect(await listNotifications(db(), a)).toEqual([]);
  });

  it("lets exactly one of two concurrent runs of the same step record it", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    const { escalation } = (await loadEscalation(db(), a))!;
    const plan = planStep(
      policyOf(policyId),
      escalation,
      [{ target: steps[0]!.targets[0]!, recipients: [{ kind: "user", id: "alice" }] }],
      t0,
    );

    const results = await Promise.all(
      Array.from({ length: 5 }, () => commitStep({ alertId: a, from: escalation, plan, now: t0 })),
    );

    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await listNotifications(db(), a)).toHaveLength(1);
    expect((await events(a)).filter((e) => e.type === "escalated")).toHaveLength(1);
  });

  it("stops active escalations only, and returns their executions", async () => {
    const a = await trigger("a");
    const b = await trigger("b");
    await openEscalations(db(), { policyId, alertIds: [a, b], executionName: "cohort-ab", now: t0 });
    await finishEscalation({
      alertId: b,
      from: { stepIndex: 0, repeatCycle: 0 },
      status: "completed",
      reason: "policy_exhausted",
      now: t0,
    });

    expect(await stopEscalations(db(), { alertIds: [a, b], now: seconds(1) })).toEqual([
      { alertIds: [a], executionName: "cohort-ab" },
    ]);
    expect(await stopEscalations(db(), { alertIds: [a], now: seconds(2) })).toEqual([]);
    expect((await loadEscalation(db(), a))?.escalation).toMatchObject({
      status: "stopped",
      nextStepAt: null,
    });
    expect((await events(b)).map((e) => e.type)).toEqual(["escalation_started", "escalation_completed"]);
  });

  it("finishes only from the position that was read", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });

    expect(
      await finishEscalation({
        alertId: a,
        from: { stepIndex: 1, repeatCycle: 0 },
        status: "stopped",
        reason: "x",
        now: t0,
      }),
    ).toBe(false);
    expect(
      await finishEscalation({
        alertId: a,
        from: { stepIndex: 0, repeatCycle: 0 },
        status: "stopped",
        reason: "x",
        now: t0,
      }),
    ).toBe(true);
    expect((await events(a)).map((e) => e.type)).toEqual(["escalation_started"]);
  });

  it("counts failures in a row, from the last recorded step", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    const error = { name: "TransientError", cause: "database unavailable" };

    const counts = [
      await recordCohortFailure(db(), { executionName: `alert-${a}`, error, now: t0 }),
      await recordCohortFailure(db(), { executionName: `alert-${a}`, error, now: seconds(30) }),
    ];
    await runStep(a, seconds(60));
    counts.push(await recordCohortFailure(db(), { executionName: `alert-${a}`, error, now: seconds(61) }));

    expect(counts).toEqual([1, 2, 1]);
    expect((await loadEscalation(db(), a))?.escalation.lastError).toBe(
      "TransientError: database unavailable",
    );
    expect((await events(a)).find((e) => e.type === "escalation_failed")).toEqual({
      type: "escalation_failed",
      actor: "system",
      message: "Escalation step failed: TransientError: database unavailable",
      data: { error: "TransientError", cause: "database unavailable" },
    });
  });

  it("records no failure once the escalation is over", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    await stopEscalations(db(), { alertIds: [a], now: t0 });

    expect(
      await recordCohortFailure(db(), {
        executionName: `alert-${a}`,
        error: { name: "Error", cause: "x" },
        now: t0,
      }),
    ).toBeUndefined();
  });

  it("escalates by hand: the pending step is due now under a new execution name", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    await runStep(a, t0);

    const outcome = await escalateNow({ alertId: a, actor: "admin", now: seconds(1) });
    const again = await escalateNow({ alertId: a, actor: "admin", now: seconds(1.5) });

    expect(outcome).toEqual({
      outcome: "escalated",
      position: { stepIndex: 1, repeatCycle: 0 },
      executionName: `alert-${a}-c0-s1`,
      previousExecutionName: `alert-${a}`,
    });
    expect(again).toEqual({ ...outcome, previousExecutionName: `alert-${a}-c0-s1` });
    expect((await loadEscalation(db(), a))?.escalation).toMatchObject({
      status: "active",
      stepIndex: 1,
      nextStepAt: seconds(1.5),
      executionName: `alert-${a}-c0-s1`,
    });
    expect((await events(a)).at(-1)).toEqual({
      type: "escalated_manually",
      actor: "admin",
      message: "Escalated by hand: step 2, pass 1 runs now",
      data: { stepIndex: 1, repeatCycle: 0 },
    });
  });

  it("escalates a completed escalation by hand into one more pass", async () => {
    const a = await trigger("a");
    await openEscalations(db(), { policyId, alertIds: [a], now: t0 });
    await runStep(a, t0);
    await runStep(a, seconds(3));

    expect(await escalateNow({ alertId: a, actor: "admin", now: seconds(4) })).toMatchObject({
      outcome: "escalated",
      position: { stepIndex: 0, repeatCycle: 1 },
      executionName: `alert-${a}-c1-s0`,
    });
  });

  it("escalates by hand an alert without an escalation if its service now has a policy", async () => {
    const a = await trigger("a", withoutPolicy);

    expect(await escalateNow({ alertId: a, actor: "admin", now: t0 })).toEqual({
      outcome: "no_policy",
    });
    await sql`update services set escalation_policy_id = ${policyId}::uuid where id = ${withoutPolicy}::uuid`.execute(
      db(),
    );
    expect(await escalateNow({ alertId: a, actor: "admin", now: t0 })).toEqual({
      outcome: "escalated",
      position: { stepIndex: 0, repeatCycle: 0 },
      executionName: `alert-${a}`,
      previousExecutionName: null,
    });
  });

  it("refuses to escalate by hand an alert that is not triggered, or does not exist", async () => {
    const a = await trigger("a");
    await acknowledgeAlert(db(), { id: a, actor: "admin", now: t0 });

    expect(await escalateNow({ alertId: a, actor: "admin", now: t0 })).toEqual({
      outcome: "not_triggered",
      alertStatus: "acknowledged",
    });
    expect(await escalateNow({ alertId: 999_999, actor: "admin", now: t0 })).toEqual({
      outcome: "not_found",
    });
  });

  it("finds the active escalations, soonest due first", async () => {
    const a = await trigger("a");
    const b = await trigger("b");
    const c = await trigger("c");
    await openEscalations(db(), { policyId, alertIds: [a, b, c], now: t0 });
    await runStep(a, seconds(10)); // a: step 1 due at +10 s
    await stopEscalations(db(), { alertIds: [c], now: t0 });

    expect((await findActiveEscalations(db())).map((e) => [e.alertId, e.nextStepAt])).toEqual([
      [b, t0],
      [a, seconds(10)],
    ]);
  });

  describe("cohorts: escalations opened together share one execution", () => {
    const stepPlan = (stepIndex: number, now: Date) =>
      planStep(
        policyOf(policyId),
        { stepIndex, repeatCycle: 0 },
        steps[stepIndex]!.targets.map((target) => ({
          target,
          recipients: [{ kind: "user" as const, id: target.id }],
        })),
        now,
      );
    const at = (stepIndex: number) => ({ stepIndex, repeatCycle: 0 });

    it("opens a cohort under one name, owing one start; opening again names the same execution", async () => {
      const ids = [await trigger("a"), await trigger("b"), await trigger("c")];

      const pending = await openEscalations(db(), {
        policyId,
        alertIds: ids,
        executionName: "cohort-x",
        now: t0,
      });

      expect(pending).toEqual([{ executionName: "cohort-x", alertIds: ids }]);
      expect(await openEscalations(db(), { policyId, alertIds: ids, now: seconds(1) })).toEqual(pending);
      for (const id of ids) {
        expect((await loadEscalation(db(), id))?.escalation).toMatchObject({ executionName: "cohort-x" });
      }
    });

    it("names every active execution of the alerts when opening again (one escalated by hand too)", async () => {
      const [a, b] = [await trigger("a"), await trigger("b")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-x", now: t0 });
      await acknowledgeAlert(db(), { id: b!, actor: "admin", now: t0 });
      await stopEscalations(db(), { alertIds: [b!], now: t0 });

      expect(await openEscalations(db(), { policyId, alertIds: [a!, b!], now: seconds(1) })).toEqual([
        { executionName: "cohort-x", alertIds: [a] },
      ]);
    });

    it("records a step for every member in one statement, once, skipping an acknowledged member", async () => {
      const [a, b, c] = [await trigger("a"), await trigger("b"), await trigger("c")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!, c!], executionName: "cohort-x", now: t0 });
      await acknowledgeAlert(db(), { id: b!, actor: "admin", now: t0 });
      const plan = stepPlan(0, seconds(1));
      const members = [a!, b!, c!].map((alertId) => ({ alertId, from: at(0) }));

      const first = await commitCohortStep(db(), { groups: [{ plan, members }], now: seconds(1) });
      const again = await commitCohortStep(db(), { groups: [{ plan, members }], now: seconds(2) });

      expect([...first].sort()).toEqual([a, c].sort());
      expect([...again]).toEqual([]);
      for (const id of [a!, c!]) {
        expect((await listNotifications(db(), id)).map((n) => [n.stepIndex, n.targetId])).toEqual([
          [0, "alice"],
        ]);
        expect((await events(id)).map((e) => e.type)).toEqual(["escalation_started", "escalated"]);
      }
      expect(await listNotifications(db(), b!)).toEqual([]);
      const cohort = await loadCohort(db(), "cohort-x");
      expect(cohort.truncated).toBe(false);
      expect(cohort.members.map((m) => [m.alertId, m.alertStatus, m.state.stepIndex])).toEqual([
        [b, "acknowledged", 0],
        [a, "triggered", 1],
        [c, "triggered", 1],
      ]);
    });

    // Two connections at once: only a real server has them (PGlite and the Data API emulator serve one
    // statement at a time), so the case exists only there rather than showing as skipped elsewhere.
    (suite.kind === "postgres" ? it : () => {})(
      "leaves an alert that a change in progress holds for the next read, without waiting on it",
      async () => {
        const [a, b] = [await trigger("a"), await trigger("b")];
        await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-x", now: t0 });
        const plan = stepPlan(0, t0);
        const members = [a!, b!].map((alertId) => ({ alertId, from: at(0) }));

        // Another connection is changing alert a (a sender's update, an acknowledge) and has not committed.
        const advanced = await db()
          .transaction()
          .execute(async (trx) => {
            await sql`update alerts set last_seen_at = now() where id = ${a}::bigint`.execute(trx);
            return commitCohortStep(db(), { groups: [{ plan, members }], now: t0 });
          });

        expect([...advanced]).toEqual([b]);
        expect([...(await commitCohortStep(db(), { groups: [{ plan, members }], now: t0 }))]).toEqual([a]);
      },
    );

    it("lets exactly one of concurrent runs of a cohort's step record it for each member", async () => {
      const ids = [await trigger("a"), await trigger("b"), await trigger("c")];
      await openEscalations(db(), { policyId, alertIds: ids, executionName: "cohort-x", now: t0 });
      const plan = stepPlan(0, t0);
      const members = ids.map((alertId) => ({ alertId, from: at(0) }));

      const results = await Promise.all(
        Array.from({ length: 4 }, () => commitCohortStep(db(), { groups: [{ plan, members }], now: t0 })),
      );

      expect(results.flatMap((r) => [...r]).sort()).toEqual([...ids].sort());
      for (const id of ids) expect(await listNotifications(db(), id)).toHaveLength(1);
    });

    it("stops the execution only with its last active member", async () => {
      const [a, b] = [await trigger("a"), await trigger("b")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-x", now: t0 });

      expect(await stopEscalations(db(), { alertIds: [a!], now: t0 })).toEqual([]);
      expect(await countActiveMembers(db(), "cohort-x")).toBe(1);
      expect(await stopEscalations(db(), { alertIds: [b!], now: t0 })).toEqual([
        { executionName: "cohort-x", alertIds: [b] },
      ]);
      expect(await countActiveMembers(db(), "cohort-x")).toBe(0);
    });

    it("records a failure on every active member of the cohort", async () => {
      const [a, b] = [await trigger("a"), await trigger("b")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-x", now: t0 });
      const error = { name: "Error", cause: "boom" };

      expect(await recordCohortFailure(db(), { executionName: "cohort-x", error, now: t0 })).toBe(1);
      await stopEscalations(db(), { alertIds: [a!], now: t0 });
      expect(await recordCohortFailure(db(), { executionName: "cohort-x", error, now: t0 })).toBe(2);

      expect((await events(a!)).filter((e) => e.type === "escalation_failed")).toHaveLength(1);
      expect((await events(b!)).filter((e) => e.type === "escalation_failed")).toHaveLength(2);
    });

    it("an alert escalated by hand leaves its cohort for an execution of its own", async () => {
      const [a, b] = [await trigger("a"), await trigger("b")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-x", now: t0 });

      expect(await escalateNow({ alertId: a!, actor: "admin", now: seconds(1) })).toMatchObject({
        outcome: "escalated",
        executionName: `alert-${a}-c0-s0`,
        previousExecutionName: "cohort-x",
      });
      expect((await loadCohort(db(), "cohort-x")).members.map((m) => m.alertId)).toEqual([b]);
      expect(await countActiveMembers(db(), "cohort-x")).toBe(1);
    });

    it("pages a cohort's members, soonest due first, and says when there are more", async () => {
      const ids = [await trigger("a"), await trigger("b"), await trigger("c")];
      await openEscalations(db(), { policyId, alertIds: ids, executionName: "cohort-x", now: t0 });

      const page = await loadCohort(db(), "cohort-x", 2);

      expect(page.members.map((m) => m.alertId)).toEqual(ids.slice(0, 2));
      expect(page.truncated).toBe(true);
    });

    it("finds the executions that have active escalations, by name, in pages", async () => {
      const [a, b, c, d] = [await trigger("a"), await trigger("b"), await trigger("c"), await trigger("d")];
      await openEscalations(db(), { policyId, alertIds: [a!, b!], executionName: "cohort-1", now: t0 });
      await openEscalations(db(), { policyId, alertIds: [c!], executionName: "cohort-2", now: t0 });
      await openEscalations(db(), { policyId, alertIds: [d!], executionName: "cohort-3", now: t0 });
      await stopEscalations(db(), { alertIds: [d!], now: t0 });

      expect(await findActiveExecutionsAfter(db(), { afterName: "", limit: 1 })).toEqual(["cohort-1"]);
      expect(await findActiveExecutionsAfter(db(), { afterName: "cohort-1", limit: 5 })).toEqual([
        "cohort-2",
      ]);
    });
  });
  describe("stranded escalations", () => {
    it("are those overdue with no start owed; re-homing moves them to a new execution and owes its start", async () => {
      const a = await trigger("a");
      const b = await trigger("b");
      await openEscalations(db(), { alertIds: [a, b], policyId, now: t0 });
      const later = seconds(3600);
      const dueBefore = seconds(1800);
      // While a start of theirs is owed, the outbox starts it; housekeeping leaves them alone.
      const owed = await sql<{ id: number }>`
        insert into alert_effects (kind, service_id, alert_ids, payload, due_at, created_at, updated_at)
        values ('escalation.start', ${withPolicy}::uuid, ${JSON.stringify([b])}::jsonb, '{}'::jsonb,
          ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz, ${t0.toISOString()}::timestamptz)
        returning id`.execute(db());
      expect(await findStrandedEscalations(db(), { dueBefore, limit: 10 })).toMatchObject([
        { alertIds: [a] },
      ]);
      await completeEffects(db(), { ids: owed.rows.map((e) => Number(e.id)), now: t0 });

      const [stranded, ...more] = await findStrandedEscalations(db(), { dueBefore, limit: 10 });
      expect(more).toEqual([]);
      expect(stranded).toMatchObject({ policyId, alertIds: [a, b] });
      expect(stranded!.executionName).toBe((await loadEscalation(db(), a))!.escalation.executionName);
      expect(await findStrandedEscalations(db(), { dueBefore, limit: 1 })).toMatchObject([{ alertIds: [a] }]);
      // Not overdue enough yet: nothing.
      expect(await findStrandedEscalations(db(), { dueBefore: t0, limit: 10 })).toEqual([]);

      const moved = await rehomeStrandedEscalations(db(), {
        stranded: stranded!,
        to: "redrive-x",
        dueBefore,
        now: later,
      });
      expect(moved.alertIds).toEqual([a, b]);
      expect(moved.effects).toMatchObject([
        { kind: "escalation.start", alertIds: [a, b], payload: { policyId, executionName: "redrive-x" } },
      ]);
      expect((await loadEscalation(db(), b))!.escalation).toMatchObject({
        executionName: "redrive-x",
        status: "active",
      });
      // Its start is owed now, and it was just moved: not stranded again.
      await completeEffects(db(), { ids: moved.effects.map((e) => e.id), now: later });
      expect(await findStrandedEscalations(db(), { dueBefore, limit: 10 })).toEqual([]);
      // Moving them again from the old execution finds nothing to move (a concurrent sweep lost).
      expect(
        await rehomeStrandedEscalations(db(), {
          stranded: stranded!,
          to: "redrive-y",
          dueBefore,
          now: later,
        }),
      ).toEqual({ alertIds: [], effects: [] });
    });
  });
});
