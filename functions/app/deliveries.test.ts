import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { createTestAppContext } from "../../test/support/app-context.ts";
import { describeEachDatabase } from "../../test/support/databases.ts";
import {
  contactMethod,
  createHttpTestProviders,
  createMemoryChannels,
  createMemoryDirectory,
  type Receiver,
  startReceiver,
  testDeliveryRuntime,
  user,
} from "../../test/support/delivery.ts";
import { attachPolicy, seedPolicy } from "../../test/support/seed-oncall.ts";
import { applySignals } from "../adapters/db/stores/alert-signals.ts";
import { acknowledgeAlert } from "../adapters/db/stores/alerts.ts";
import {
  createRule,
  type DeliveryRecord,
  listDeliveries,
  setStatusUpdatesOptIn,
} from "../adapters/db/stores/deliveries.ts";
import { listNotifications, openEscalations } from "../adapters/db/stores/escalations.ts";
import { createIntegrationKey, createService } from "../adapters/db/stores/services.ts";
import { metrics } from "../adapters/observability.ts";
import { loadDefaultTemplates } from "../adapters/templates/default-templates.ts";
import { createFixedClock } from "../domain/clock.ts";
import { runEscalationStep } from "../domain/escalation/index.ts";
import { MAX_DELIVERY_ATTEMPTS } from "../domain/notifications/retry.ts";
import { createAlertUseCases } from "./alerts.ts";
import type { AppContext } from "./context.ts";
import { claimDeliveries, deliveryDepsOf, sendDueDeliveries } from "./deliveries.ts";
import { deliveryPlanningDepsOf, planNotifications, sendStatusUpdates } from "./delivery-planning.ts";
import type { SendTimer } from "./delivery-runtime.ts";
import { effectDepsOf } from "./effect-registry.ts";
import { runOwedEffectsOfAlerts } from "./effects.ts";
import { createEscalationStepPorts } from "./escalation-ports.ts";
import { createSendSlots } from "./send-slots.ts";
import { createTemplateUseCases } from "./templates.ts";

describeEachDatabase("deliveries", (suite) => {
  const clock = createFixedClock("2026-11-29T10:00:00Z");
  const db = () => suite.handle.db;
  let receiver: Receiver;
  let ctx: AppContext;
  let serviceId: string;
  const directory = createMemoryDirectory();
  const channels = createMemoryChannels();

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  beforeEach(async () => {
    clock.set("2026-11-29T10:00:00Z");
    receiver.requests.length = 0;
    await sql`delete from deliveries`.execute(db());
    await sql`delete from notification_rules`.execute(db());
    await sql`delete from notification_preferences`.execute(db());
    directory.users.splice(0, Infinity, user("alice", "Alice"), user("bob", "Bob"), user("nobody"));
    directory.methods.splice(
      0,
      Infinity,
      contactMethod("alice", "alice-hook", "webhook", `${receiver.url}/alice`),
      contactMethod("alice", "alice-sms", "sms", "+15550100001"),
      contactMethod("alice", "alice-mail", "email", "alice@example.com", { verified: false }),
      contactMethod("bob", "bob-hook", "webhook", `${receiver.url}/bob`),
    );
    channels.channels.splice(0, Infinity, {
      id: "ops",
      name: "ops",
      config: { type: "slack", webhookUrl: `${receiver.url}/slack/ops` },
    });
    ctx = createTestAppContext(suite.handle, {
      clock,
      directory,
      delivery: testDeliveryRuntime({
        providers: createHttpTestProviders(receiver.url),
        channels,
        settings: {
          sendTimeoutMs: 10_000,
          maxAttempts: 3,
          leaseMs: 60_000,
          concurrency: 8,
          consoleUrl: "https://oncall.example.com",
        },
      }),
    });
    serviceId = (await createService(db(), {
      name: `payments-${Math.random().toString(36).slice(2, 8)}`,
      description: "",
      escalationPolicyId: null,
      now: clock.now(),
    }))!.id;
  });

  const deps = () => ({ ...deliveryDepsOf(ctx), random: () => 0.5 });

  /** An alert whose first step notifies `targets`, run through the real step task and its hook. */
  async function alertNotifying(
    targets: { kind: "user" | "channel"; id: string }[],
    dedupKey = `k-${Math.random()}`,
  ): Promise<number> {
    const policyId = await seedPolicy(db(), [
      { delaySeconds: 60, targets },
      { delaySeconds: 60, targets: [{ kind: "user", id: "bob" }] },
    ]);
    await attachPolicy(db(), serviceId, policyId);
    const { results } = await applySignals(db(), {
      serviceId,
      actor: "test",
      now: clock.now(),
      signals: [
        {
          action: "trigger",
          dedupKey,
          summary: "Disk full on db-1",
          details: "",
          severity: "critical",
          source: "generic",
          labels: {},
          annotations: {},
        },
      ],
    });
    const alertId = results[0]!.alertId!;
    await openEscalations(db(), { alertIds: [alertId], policyId, now: clock.now() });
    await runStep(alertId);
    return alertId;
  }

  async function runStep(alertId: number) {
    const ports = createEscalationStepPorts({
      db: db(),
      clock,
      notified: (ids) => runOwedEffectsOfAlerts(effectDepsOf(ctx), "notifications.deliver", ids),
    });
    // A lone alert's cohort execution is named after it.
    return runEscalationStep(ports, `alert-${alertId}`);
  }

  const deliveriesOf = async (alertId: number) =>
    (await listDeliveries(db(), { alertId, limit: 100 })).items.sort((a, b) => a.id - b.id);

  const eventsOf = async (alertId: number, type: string) =>
    (
      await sql<{
        message: string;
      }>`select message from alert_events where alert_id = ${alertId}::bigint and type = ${type}`.execute(
        db(),
      )
    ).rows;

  /** A notification rule of Alice's: `contactMethodId` after `delayMinutes`. */
  const aliceRule = (contactMethodId: string, delayMinutes: number) =>
    createRule(db(), { userId: "alice", contactMethodId, delayMinutes, maxRules: 50, now: clock.now() });

  it("plans a user's rules (delays from the step) and a channel, and sends what is due, once", async () => {
    await aliceRule("alice-hook", 0);
    await aliceRule("alice-sms", 5);
    const alertId = await alertNotifying([
      { kind: "user", id: "alice" },
      { kind: "channel", id: "ops" },
    ]);
    const planned = await deliveriesOf(alertId);
    expect(planned.map((d) => [d.recipientId, d.destinationKind, d.nextAttemptAt.toISOString()])).toEqual([
      ["alice", "webhook", "2026-11-29T10:00:00.000Z"],
      ["ops", "slack_webhook", "2026-11-29T10:00:00.000Z"],
      ["alice", "sms", "2026-11-29T10:05:00.000Z"],
    ]);

    const first = await sendDueDeliveries(deps(), { limit: 50 });
    expect(first).toMatchObject({ claimed: 2, sent: 2 });
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(["/alice", "/slack/ops"]);
    const slack = receiver.requests.find((r) => r.path === "/slack/ops")!.json as {
      text: string;
      blocks: string;
    };
    expect(slack.text).toContain("Disk full on db-1");
    expect(JSON.parse(slack.blocks)).toHaveProperty("blocks");
    const hook = receiver.requests.find((r) => r.path === "/alice")!;
    expect(hook.headers["idempotency-key"]).toBe(planned[0]!.idempotencyKey);
    expect(planned[0]!.idempotencyKey).toBe(
      `alert:${alertId}/pass:0/step:0/user:alice/cm:alice-hook+0m/alert`,
    );

    // Running the step task again, and the planner again, owes nothing more.
    await runStep(alertId);
    await runOwedEffectsOfAlerts(effectDepsOf(ctx), "notifications.deliver", [alertId]);
    expect(await deliveriesOf(alertId)).toHaveLength(3);
    expect(await sendDueDeliveries(deps(), { limit: 50 })).toMatchObject({ claimed: 0 });

    clock.advance(5 * 60_000);
    expect(await sendDueDeliveries(deps(), { limit: 50 })).toMatchObject({ claimed: 1, sent: 1 });
    expect(receiver.requests.map((r) => r.path)).toContain("/sms/%2B15550100001");
    const sent = await deliveriesOf(alertId);
    expect(sent.map((d) => d.status)).toEqual(["sent", "sent", "sent"]);
    expect(sent[0]).toMatchObject({ templateId: "default-alert", templateVersion: 1, attempts: 1 });
  });

  it("a first step the ingest statement records gets the deliveries and entries planning after a step writes", async () => {
    await aliceRule("alice-hook", 0);
    await aliceRule("alice-sms", 5);
    const targets = [
      { kind: "user" as const, id: "alice" },
      { kind: "channel" as const, id: "ops" },
      { kind: "user" as const, id: "nobody" },
    ];
    // Today's other path: the step task records the step, planning runs after it.
    const stepped = await alertNotifying(targets);
    const key = await createIntegrationKey(db(), {
      serviceId,
      name: "generic",
      type: "generic",
      rateLimitPerMinute: null,
      now: clock.now(),
    });
    const policyId = await seedPolicy(db(), [
      { delaySeconds: 60, targets },
      { delaySeconds: 60, targets: [{ kind: "user", id: "bob" }] },
    ]);
    await attachPolicy(db(), serviceId, policyId);
    const alerts = createAlertUseCases(ctx);
    const ingest = async (dedup: string) => {
      const { results } = await alerts.ingest({
        source: "generic",
        secret: key!.secret,
        body: { summary: "Disk full on db-1", dedup },
      });
      return results[0]!.alertId!;
    };
    await ingest("first"); // the key's first request routes after the statement
    const ingested = await ingest("second"); // routed, stepped and planned by the statement itself

    const same = (d: DeliveryRecord, alertId: number) => {
      const { id, alertId: a, notificationId, idempotencyKey, createdAt, updatedAt, ...rest } = d;
      return { ...rest, key: idempotencyKey.replace(`alert:${alertId}/`, "alert:*/") };
    };
    const planned = await deliveriesOf(ingested);
    expect(planned.map((d) => same(d, ingested))).toEqual(
      (await deliveriesOf(stepped)).map((d) => same(d, stepped)),
    );
    expect(planned.map((d) => d.idempotencyKey)).toEqual([
      `alert:${ingested}/pass:0/step:0/user:alice/cm:alice-hook+0m/alert`,
      `alert:${ingested}/pass:0/step:0/channel:ops/channel:ops/alert`,
      `alert:${ingested}/pass:0/step:0/user:alice/cm:alice-sms+5m/alert`,
    ]);
    const notifications = await listNotifications(db(), ingested);
    expect(planned.map((d) => d.notificationId)).toEqual(
      ["alice", "ops", "alice"].map((id) => notifications.find((n) => n.targetId === id)!.id),
    );
    // Planned already: no notification left for the planner, no delivery effect owed.
    const { rows: unplanned } = await sql`
      select id from notifications where alert_id = ${ingested}::bigint and planned_at is null`.execute(db());
    expect(unplanned).toEqual([]);
    const { rows: owed } = await sql`
      select id from alert_effects where kind = 'notifications.deliver' and alert_ids @> ${JSON.stringify([ingested])}::jsonb`.execute(
      db(),
    );
    expect(owed).toEqual([]);
    // The log: the step's entries, then planning's (nobody has no contact method).
    const log = async (alertId: number) =>
      (
        await sql<{ type: string; message: string; data: unknown }>`
          select type, message, data from alert_events where alert_id = ${alertId}::bigint
            and type in ('escalated', 'no_contact_method') order by id`.execute(db())
      ).rows;
    // The same entries, each step's naming the policy it walks (the two alerts walk different ones).
    const [ingestedLog, steppedLog] = [await log(ingested), await log(stepped)];
    expect(ingestedLog[0]?.data).toMatchObject({ policyId });
    const withoutPolicy = (entries: { type: string; message: string; data: unknown }[]) =>
      entries.map(({ data, ...e }) => {
        const { policyId: _, ...rest } = data as Record<string, unknown>;
        return { ...e, data: rest };
      });
    expect(withoutPolicy(ingestedLog)).toEqual(withoutPolicy(steppedLog));
    expect(ingestedLog.map((e) => e.type)).toEqual(["escalated", "no_contact_method"]);

    expect(await sendDueDeliveries(deps(), { limit: 50 })).toMatchObject({ claimed: 4, sent: 4 });
  });

  it("an alert's deliveries go with it, deleted or truncated (no key since 2026-11-30T0710)", async () => {
    await aliceRule("alice-hook", 0);
    const [gone, kept] = [
      await alertNotifying([{ kind: "user", id: "alice" }]),
      await alertNotifying([{ kind: "user", id: "alice" }]),
    ];
    expect(await deliveriesOf(gone)).toHaveLength(1);

    await sql`delete from alerts where id = ${gone}::bigint`.execute(db());
    expect(await deliveriesOf(gone)).toEqual([]);
    expect(await deliveriesOf(kept)).toHaveLength(1);

    await sql`truncate alerts cascade`.execute(db());
    expect(await deliveriesOf(kept)).toEqual([]);
  });

  it("a bundle that goes with its alert leaves the deliveries it carried unbundled (no key since 2026-11-30T0900)", async () => {
    await aliceRule("alice-hook", 0);
    const [bundleAlert, carriedAlert] = [
      await alertNotifying([{ kind: "user", id: "alice" }]),
      await alertNotifying([{ kind: "user", id: "alice" }]),
    ];
    const [bundle] = await deliveriesOf(bundleAlert);
    const [carried] = await deliveriesOf(carriedAlert);
    await sql`update deliveries set bundled_into = ${bundle!.id}::bigint where id = ${carried!.id}::bigint`.execute(
      db(),
    );
    expect((await deliveriesOf(carriedAlert))[0]?.bundledInto).toBe(bundle!.id);

    await sql`delete from alerts where id = ${bundleAlert}::bigint`.execute(db());
    expect(await deliveriesOf(bundleAlert)).toEqual([]);
    expect(await deliveriesOf(carriedAlert)).toMatchObject([{ id: carried!.id, bundledInto: null }]);
  });

  it("renders a channel message from the template a routing rule pinned", async () => {
    const templates = createTemplateUseCases({ db, clock, defaults: loadDefaultTemplates });
    const pinned = await templates.create({
      name: `pinned-${Math.random().toString(36).slice(2, 8)}`,
      description: "",
      kind: "alert",
      variants: { slack: { blocks: '{"blocks": []}', text: "PINNED {{alert.summary}}" } },
      changeNote: "",
      author: "test",
    });
    const alertId = await alertNotifying([{ kind: "user", id: "nobody" }]);
    // A routing rule's direct notification, as the route effect records it (app/routing.ts).
    await sql`
      insert into notifications (alert_id, repeat_cycle, step_index, target_kind, target_id, reason, created_at)
      values (${alertId}::bigint, 0, -1, 'channel', 'ops',
        ${JSON.stringify({ via: "routing", ruleId: "r1", templateId: pinned.template.id })}::jsonb,
        ${clock.now().toISOString()}::timestamptz)
    `.execute(db());
    await planNotifications(deliveryPlanningDepsOf(ctx), [alertId]);
    const planned = (await deliveriesOf(alertId)).filter((d) => d.recipientId === "ops");
    expect(planned.map((d) => d.templateId)).toEqual([pinned.template.id]);

    await sendDueDeliveries(deps(), { limit: 50 });
    const slack = receiver.requests.filter((r) => r.path === "/slack/ops");
    expect(slack).toHaveLength(1);
    expect((slack[0]!.json as { text: string }).text).toBe("PINNED Disk full on db-1");
    const [sent] = (await deliveriesOf(alertId)).filter((d) => d.recipientId === "ops");
    expect(sent).toMatchObject({ status: "sent", templateId: pinned.template.id, templateVersion: 1 });
  });

  it("records no_contact_method for a user with nothing usable, and for an unknown user", async () => {
    await aliceRule("alice-mail", 0);
    const alertId = await alertNotifying([
      { kind: "user", id: "alice" },
      { kind: "user", id: "ghost" },
      { kind: "user", id: "nobody" },
    ]);
    expect(await deliveriesOf(alertId)).toEqual([]);
    const problems = await eventsOf(alertId, "no_contact_method");
    expect(problems.map((p) => p.message).sort()).toEqual([
      "alice has no usable notification rule: nobody was paged through them",
      "ghost is not in the directory: nobody was paged through them",
      "nobody has no contact method: nobody was paged through them",
    ]);
  });

  it("a user without rules is paged on each usable contact method at once", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "alice" }]);
    expect((await deliveriesOf(alertId)).map((d) => d.contactMethodId).sort()).toEqual([
      "alice-hook",
      "alice-sms",
    ]);
  });

  it("500 then 200: one message after a retry with backoff", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script({ status: 500 });
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ retried: 1, sent: 0 });
    const [waiting] = await deliveriesOf(alertId);
    expect(waiting).toMatchObject({ status: "pending", attempts: 1, lastError: "HTTP 500" });
    // Half jitter at random 0.5 of a 2 s ceiling: 1.5 s.
    expect(waiting!.nextAttemptAt.getTime() - clock.now().getTime()).toBe(1_500);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ claimed: 0 });
    clock.advance(1_500);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ sent: 1 });
    expect(receiver.requests.filter((r) => r.path === "/bob")).toHaveLength(2);
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("429 with Retry-After: 2 is not tried again before 2 s", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script({ status: 429, headers: { "retry-after": "2" } });
    await sendDueDeliveries(deps(), { limit: 10 });
    const [waiting] = await deliveriesOf(alertId);
    expect(waiting!.nextAttemptAt.getTime() - clock.now().getTime()).toBe(2_000);
    clock.advance(1_999);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ claimed: 0 });
    clock.advance(1);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ sent: 1 });
    expect(receiver.requests.filter((r) => r.path === "/bob")).toHaveLength(2);
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("400 fails at once, is not retried, and is on the alert's log", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script({ status: 400 });
    const counted = vi.spyOn(metrics, "addMetric");
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ failed: 1 });
    // The metric the failure-rate alarm reads (infra/constructs/delivery.ts).
    expect(counted).toHaveBeenCalledWith("DeliveriesFailed", MetricUnit.Count, 1);
    counted.mockRestore();
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "failed", attempts: 1 });
    clock.advance(3_600_000);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ claimed: 0 });
    expect(receiver.requests).toHaveLength(1);
    const [event] = await eventsOf(alertId, "notification_failed");
    expect(event!.message).toContain("HTTP 400");
  });

  it("a provider down for five minutes: the page goes when it is back, it is not failed", async () => {
    const settings = { ...ctx.delivery.settings, maxAttempts: MAX_DELIVERY_ATTEMPTS };
    ctx = { ...ctx, delivery: { ...ctx.delivery, settings } };
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    const back = clock.now().getTime() + 5 * 60_000;
    let failedAttempts = 0;
    while (clock.now().getTime() < back) {
      receiver.script({ status: 503 });
      expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ retried: 1, failed: 0 });
      failedAttempts++;
      clock.set((await deliveriesOf(alertId))[0]!.nextAttemptAt);
    }
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ sent: 1 });
    // Backoff at random 0.5: 1.5 + 3 + 6 + 12 + 24 + 48 + 90 + 90 + 90 s: the 10th attempt is after the outage.
    expect(failedAttempts).toBe(9);
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "sent", attempts: 10 });
    expect(await eventsOf(alertId, "notification_failed")).toEqual([]);
  });

  it("a page waiting for its retry is suppressed when the alert is acknowledged", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script({ status: 503 });
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ retried: 1 });
    await acknowledgeAlert(db(), { id: alertId, actor: "bob", now: clock.now() });
    clock.advance(120_000);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ suppressed: 1, sent: 0 });
    expect(receiver.requests).toHaveLength(1);
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "suppressed", attempts: 1 });
  });

  it("a provider that does not answer in time is retried; the last attempt fails", async () => {
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script("hang", "hang", "hang");
    // The receiver never answers, so the timeout's length does not matter: keep the test short.
    const impatient = () => ({ ...deps(), settings: { ...deps().settings, sendTimeoutMs: 300 } });
    expect(await sendDueDeliveries(impatient(), { limit: 10 })).toMatchObject({ retried: 1 });
    expect((await deliveriesOf(alertId))[0]!.lastError).toBe("no answer within 300 ms");
    clock.advance(60_000);
    expect(await sendDueDeliveries(impatient(), { limit: 10 })).toMatchObject({ retried: 1 });
    clock.advance(60_000);
    expect(await sendDueDeliveries(impatient(), { limit: 10 })).toMatchObject({ failed: 1 });
    expect((await deliveriesOf(alertId))[0]).toMatchObject({ status: "failed", attempts: 3 });
  });

  it("one failing destination does not hold back another", async () => {
    directory.methods.push(contactMethod("bob", "bob-slow", "webhook", `${receiver.url}/slow`));
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script("hang");
    // Whichever goes first hangs until released (no timeout can end it: no wall-clock bound); the
    // other is sent and recorded while it hangs.
    const patient = { ...deps(), settings: { ...deps().settings, sendTimeoutMs: 3_600_000 } };
    const sending = sendDueDeliveries(patient, { limit: 10 });
    const statuses = async () => (await deliveriesOf(alertId)).map((d) => d.status).sort();
    while ((await statuses()).join() !== "sending,sent") await new Promise((r) => setTimeout(r, 20));
    await receiver.waitFor(2); // the held request has arrived: release() has something to drop
    receiver.release();
    expect(await sending).toMatchObject({ claimed: 2, sent: 1, retried: 1 });
    expect(await statuses()).toEqual(["pending", "sent"]);
  });

  it("a send's timeout runs from its send slot: one queued behind a hung send is not timed out", async () => {
    directory.methods.push(contactMethod("bob", "bob-slow", "webhook", `${receiver.url}/slow`));
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    receiver.script("hang");
    // One slot in this process, and send timers the test fires itself (no wall-clock bound).
    const slots = createSendSlots(1);
    const timers: { fire: () => void; cancelled: boolean }[] = [];
    const sendTimer: SendTimer = (_ms, onTimeout) => {
      const timer = { fire: onTimeout, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    };
    const sending = sendDueDeliveries({ ...deps(), sendSlots: slots, sendTimer }, { limit: 10 });
    // The first send holds the slot (its request hangs at the receiver); the other waits for it.
    await receiver.waitFor(1);
    // (Without slots the other would be sent, or its timer started, instead: the checks below say so.)
    while (slots.waiting < 1 && receiver.requests.length < 2 && timers.length < 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // Only the send in the slot has a timer: the wait behind it does not count against the other.
    expect(timers).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
    // Its timeout passes: it is retried, and the other one gets the slot, its timer, and goes.
    timers[0]!.fire();
    expect(await sending).toMatchObject({ claimed: 2, sent: 1, retried: 1 });
    expect(timers).toHaveLength(2);
    expect(timers[1]!.cancelled).toBe(true);
    const after = await deliveriesOf(alertId);
    const hungMethod = receiver.requests[0]!.path === "/slow" ? "bob-slow" : "bob-hook";
    const hung = after.find((d) => d.contactMethodId === hungMethod)!;
    expect(hung).toMatchObject({ status: "pending", attempts: 1, lastError: "no answer within 10000 ms" });
    expect(after.find((d) => d.id !== hung.id)).toMatchObject({ status: "sent", attempts: 1 });
    expect(receiver.requests).toHaveLength(2);
    receiver.release();
  });

  it("a claim's lease covers the sends this process owes ahead of it", async () => {
    directory.methods.push(contactMethod("bob", "bob-slow", "webhook", `${receiver.url}/slow`));
    await alertNotifying([{ kind: "user", id: "bob" }]);
    // One slot, sends of up to 30 s, leases of at least 60 s.
    const slow = {
      ...deps(),
      sendSlots: createSendSlots(1),
      settings: { ...deps().settings, sendTimeoutMs: 30_000, leaseMs: 60_000 },
    };
    const [first] = await claimDeliveries(slow, { limit: 1 });
    // Claimed, not yet sent: the next claim's message goes after it, so its lease is one send longer.
    const [second] = await claimDeliveries(slow, { limit: 1 });
    expect(first!.leaseUntil!.getTime() - clock.now().getTime()).toBe(60_000);
    expect(second!.leaseUntil!.getTime() - clock.now().getTime()).toBe(90_000);
    expect(slow.sendSlots.owed).toBe(2);
    expect(await sendDueDeliveries(slow, { limit: 10 })).toMatchObject({ claimed: 0 });
  });

  it("a page being sent when the alert is acknowledged also gets the status update", async () => {
    await setStatusUpdatesOptIn(db(), { userId: "bob", enabled: true, now: clock.now() });
    const alertId = await alertNotifying([{ kind: "user", id: "bob" }]);
    // Claimed (leased, `sending`) before the acknowledge: it goes, so the update must follow it.
    const inFlight = await claimDeliveries(deps(), { limit: 10 });
    expect(inFlight.map((d) => d.status)).toEqual(["sending"]);
    await acknowledgeAlert(db(), { id: alertId, actor: "bob", now: clock.now() });
    expect(await sendStatusUpdates(deps(), [alertId])).toBe(1);
    expect((await deliveriesOf(alertId)).map((d) => [d.messageKind, d.status])).toEqual([
      ["alert", "sending"],
      ["status_update", "pending"],
    ]);
  });

  it("acknowledging suppresses rule-delayed pages and sends status updates to opted-in users", async () => {
    await aliceRule("alice-hook", 0);
    await aliceRule("alice-sms", 5);
    await setStatusUpdatesOptIn(db(), { userId: "alice", enabled: true, now: clock.now() });
    // Bob is paged too but did not opt in: he gets no status update.
    const alertId = await alertNotifying([
      { kind: "user", id: "alice" },
      { kind: "user", id: "bob" },
    ]);
    await sendDueDeliveries(deps(), { limit: 10 });
    clock.advance(60_000);
    await acknowledgeAlert(db(), { id: alertId, actor: "alice", now: clock.now() });
    await sendStatusUpdates(deps(), [alertId]);
    const after = await deliveriesOf(alertId);
    expect(after.map((d) => [d.recipientId, d.messageKind, d.destinationKind, d.status]).sort()).toEqual([
      ["alice", "alert", "sms", "suppressed"],
      ["alice", "alert", "webhook", "sent"],
      ["alice", "status_update", "webhook", "pending"],
      ["bob", "alert", "webhook", "sent"],
    ]);
    clock.advance(5 * 60_000);
    expect(await sendDueDeliveries(deps(), { limit: 10 })).toMatchObject({ sent: 1 });
    const update = receiver.requests.at(-1)!;
    expect(update.headers["x-message-kind"]).toBe("status_update");
    expect(update.body).toContain("acknowledged");
    expect(update.path).toBe("/alice");
    // Again (a repeated effect): nothing new.
    await sendStatusUpdates(deps(), [alertId]);
    expect(await deliveriesOf(alertId)).toHaveLength(4);
  });
});
