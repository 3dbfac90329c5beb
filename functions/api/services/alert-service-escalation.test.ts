import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRecordingEscalationRunner, createTestAppContext } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { attachPolicy, seedPolicy } from "../../../test/support/seed-oncall.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import { loadEscalation } from "../../adapters/db/stores/escalations.ts";
import { effectDepsOf } from "../../app/effect-registry.ts";
import { sweepEffects } from "../../app/effects.ts";
import { startEscalations } from "../../app/escalations.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { AlertService } from "../../gen/oncall/v1/alerts_pb.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";
import { createEscalationStepHandler } from "../../handlers/escalation-step.ts";

// AlertService and escalations, in memory: the real router and stores on a PGlite clone, a runner
// that records what it is asked to start and stop (the workflow itself is tested elsewhere).
const clock = createFixedClock("2026-11-27T12:00:00Z");
const runner = createRecordingEscalationRunner();
let failStarts = 0;
let database: DatabaseHandle;
let ctx: ReturnType<typeof createTestAppContext>;
let alerts: ReturnType<typeof createClient<typeof AlertService>>;
let services: ReturnType<typeof createClient<typeof ServiceService>>;
let withPolicy: string;
let withoutPolicy: string;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database, {
    clock,
    escalations: {
      start: (name) => (failStarts-- > 0 ? Promise.reject(new Error("throttled")) : runner.start(name)),
      stop: (name) => runner.stop(name),
    },
  });
  const transport = createInMemoryTransport(ctx);
  alerts = createClient(AlertService, transport);
  services = createClient(ServiceService, transport);
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  runner.calls.length = 0;
  failStarts = 0;
  const policyId = await seedPolicy(database.db, [
    { delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] },
    { delaySeconds: 300, targets: [{ kind: "user", id: "manager" }] },
  ]);
  withPolicy = (await services.createService({ name: "checkout" }, admin)).service!.id;
  await attachPolicy(database.db, withPolicy, policyId);
  withoutPolicy = (await services.createService({ name: "search" }, admin)).service!.id;
});

const raise = async (serviceId = withPolicy, dedupKey = "") =>
  Number((await alerts.createAlert({ serviceId, summary: "disk full", dedupKey }, admin)).alert!.id);
const escalation = async (id: number) => (await loadEscalation(database.db, id))?.escalation;
/** Starts still owed: `escalation.start` effects pending in the outbox. */
const owedStarts = async () =>
  (
    await database.db
      .selectFrom("alert_effects")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("kind", "=", "escalation.start")
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow()
  ).n;

describe("AlertService escalations", () => {
  it("starts an escalation for a new alert on a service with a policy, once", async () => {
    const id = await raise(withPolicy, "disk");
    await raise(withPolicy, "disk"); // deduplicated: already started

    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${id}` }]);
    expect(await escalation(id)).toMatchObject({
      status: "active",
      stepIndex: 0,
      executionName: `alert-${id}`,
    });
    expect(await owedStarts()).toBe(0);
  });

  it("starts nothing for a service without a policy", async () => {
    const id = await raise(withoutPolicy);

    expect(runner.calls).toEqual([]);
    expect(await escalation(id)).toBeUndefined();
  });

  it("answers unavailable when the workflow cannot start, and the retried request starts it", async () => {
    failStarts = 1;

    const error = await failure(
      alerts.createAlert({ serviceId: withPolicy, summary: "x", dedupKey: "retry-me" }, admin),
    );
    const id = await raise(withPolicy, "retry-me");

    expect(error.code).toBe(Code.Unavailable);
    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${id}` }]);
    expect(await escalation(id)).toMatchObject({ status: "active", executionName: `alert-${id}` });
    // The start is owed no more (its effect is done).
    expect(await owedStarts()).toBe(0);
  });

  it("a swept batch of starts where one fails counts and fails only that one; the other is done", async () => {
    // Two services, so that the second request does not pick up the first one's owed start.
    const other = (await services.createService({ name: "payments" }, admin)).service!.id;
    const { escalation_policy_id: policyId } = await database.db
      .selectFrom("services")
      .select("escalation_policy_id")
      .where("id", "=", withPolicy)
      .executeTakeFirstOrThrow();
    await attachPolicy(database.db, other, policyId!);
    failStarts = 2;
    await failure(alerts.createAlert({ serviceId: withPolicy, summary: "x", dedupKey: "one" }, admin));
    await failure(alerts.createAlert({ serviceId: other, summary: "y", dedupKey: "two" }, admin));
    expect(await owedStarts()).toBe(2);

    // Both are due again; the sweep takes them as one batch, and only the first start fails.
    failStarts = 1;
    clock.advance(60_000);
    const swept = await sweepEffects(effectDepsOf(ctx), { limit: 10 });
    clock.set("2026-11-27T12:00:00Z");

    expect(swept).toEqual({ ran: 1, failed: 1 });
    expect(await owedStarts()).toBe(1);
  });

  it("stops the escalation on acknowledge, and a later resolve has nothing more to stop", async () => {
    const id = await raise();

    await alerts.acknowledgeAlert({ id: BigInt(id) }, admin);
    await alerts.resolveAlert({ id: BigInt(id) }, admin);

    expect(runner.calls.slice(1)).toEqual([{ op: "stop", executionName: `alert-${id}` }]);
    expect(await escalation(id)).toMatchObject({ status: "stopped", nextStepAt: null });
  });

  it("stops the escalation on resolve", async () => {
    const id = await raise();

    await alerts.resolveAlert({ id: BigInt(id) }, admin);

    expect(runner.calls.slice(1)).toEqual([{ op: "stop", executionName: `alert-${id}` }]);
  });

  it.each([
    ["acknowledge", (ids: bigint[]) => alerts.bulkAcknowledgeAlerts({ ids }, admin)],
    ["resolve", (ids: bigint[]) => alerts.bulkResolveAlerts({ ids }, admin)],
  ])("stops every escalation of a bulk %s", async (_, bulk) => {
    const a = await raise(withPolicy, "a");
    const b = await raise(withPolicy, "b");
    const c = await raise(withoutPolicy, "c");

    await bulk([a, b, c].map(BigInt));

    expect(runner.calls.filter((call) => call.op === "stop")).toEqual([
      { op: "stop", executionName: `alert-${a}` },
      { op: "stop", executionName: `alert-${b}` },
    ]);
  });

  it("escalates by hand: the pending step runs now in a new execution that replaces the waiting one", async () => {
    const id = await raise();
    await createEscalationStepHandler({ db: database.db, clock })({ alertId: id }); // step 1; step 2 due in 300 s

    const response = await alerts.escalateAlert({ id: BigInt(id) }, admin);
    await alerts.escalateAlert({ id: BigInt(id) }, admin); // again before the step ran: same execution

    expect(response).toMatchObject({ stepIndex: 1, repeatCycle: 0, alert: { id: BigInt(id) } });
    expect(runner.calls.slice(1)).toEqual([
      { op: "stop", executionName: `alert-${id}` },
      { op: "start", executionName: `alert-${id}-c0-s1` },
      { op: "start", executionName: `alert-${id}-c0-s1` },
    ]);
    expect(await escalation(id)).toMatchObject({ status: "active", stepIndex: 1, nextStepAt: clock.now() });
    const events = await alerts.listAlertEvents({ alertId: BigInt(id) }, admin);
    expect(events.events.at(-1)).toMatchObject({ type: "escalated_manually", actor: "admin" });
  });

  it("a cohort's execution goes on while one of its alerts is escalated by hand or acknowledged, and stops with the last", async () => {
    const [a, b, c] = [
      await raise(withPolicy, "a"),
      await raise(withPolicy, "b"),
      await raise(withPolicy, "c"),
    ];
    // Their own starts ran (one execution each); a cohort of the three, as one webhook request opens it:
    await database.db.deleteFrom("alert_escalations").execute();
    runner.calls.length = 0;
    const deps = { db: database.db, clock, runner };
    const policyId = (await database.db
      .selectFrom("services")
      .select("escalation_policy_id")
      .where("id", "=", withPolicy)
      .executeTakeFirstOrThrow())!.escalation_policy_id!;
    expect(await startEscalations(deps, { alertIds: [a, b, c], policyId })).toMatchObject({
      failedAlertIds: [],
    });
    const [cohort] = runner.calls.map((call) => call.executionName);
    expect(cohort).toMatch(new RegExp(`^cohort-${a}-[0-9a-f]{8}$`));

    await alerts.escalateAlert({ id: BigInt(a) }, admin);
    await alerts.bulkAcknowledgeAlerts({ ids: [BigInt(b)] }, admin);
    expect(runner.calls.filter((call) => call.op === "stop")).toEqual([]);
    await alerts.acknowledgeAlert({ id: BigInt(c) }, admin);

    expect(runner.calls).toEqual([
      { op: "start", executionName: cohort },
      { op: "start", executionName: `alert-${a}-c0-s0` },
      { op: "stop", executionName: cohort },
    ]);
    expect(await escalation(a)).toMatchObject({ status: "active", executionName: `alert-${a}-c0-s0` });
  });

  it.each([
    ["an unknown alert", async () => 999_999, Code.NotFound],
    [
      "an acknowledged alert",
      async () => {
        const id = await raise();
        await alerts.acknowledgeAlert({ id: BigInt(id) }, admin);
        return id;
      },
      Code.FailedPrecondition,
    ],
    ["an alert whose service has no policy", () => raise(withoutPolicy), Code.FailedPrecondition],
  ])("refuses to escalate %s", async (_, alertId, code) => {
    const id = await alertId();

    expect((await failure(alerts.escalateAlert({ id: BigInt(id) }, admin))).code).toBe(code);
  });
});
