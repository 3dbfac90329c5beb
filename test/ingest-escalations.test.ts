import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { ingestWithKey } from "../functions/adapters/db/stores/alert-signals.ts";
import { listDeliveries } from "../functions/adapters/db/stores/deliveries.ts";
import { insertContactMethod } from "../functions/adapters/db/stores/directory.ts";
import { listNotifications, loadEscalation } from "../functions/adapters/db/stores/escalations.ts";
import type { AppContext } from "../functions/app/context.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import { createHousekeeping } from "../functions/handlers/housekeeping.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createRecordingEscalationRunner, createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedDirectoryUsers, seedPolicy } from "./support/seed-oncall.ts";

// Webhooks and escalations: a trigger starts one, an acknowledge or resolve from the sender stops it,
// and a start that fails answers 503 so that the sender's retry starts it. The runner records calls.
const runner = createRecordingEscalationRunner();
const clock = createFixedClock("2026-11-27T12:00:00Z");
let failStarts = 0;
/** The wait each start asked for (a first step recorded with the alerts), by execution name. */
const waits: { executionName: string; waitUntil: string | undefined }[] = [];
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let ctx: AppContext;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database, {
    clock,
    escalations: {
      start: (name, options) => {
        if (failStarts-- > 0) return Promise.reject(new Error("throttled"));
        waits.push({ executionName: name, waitUntil: options?.waitUntil?.toISOString() });
        return runner.start(name);
      },
      stop: (name) => runner.stop(name),
    },
  });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  runner.calls.length = 0;
  waits.length = 0;
  failStarts = 0;
  clock.set("2026-11-27T12:00:00Z");
  seeded = await seedService(database.db);
  await attachPolicy(
    database.db,
    seeded.serviceId,
    await seedPolicy(database.db, [{ delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] }]),
  );
});

async function send(body: unknown) {
  const res = await fetch(`${server.url}/v1/webhooks/generic`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.generic}` },
  });
  return { status: res.status, body: (await res.json()) as { alerts?: { id: number; outcome: string }[] } };
}

describe("webhooks and escalations", () => {
  it("starts an escalation for a new alert and stops it when the sender resolves", async () => {
    const created = await send({ summary: "disk full", dedup: "disk" });
    const id = created.body.alerts![0]!.id;
    await send({ summary: "disk full", dedup: "disk" });
    await send({ dedup: "disk", action: "resolve" });

    expect(runner.calls).toEqual([
      { op: "start", executionName: `alert-${id}` },
      { op: "stop", executionName: `alert-${id}` },
    ]);
    expect((await loadEscalation(database.db, id))?.escalation.status).toBe("stopped");
  });

  it("stops it when the sender acknowledges", async () => {
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;
    await send({ dedup: "disk", action: "acknowledge" });

    expect(runner.calls.at(-1)).toEqual({ op: "stop", executionName: `alert-${id}` });
  });

  it("answers 503 when the workflow cannot start; the retry starts it", async () => {
    failStarts = 1;

    const first = await send({ summary: "disk full", dedup: "disk" });
    const retry = await send({ summary: "disk full", dedup: "disk" });
    const id = retry.body.alerts![0]!.id;

    expect(first.status).toBe(503);
    expect(retry.status).toBe(200);
    expect(retry.body.alerts![0]!.outcome).toBe("deduplicated");
    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${id}` }]);
  });

  it("housekeeping starts an escalation whose start failed and was never retried, once", async () => {
    failStarts = 1;
    const sweep = createHousekeeping(ctx);
    const first = await send({ summary: "disk full", dedup: "disk" });
    expect(first.status).toBe(503);
    const [{ id }] = (await database.db.selectFrom("alerts").select("id").execute()) as [{ id: number }];

    // Within the grace period the request's own retry may still come: the sweeper leaves it alone.
    expect(await sweep(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    clock.advance(61_000);
    expect(await sweep(undefined)).toEqual({
      effectsRun: 1,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    expect(await sweep(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${id}` }]);
    expect((await loadEscalation(database.db, id))?.escalation.status).toBe("active");
    // The start is owed no more: no effect of its alert is pending.
    expect(
      await database.db
        .selectFrom("alert_effects")
        .select(["kind", "status"])
        .where("status", "=", "pending")
        .execute(),
    ).toEqual([]);
  });

  it("housekeeping fails loudly when a start fails again, and succeeds on a later sweep", async () => {
    failStarts = 2;
    const sweep = createHousekeeping(ctx);
    expect((await send({ summary: "disk full", dedup: "disk" })).status).toBe(503);
    clock.advance(61_000);
    await expect(sweep(undefined)).rejects.toThrow(/failed again/);
    // A failed effect is tried again after a backoff (10 s after its second failure).
    expect(await sweep(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    clock.advance(10_000);
    expect(await sweep(undefined)).toEqual({
      effectsRun: 1,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    expect(runner.calls.filter((c) => c.op === "start")).toHaveLength(1);
  });

  it("housekeeping auto-resolves alerts not seen for the configured days and stops their escalation", async () => {
    const housekeeping = createHousekeeping({ ...ctx, autoResolveAfterDays: 7 });
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;
    // The recording runner walks nothing, so days later the escalation also counts as stranded and
    // walks again under a new execution (the test above); the auto-resolve stops that one.
    clock.advance(6 * 86_400_000);
    expect(await housekeeping(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 1,
    });
    clock.advance(2 * 86_400_000);
    expect(await housekeeping(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 1,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 1,
    });

    const alert = await database.db
      .selectFrom("alerts")
      .select(["status", "resolved_by"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(alert).toEqual({ status: "resolved", resolved_by: "system" });
    const escalation = (await loadEscalation(database.db, id))!.escalation;
    expect(escalation.status).toBe("stopped");
    expect(runner.calls.at(-1)).toEqual({ op: "stop", executionName: escalation.executionName });
  });

  it("a process that dies between an alert change and its effect: housekeeping runs the effect once", async () => {
    // What a crash right after the commit leaves: the ingest statement committed the alerts and the
    // effect they owe, and nothing ran it.
    const committed = await ingestWithKey(database.db, {
      secret: seeded.secrets.generic,
      source: "generic",
      now: clock.now(),
      defaultLimitPerMinute: 600,
      defaultAlertLimitPerMinute: 20_000,
      signals: ["a", "b"].map((dedupKey) => ({
        action: "trigger" as const,
        dedupKey,
        summary: dedupKey,
        details: "",
        severity: "error" as const,
        source: "generic",
        labels: {},
        annotations: {},
      })),
    });
    const ids = committed.results.map((r) => r.alertId!);
    expect(committed.effects).toMatchObject([{ kind: "route", alertIds: ids }]);
    const sweep = createHousekeeping(ctx);

    // Within its grace period the request might still run it: housekeeping leaves it alone.
    expect(await sweep(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    clock.advance(31_000);
    expect(await sweep(undefined)).toEqual({
      effectsRun: 1,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });
    expect(await sweep(undefined)).toEqual({
      effectsRun: 0,
      alertsAutoResolved: 0,
      alertsReleasedFromMaintenance: 0,
      escalationsRedriven: 0,
    });

    // One request's new alerts form one cohort: one execution, started once.
    expect(runner.calls).toEqual([
      {
        op: "start",
        executionName: expect.stringMatching(new RegExp(`^cohort-${Math.min(...ids)}-[0-9a-f]{8}$`)),
      },
    ]);
    for (const id of ids) {
      expect((await loadEscalation(database.db, id))?.escalation).toMatchObject({
        status: "active",
        executionName: runner.calls[0]!.executionName,
      });
      const started = await database.db
        .selectFrom("alert_events")
        .select("id")
        .where("alert_id", "=", id)
        .where("type", "=", "escalation_started")
        .execute();
      expect(started).toHaveLength(1);
    }
    const effects = await database.db
      .selectFrom("alert_effects")
      .select(["status", "attempts"])
      .where("id", "=", committed.effects[0]!.id)
      .execute();
    expect(effects).toEqual([{ status: "done", attempts: 0 }]);
  });

  it("housekeeping walks again an escalation nothing walks any more, under a new execution, then waits as long again", async () => {
    // The recording runner starts nothing: the execution is as good as lost (on AWS, one that failed
    // without recording it). Its step stays overdue.
    const sweep = createHousekeeping(ctx);
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;
    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${id}` }]);

    clock.advance(29 * 60_000); // within what a live execution's retries may take
    expect(await sweep(undefined)).toMatchObject({ escalationsRedriven: 0 });
    clock.advance(3 * 60_000);
    expect(await sweep(undefined)).toMatchObject({ escalationsRedriven: 1 });
    const redriven = (await loadEscalation(database.db, id))!.escalation;
    expect(redriven.executionName).toMatch(new RegExp(`^redrive-${id}-[0-9a-f]{8}$`));
    expect(runner.calls.at(-1)).toEqual({ op: "start", executionName: redriven.executionName });
    expect(redriven.status).toBe("active");

    // The new execution gets the same time before it counts as stranded in turn.
    clock.advance(29 * 60_000);
    expect(await sweep(undefined)).toMatchObject({ escalationsRedriven: 0 });
    clock.advance(2 * 60_000);
    expect(await sweep(undefined)).toMatchObject({ escalationsRedriven: 1 });
    const again = (await loadEscalation(database.db, id))!.escalation.executionName;
    expect(again).not.toBe(redriven.executionName);

    // An acknowledge stops the execution that walks it now.
    await send({ dedup: "disk", action: "acknowledge" });
    expect(runner.calls.at(-1)).toEqual({ op: "stop", executionName: again });
    clock.advance(60 * 60_000);
    expect(await sweep(undefined)).toMatchObject({ escalationsRedriven: 0 });
  });

  it("a sender's later request runs the effects its service still owes after a failure", async () => {
    failStarts = 1;
    const first = await send({ summary: "disk full", dedup: "disk" });
    expect(first.status).toBe(503);
    // Another alert of the same service, not a retry: its request also repairs the first one's start.
    const other = await send({ summary: "cpu hot", dedup: "cpu" });
    expect(other.status).toBe(200);
    const started = runner.calls.filter((c) => c.op === "start").map((c) => c.executionName);
    const executionOf = async (dedupKey: string) =>
      (
        await sql<{ execution_name: string; status: string }>`
          select e.execution_name, e.status from alert_escalations e join alerts a on a.id = e.alert_id
          where a.dedup_key = ${dedupKey}`.execute(database.db)
      ).rows[0];
    expect(new Set(started)).toEqual(new Set([(await executionOf("disk"))?.execution_name]));
    // The other alert's first step was recorded with it (its key is known now) and ended its one-step
    // policy: nothing left to walk, no start owed.
    expect(await executionOf("cpu")).toMatchObject({ status: "completed" });
    expect(
      await database.db
        .selectFrom("alert_effects")
        .select("status")
        .where("status", "=", "pending")
        .where("service_id", "=", seeded.serviceId)
        .execute(),
    ).toEqual([]);
  });
});

describe("the first step, recorded with the alerts (issue 10)", () => {
  let policyId: string;
  beforeEach(async () => {
    policyId = await seedPolicy(database.db, [
      { delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] },
      { delaySeconds: 0, targets: [{ kind: "user", id: "bob" }] },
    ]);
    await attachPolicy(database.db, seeded.serviceId, policyId);
  });

  /** The escalation's entries in the alert's log (planning adds its own after them). */
  const logOf = async (alertId: number) =>
    (
      await sql<{
        type: string;
      }>`select type from alert_events where alert_id = ${alertId}::bigint order by id`.execute(database.db)
    ).rows
      .map((r) => r.type)
      .filter((type) => type.startsWith("escalat"));

  it("records step 1 in the ingest statement once the key is known; the execution begins by waiting for step 2", async () => {
    const first = (await send({ summary: "first", dedup: "first" })).body.alerts![0]!.id;
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;

    // The key was unknown to the first request: routed after it, its step runs in the execution.
    expect(await listNotifications(database.db, first)).toEqual([]);
    expect(waits[0]).toEqual({ executionName: `alert-${first}`, waitUntil: undefined });
    // The second request's statement recorded step 1 with the alert.
    expect(await listNotifications(database.db, id)).toMatchObject([
      { stepIndex: 0, repeatCycle: 0, targetKind: "user", targetId: "alice", status: "pending" },
    ]);
    expect((await loadEscalation(database.db, id))?.escalation).toMatchObject({
      status: "active",
      stepIndex: 1,
      repeatCycle: 0,
      nextStepAt: new Date("2026-11-27T12:01:00Z"),
    });
    // Nothing pending to announce: no `escalation_started`, the step's entry names the policy.
    expect(await logOf(id)).toEqual(["escalated"]);
    expect(
      (
        await sql<{ data: { policyId: string } }>`
          select data from alert_events where alert_id = ${id}::bigint and type = 'escalated'`.execute(
          database.db,
        )
      ).rows[0]?.data.policyId,
    ).toBe(policyId);
    expect(waits[1]).toEqual({ executionName: `alert-${id}`, waitUntil: "2026-11-27T12:01:00.000Z" });
    // Its deliveries were planned by the request (alice has no contact method here: logged).
    expect(
      await database.db
        .selectFrom("alert_effects")
        .select(["kind", "status"])
        .where("service_id", "=", seeded.serviceId)
        .where("status", "=", "pending")
        .execute(),
    ).toEqual([]);
  });

  it("opens at step 1 for the execution to run when the policy changed since it was read, and reads it again", async () => {
    await send({ summary: "first", dedup: "first" });
    await send({ summary: "second", dedup: "second" }); // planned and recorded: the policy is remembered
    await sql`update escalation_steps set targets = '[{"kind": "user", "id": "carol"}]'::jsonb
      where policy_id = ${policyId}::uuid and position = (select min(position) from escalation_steps
        where policy_id = ${policyId}::uuid)`.execute(database.db);

    const stale = (await send({ summary: "third", dedup: "third" })).body.alerts![0]!.id;
    const fresh = (await send({ summary: "fourth", dedup: "fourth" })).body.alerts![0]!.id;

    // Planned from the remembered policy, which no longer holds: nothing recorded, step 1 due now.
    expect(await listNotifications(database.db, stale)).toEqual([]);
    expect((await loadEscalation(database.db, stale))?.escalation).toMatchObject({
      status: "active",
      stepIndex: 0,
      nextStepAt: new Date("2026-11-27T12:00:00Z"),
    });
    expect(await logOf(stale)).toEqual(["escalation_started"]);
    expect(waits.find((w) => w.executionName === `alert-${stale}`)).toEqual({
      executionName: `alert-${stale}`,
      waitUntil: undefined,
    });
    // The next request read the policy again: carol, recorded with the alert.
    expect(await listNotifications(database.db, fresh)).toMatchObject([{ stepIndex: 0, targetId: "carol" }]);
  });

  it("owes no start when the first step ended the policy", async () => {
    await attachPolicy(
      database.db,
      seeded.serviceId,
      await seedPolicy(database.db, [{ delaySeconds: 0, targets: [{ kind: "user", id: "alice" }] }]),
    );
    await send({ summary: "first", dedup: "first" });
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;

    expect(await listNotifications(database.db, id)).toMatchObject([{ stepIndex: 0, targetId: "alice" }]);
    expect((await loadEscalation(database.db, id))?.escalation.status).toBe("completed");
    expect(await logOf(id)).toEqual(["escalated", "escalation_completed"]);
    expect(waits.map((w) => w.executionName)).not.toContain(`alert-${id}`);
  });

  it("plans a first step's deliveries from remembered recipients until a contact method changes", async () => {
    await seedDirectoryUsers(database.db, ["dave"]);
    await sql`delete from directory_contact_methods where user_id = 'dave'`.execute(database.db);
    const method = (type: "email" | "sms", value: string) =>
      insertContactMethod(
        database.db,
        { userId: "dave", type, name: type, value, verified: true, disabled: false },
        clock.now(),
      );
    await method("email", "dave@example.com");
    await attachPolicy(
      database.db,
      seeded.serviceId,
      await seedPolicy(database.db, [
        { delaySeconds: 60, targets: [{ kind: "user", id: "dave" }] },
        { delaySeconds: 60, targets: [{ kind: "user", id: "dave" }] },
      ]),
    );
    const alert = async (dedup: string) => (await send({ summary: dedup, dedup })).body.alerts![0]!.id;
    const paged = async (id: number) =>
      (await listDeliveries(database.db, { alertId: id, limit: 10 })).items
        .map((d) => d.destinationKind)
        .sort();
    const plannedAfter = async (id: number) =>
      (
        await sql`select id from alert_effects
          where kind = 'notifications.deliver' and alert_ids @> ${JSON.stringify([id])}::jsonb`.execute(
          database.db,
        )
      ).rows.length > 0;

    await alert("first"); // routed after the statement
    const remembered = [await alert("second"), await alert("third")];
    await method("sms", "+15550100042");
    const changed = await alert("fourth");
    const reread = await alert("fifth");

    for (const id of remembered) {
      expect(await paged(id)).toEqual(["email"]);
      expect(await plannedAfter(id)).toBe(false);
    }
    // The statement saw the recipients change: it left the plan to planning after it, which read them.
    expect(await paged(changed)).toEqual(["email", "sms"]);
    expect(await plannedAfter(changed)).toBe(true);
    // The next request read them again and planned in the statement.
    expect(await paged(reread)).toEqual(["email", "sms"]);
    expect(await plannedAfter(reread)).toBe(false);
  });
});
