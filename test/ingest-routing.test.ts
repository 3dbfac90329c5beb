import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { newIntegrationSecret } from "../functions/adapters/db/stores/integration-keys.ts";
import { createAlertUseCases } from "../functions/app/alerts.ts";
import { createMaintenanceCheck, createMaintenanceWindow } from "../functions/app/maintenance.ts";
import { createRoutingRule, listRoutingDecisions, routingDepsOf } from "../functions/app/routing.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import type { RuleDraft } from "../functions/domain/routing/rules.ts";
import {
  createRecordingEscalationRunner,
  createTestAppContext,
  startedAlertIds,
} from "./support/app-context.ts";
import { describeEachDatabase } from "./support/databases.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// Routing on the webhook path: a key seen before has its triggers routed BEFORE the ingest
// statement, which writes the decisions with the alerts (no route effect); when the assumptions
// (key's service and default policy, rule-set version) moved, the statement owes the route effect
// instead and the alerts are routed after the commit, as before. Either way the same result.

describeEachDatabase("routing decided before the ingest statement", (suite) => {
  const clock = createFixedClock("2026-11-30T14:00:00Z");
  const runner = createRecordingEscalationRunner();
  let seeded: { serviceId: string; secret: string };

  /** A service and an Alertmanager key (casts spelled out: the Data API sends text). */
  async function seedKeyedService() {
    const secret = newIntegrationSecret();
    const { rows } = await sql<{ id: string }>`
      insert into services (name) values (${`svc-${randomUUID()}`}) returning id`.execute(suite.handle.db);
    const serviceId = rows[0]!.id;
    await sql`
      insert into integration_keys (service_id, name, type, secret_hash, secret_prefix)
      values (${serviceId}::uuid, 'am', 'alertmanager', ${secret.hash}, ${secret.displayPrefix})
    `.execute(suite.handle.db);
    return { serviceId, secret: secret.secret };
  }
  let policyA: string;
  let defaultPolicy: string;
  const ctx = () => createTestAppContext(suite.handle, { clock, escalations: runner });
  let alerts: ReturnType<typeof createAlertUseCases>;

  beforeEach(async () => {
    const db = suite.handle.db;
    await db.deleteFrom("routing_rules").execute();
    await db
      .updateTable("routing_rule_set")
      .set((eb) => ({ version: eb("version", "+", 1) }))
      .execute();
    runner.calls.length = 0;
    seeded = await seedKeyedService();
    // Two steps, the second an hour later: the first is recorded with the alerts (issue 10), the
    // execution waits for the second.
    const twoSteps = (who: string) => [
      { delaySeconds: 3600, targets: [{ kind: "user" as const, id: who }] },
      { delaySeconds: 0, targets: [{ kind: "user" as const, id: who }] },
    ];
    policyA = await seedPolicy(db, twoSteps("dba"));
    defaultPolicy = await seedPolicy(db, twoSteps("oncall"));
    await attachPolicy(db, seeded.serviceId, defaultPolicy);
    // Dave is a person the directory knows (a rule may notify only such), with no contact method yet.
    await sql`insert into directory_users (id, name, email, time_zone, slack_user_id, teams_user_id, created_at, updated_at)
      values ('dave', 'Dave', 'dave@example.com', 'Europe/Berlin', '', '', now(), now())
      on conflict (id) do nothing`.execute(db);
    alerts = createAlertUseCases(ctx());
    const deps = routingDepsOf(ctx());
    const rule = (draft: Omit<RuleDraft, "description" | "enabled" | "terminal">): RuleDraft => ({
      description: "",
      enabled: true,
      terminal: true,
      serviceIds: [seeded.serviceId],
      ...draft,
    });
    await createRoutingRule(deps, {
      actor: "admin",
      draft: rule({
        name: "db to A",
        condition: {
          matchers: [{ field: { kind: "label", name: "team" }, operator: "equals", value: "db" }],
        },
        actions: [
          { kind: "set_labels", labels: { routed_by: "db rule" } },
          { kind: "set_severity", severity: "critical" },
          { kind: "route", policyId: policyA },
          { kind: "notify_user", userId: "dave" },
        ],
      }),
    });
    await createRoutingRule(deps, {
      actor: "admin",
      draft: rule({
        name: "staging",
        condition: { matchers: [], cel: 'has(alert.labels.env) && alert.labels.env == "staging"' },
        actions: [
          { kind: "suppress", reason: "staging is not paged" },
          { kind: "notify_user", userId: "dave" },
        ],
      }),
    });
  });

  const post = (labels: Record<string, string>[]) =>
    alerts.ingest({
      source: "alertmanager",
      secret: seeded.secret,
      body: {
        version: "4",
        status: "firing",
        alerts: labels.map((l) => ({
          status: "firing",
          labels: { alertname: "Disk", ...l },
          annotations: { summary: `disk ${l.host}` },
          fingerprint: `fp-${l.host}`,
        })),
      },
    });

  const routeEffects = async () =>
    Number(
      (
        await suite.handle.db
          .selectFrom("alert_effects")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("kind", "=", "route")
          .where("service_id", "=", sql<string>`${seeded.serviceId}::uuid`)
          .executeTakeFirstOrThrow()
      ).n,
    );

  const alertRow = (id: number | null) =>
    suite.handle.db
      .selectFrom("alerts as a")
      .select(["a.labels", "a.severity", "a.routing_state as state", "a.routing_reason as reason"])
      .where("a.id", "=", id ?? -1)
      .executeTakeFirstOrThrow();

  const eventTypes = async (id: number | null) =>
    (
      await suite.handle.db
        .selectFrom("alert_events")
        .select("type")
        .where("alert_id", "=", id ?? -1)
        .orderBy("id")
        .execute()
    ).map((e) => e.type);

  /** The alert's first log entry: a decision written with the alert is its message and data. */
  const createdEntry = (id: number | null) =>
    suite.handle.db
      .selectFrom("alert_events")
      .select(["id", "type", "message", "data"])
      .where("alert_id", "=", id ?? -1)
      .orderBy("id")
      .executeTakeFirstOrThrow();

  it("writes the decisions with the alerts of a known key: labels, severity, state, log, notifications, starts", async () => {
    // The first request of this process: the key is unknown, routing runs after the commit.
    const first = await post([{ host: "a", team: "web" }]);
    expect(await routeEffects()).toBe(1);
    const second = await post([
      { host: "b", team: "db" },
      { host: "c", team: "web", env: "staging" },
      { host: "d", team: "web" },
    ]);
    expect(await routeEffects()).toBe(1); // routed inside the statement: no route effect
    const [db, staging, plain] = second.results.map((r) => r.alertId);

    expect(await alertRow(db!)).toMatchObject({
      labels: { alertname: "Disk", host: "b", team: "db", routed_by: "db rule" },
      severity: "critical",
      state: null,
    });
    // The rule's direct notification to Dave owes its delivery, planned right after the commit: he
    // has no contact method, which the alert's log says (never a silent skip).
    // Its policy's first step too, recorded with it (dba has no contact method either). The decision
    // is the created entry's (one entry for creation and routing).
    expect(await eventTypes(db!)).toEqual(["created", "escalated", "no_contact_method", "no_contact_method"]);
    expect(await createdEntry(db!)).toMatchObject({
      type: "created",
      message: expect.stringContaining(`Routed to escalation policy ${policyA} by rule`),
      data: { outcome: "routed", policyId: policyA, matched: expect.any(Array) },
    });
    expect(await alertRow(staging!)).toMatchObject({ state: "suppressed", reason: "staging is not paged" });
    expect(await eventTypes(staging!)).toEqual(["created"]);
    expect(await createdEntry(staging!)).toMatchObject({
      message: "Suppressed: staging is not paged",
      data: { outcome: "suppressed", reason: "staging is not paged" },
    });
    const notified = await suite.handle.db
      .selectFrom("notifications")
      .select(["target_kind", "target_id"])
      .where("alert_id", "=", db!)
      .orderBy("step_index")
      .execute();
    // Dave by the rule; dba by the first step of policy A, recorded with the alert (issue 10).
    expect(notified).toEqual([
      { target_kind: "user", target_id: "dave" },
      { target_kind: "user", target_id: "dba" },
    ]);
    // No rule matched: the service default (the decision is logged: rules were evaluated).
    expect(await eventTypes(plain!)).toEqual(["created", "escalated", "no_contact_method"]);
    expect(await createdEntry(plain!)).toMatchObject({
      data: { outcome: "routed", policyId: defaultPolicy, policySource: "service_default" },
    });

    // One cohort per policy, named as cohortExecutionName names one alert's.
    expect(runner.calls.map((c) => c.executionName)).toEqual(
      expect.arrayContaining([`alert-${db}`, `alert-${plain}`]),
    );
    const started = await startedAlertIds(suite.handle.db, runner);
    expect(started.sort((x, y) => x - y)).toEqual(
      [first.results[0]!.alertId!, db!, plain!].sort((x, y) => x - y),
    );
    const policies = await suite.handle.db
      .selectFrom("alert_escalations")
      .select(["alert_id", "policy_id"])
      .where("alert_id", "in", [db!, plain!])
      .orderBy("alert_id")
      .execute();
    expect(policies.map((p) => p.policy_id)).toEqual([policyA, defaultPolicy]);

    // ListRoutingDecisions answers them with the decision's type, by alert and by service.
    const decisions = await listRoutingDecisions(routingDepsOf(ctx()), { alertId: db!, limit: 10 });
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      eventId: Number((await createdEntry(db!)).id),
      type: "routed",
      message: expect.stringContaining(`Routed to escalation policy ${policyA} by rule`),
    });
    expect(decisions[0]?.decision).toMatchObject({
      outcome: "routed",
      policyId: policyA,
      durationMicros: expect.any(Number),
    });
    const ofService = await listRoutingDecisions(routingDepsOf(ctx()), {
      serviceId: seeded.serviceId,
      limit: 10,
    });
    expect(ofService.map((d) => [d.alertId, d.type]).sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([
      [first.results[0]!.alertId, "routed"],
      [db, "routed"],
      [staging, "suppressed"],
      [plain, "routed"],
    ]);
  });

  it("writes and lists a decision once per request for the alerts that share it", async () => {
    await post([{ host: "warm3", team: "web" }]);
    const request = await post([
      { host: "g1", team: "db" },
      { host: "s1", team: "web", env: "staging" },
      { host: "g2", team: "db" },
      { host: "s2", team: "web", env: "staging" },
      { host: "g3", team: "db" },
    ]);
    const ids = request.results.map((r) => r.alertId!);
    const [g1, s1, g2, s2, g3] = ids;
    const rows = await suite.handle.db
      .selectFrom("routing_decisions")
      .select(["type", "alert_ids", "event_ids"])
      .where("alert_ids", "&&", sql<number[]>`array[${sql.join(ids.map((id) => sql`${id}::bigint`))}]`)
      .orderBy("id")
      .execute();
    // One row per decision of the request, each listing its alerts' created entries in order.
    expect(rows.map((r) => [r.type, r.alert_ids.map(Number).sort((x, y) => x - y)])).toEqual(
      expect.arrayContaining([
        ["routed", [g1, g2, g3].sort((x, y) => x! - y!)],
        ["suppressed", [s1, s2].sort((x, y) => x! - y!)],
      ]),
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const entries = await Promise.all(row.alert_ids.map((id) => createdEntry(Number(id))));
      expect(entries.map((e) => Number(e.id))).toEqual(row.event_ids.map(Number));
    }
    // Each alert's created entry carries the shared decision; each alert has its own labels.
    expect(await createdEntry(g2!)).toMatchObject({
      type: "created",
      data: { outcome: "routed", policyId: policyA, durationMicros: expect.any(Number) },
    });
    expect((await alertRow(g3!)).labels).toEqual({
      alertname: "Disk",
      host: "g3",
      team: "db",
      routed_by: "db rule",
    });
    expect((await alertRow(s2!)).labels).toEqual({
      alertname: "Disk",
      host: "s2",
      team: "web",
      env: "staging",
    });
    const ofService = await listRoutingDecisions(routingDepsOf(ctx()), {
      serviceId: seeded.serviceId,
      limit: 3,
    });
    // Newest entry first (alerts are written in dedup-key order), entry by entry across the two rows.
    const typeOf = new Map([g1, g2, g3].map((id) => [id, "routed"]));
    const entries = await Promise.all(
      ids.map(async (id) => ({ id, entry: Number((await createdEntry(id)).id) })),
    );
    const newest = entries.sort((x, y) => y.entry - x.entry).slice(0, 3);
    expect(ofService.map((d) => [d.alertId, d.type])).toEqual(
      newest.map(({ id }) => [id, typeOf.get(id) ?? "suppressed"]),
    );
  });

  it("keeps the sender's labels on a deduplicated trigger, as before", async () => {
    await post([{ host: "warm", team: "web" }]);
    const opened = await post([{ host: "e", team: "db" }]);
    const again = await post([{ host: "e", team: "db" }]);
    expect(again.results[0]).toMatchObject({ alertId: opened.results[0]!.alertId, outcome: "deduplicated" });
    expect((await alertRow(opened.results[0]!.alertId)).labels).toEqual({
      alertname: "Disk",
      host: "e",
      team: "db",
    });
    expect(await eventTypes(opened.results[0]!.alertId)).toEqual([
      "created",
      "escalated",
      "no_contact_method",
      "no_contact_method",
      "duplicate_suppressed",
    ]);
  });

  it("owes the route effect when the rule set or the default policy moved since the decision", async () => {
    await post([{ host: "warm2", team: "web" }]);
    expect(await routeEffects()).toBe(1);
    // A rule changed behind this process's back: the statement sees another version.
    await suite.handle.db
      .updateTable("routing_rule_set")
      .set((eb) => ({ version: eb("version", "+", 1) }))
      .execute();
    const stale = await post([{ host: "f", team: "db" }]);
    expect(await routeEffects()).toBe(2);
    expect(await alertRow(stale.results[0]!.alertId)).toMatchObject({
      labels: { routed_by: "db rule" },
      severity: "critical",
    });
    expect(await eventTypes(stale.results[0]!.alertId)).toEqual([
      "created",
      "routed",
      "escalation_started",
      "no_contact_method",
    ]);

    // The service's default policy changed: decisions made for the old one are not written.
    await attachPolicy(suite.handle.db, seeded.serviceId, policyA);
    const moved = await post([{ host: "g", team: "web" }]);
    expect(await routeEffects()).toBe(3);
    const started = await suite.handle.db
      .selectFrom("alert_escalations")
      .select("policy_id")
      .where("alert_id", "=", moved.results[0]!.alertId!)
      .executeTakeFirstOrThrow();
    expect(started.policy_id).toBe(policyA);
  });
  it("routes as before rules existed when no rule applies to the service, unless a window covers the alert", async () => {
    // The rules of beforeEach are scoped to the other service: none applies to these two.
    const withDefault = await seedKeyedService();
    await attachPolicy(suite.handle.db, withDefault.serviceId, defaultPolicy);
    const bare = await seedKeyedService();
    const maintenance = createMaintenanceCheck({ db: () => suite.handle.db, clock });
    const routed = createAlertUseCases(
      createTestAppContext(suite.handle, { clock, escalations: runner, maintenance }),
    );
    const send = (key: { secret: string }, hosts: string[]) =>
      routed.ingest({
        source: "alertmanager",
        secret: key.secret,
        body: {
          version: "4",
          status: "firing",
          alerts: hosts.map((host) => ({
            status: "firing",
            labels: { alertname: "Disk", host },
            annotations: { summary: `disk ${host}` },
            fingerprint: `fp-${host}`,
          })),
        },
      });
    const routeEffectsOf = async (serviceId: string) =>
      (
        await suite.handle.db
          .selectFrom("alert_effects")
          .select("id")
          .where("kind", "=", "route")
          .where("service_id", "=", sql<string>`${serviceId}::uuid`)
          .execute()
      ).length;
    // A window over one host (the check reads windows once per TTL of the clock: created first).
    await createMaintenanceWindow(
      { database: suite.handle, clock },
      {
        name: "rebuild",
        reason: "disk swap",
        owner: "u-ops",
        action: "suppress",
        schedule: {
          kind: "once",
          startAt: new Date(clock.now().getTime() - 60_000),
          endAt: new Date(clock.now().getTime() + 3_600_000),
        },
        scope: { serviceIds: [withDefault.serviceId], labelMatchers: ['host="w5"'], cel: "" },
      },
      "u-ops",
    );
    // First requests: keys unknown, routed after the commit (rule set compiled there).
    await send(withDefault, ["w1"]);
    await send(bare, ["b1"]);
    expect([await routeEffectsOf(withDefault.serviceId), await routeEffectsOf(bare.serviceId)]).toEqual([
      1, 1,
    ]);

    const escalated = await send(withDefault, ["w2", "w3"]);
    const unrouted = await send(bare, ["b2", "b3"]);
    // Decided in the statement: no route effect, no routing entry in the log (as without rules).
    expect([await routeEffectsOf(withDefault.serviceId), await routeEffectsOf(bare.serviceId)]).toEqual([
      1, 1,
    ]);
    for (const r of escalated.results) {
      expect(await eventTypes(r.alertId)).toEqual(["created", "escalated", "no_contact_method"]);
      expect(await alertRow(r.alertId)).toMatchObject({ state: null });
    }
    const escalations = await suite.handle.db
      .selectFrom("alert_escalations")
      .select("policy_id")
      .where(
        "alert_id",
        "in",
        escalated.results.map((r) => r.alertId!),
      )
      .execute();
    expect(escalations.map((e) => e.policy_id)).toEqual([defaultPolicy, defaultPolicy]);
    for (const r of unrouted.results) {
      expect(await eventTypes(r.alertId)).toEqual(["created"]);
      expect(await alertRow(r.alertId)).toMatchObject({
        state: "unrouted",
        reason: "no rule chose a policy and the service has no default policy",
      });
    }
    // The same as the route effect decided for the first alerts.
    const firstBare = await suite.handle.db
      .selectFrom("alerts")
      .select("id")
      .where("service_id", "=", sql<string>`${bare.serviceId}::uuid`)
      .where("dedup_key", "=", "fp-b1")
      .executeTakeFirstOrThrow();
    expect(await alertRow(Number(firstBare.id))).toMatchObject({ state: "unrouted" });

    // A trigger the window covers: that request is decided alert by alert (suppressed, logged).
    const covered = await send(withDefault, ["w4", "w5"]);
    expect(await routeEffectsOf(withDefault.serviceId)).toBe(1);
    const [w4, w5] = covered.results.map((r) => r.alertId);
    expect(await eventTypes(w4!)).toEqual(["created", "escalated", "no_contact_method"]);
    expect(await alertRow(w5!)).toMatchObject({ state: "suppressed" });
    expect(await eventTypes(w5!)).toEqual(["created"]);
    expect(await createdEntry(w5!)).toMatchObject({
      message: expect.stringMatching(/^Suppressed: .*disk swap/),
      data: { outcome: "suppressed", maintenance: { action: "suppress", windowName: "rebuild" } },
    });
  });
});
