import { create, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createRecordingEscalationRunner,
  createTestAppContext,
  startedAlertIds,
} from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { attachPolicy, seedChannel, seedPolicy, seedSchedule } from "../../../test/support/seed-oncall.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { AlertService, Severity } from "../../gen/oncall/v1/alerts_pb.ts";
import { ChannelService } from "../../gen/oncall/v1/channels_pb.ts";
import { EscalationPolicyService } from "../../gen/oncall/v1/escalation_policies_pb.ts";
import { MaintenanceAction, MaintenanceService } from "../../gen/oncall/v1/maintenance_pb.ts";
import {
  MatchField,
  MatchOperator,
  type RoutingAction,
  RoutingRuleSchema,
  RoutingService,
  RuleOutcome,
} from "../../gen/oncall/v1/routing_pb.ts";
import { ScheduleService } from "../../gen/oncall/v1/schedules_pb.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";

// RoutingService in memory (the real interceptors and stores) on every database path, and routing
// on the alert path: CreateAlert writes the `route` effect, its handler decides and writes, and the
// escalations it chose start through the recording runner.

describeEachDatabase("RoutingService", (suite) => {
  const clock = createFixedClock("2026-11-30T14:00:00Z");
  const runner = createRecordingEscalationRunner();
  let routing: ReturnType<typeof createClient<typeof RoutingService>>;
  let alerts: ReturnType<typeof createClient<typeof AlertService>>;
  let services: ReturnType<typeof createClient<typeof ServiceService>>;
  let policyA: string;
  let defaultPolicy: string;
  let serviceId: string;
  let bareService: string;
  let scheduleId: string;
  let slackDb: string;

  beforeAll(() => {
    const transport = createInMemoryTransport(
      createTestAppContext(suite.handle, { clock, escalations: runner }),
    );
    routing = createClient(RoutingService, transport);
    alerts = createClient(AlertService, transport);
    services = createClient(ServiceService, transport);
  });

  beforeEach(async () => {
    const db = suite.handle.db;
    await db.deleteFrom("routing_rules").execute();
    await db.deleteFrom("routing_rule_changes").execute();
    // Behind the RPCs' back: bump the version as every change does, or warm processes keep the old set.
    await db
      .updateTable("routing_rule_set")
      .set((eb) => ({ version: eb("version", "+", 1) }))
      .execute();
    await db.deleteFrom("services").execute();
    await db.deleteFrom("escalation_policies").execute();
    await sql`delete from deliveries`.execute(db);
    await db.deleteFrom("notification_channels").execute();
    await db.deleteFrom("business_calendars").execute();
    runner.calls.length = 0;
    clock.set("2026-11-30T14:00:00Z");
    policyA = await seedPolicy(db, [{ delaySeconds: 0, targets: [{ kind: "user", id: "dba" }] }]);
    defaultPolicy = await seedPolicy(db, [{ delaySeconds: 0, targets: [{ kind: "user", id: "oncall" }] }]);
    serviceId = (await services.createService({ name: "db" }, admin)).service!.id;
    await attachPolicy(db, serviceId, defaultPolicy);
    bareService = (await services.createService({ name: "bare" }, admin)).service!.id;
    scheduleId = await seedSchedule(db, { userId: "carol" });
    slackDb = await seedChannel(db, "slack-db");
    await sql`insert into directory_users (id, name, email, time_zone, slack_user_id, teams_user_id, created_at, updated_at)
      values ('dave', 'Dave', 'dave@example.com', 'Europe/Berlin', '', '', now(), now())
      on conflict (id) do nothing`.execute(db);
  });

  const action = (kind: RoutingAction["kind"]) => ({ kind }) as RoutingAction;
  type RuleFields = MessageInitShape<typeof RoutingRuleSchema>;
  const ruleOf = (fields: RuleFields) =>
    create(RoutingRuleSchema, { name: "rule", enabled: true, ...fields });
  const createRule = async (fields: RuleFields) =>
    (await routing.createRoutingRule({ rule: ruleOf(fields) }, admin)).rule!;

  /** The scenario's rules: critical of team db → A; staging → suppressed; info → a channel. */
  async function scenarioRules() {
    await createRule({
      name: "db critical",
      condition: {
        matchers: [{ field: MatchField.LABEL, name: "team", operator: MatchOperator.EQUALS, value: "db" }],
        cel: 'alert.severity == "critical"',
      },
      actions: [action({ case: "route", value: { escalationPolicyId: policyA } } as never)],
      terminal: true,
    });
    await createRule({
      name: "staging",
      condition: { matchers: [], cel: 'has(alert.labels.env) && alert.labels.env == "staging"' },
      actions: [action({ case: "suppress", value: { reason: "staging is not paged" } } as never)],
      terminal: true,
    });
    await createRule({
      name: "info to chat",
      condition: { matchers: [], cel: 'alert.severity == "info"' },
      actions: [action({ case: "notifyChannel", value: { channelId: slackDb, templateId: "" } } as never)],
      terminal: true,
    });
  }

  const raise = async (severity: Severity, labels: Record<string, string>, service = serviceId) =>
    (await alerts.createAlert({ serviceId: service, summary: "disk", severity, labels }, admin)).alert!;

  const eventsOf = (alertId: bigint) =>
    suite.handle.db
      .selectFrom("alert_events")
      .select(["type", "message", "data"])
      .where("alert_id", "=", Number(alertId))
      .orderBy("id")
      .execute();

  it("refuses a rule whose CEL does not compile, naming the field with line and column", async () => {
    const error = await failure(
      routing.createRoutingRule(
        {
          rule: ruleOf({
            condition: { matchers: [], cel: 'alert.severity ==\n  "critical" &&' },
            actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
          }),
        },
        admin,
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/^rule\.condition\.cel: .*line 2, column \d+/);
  });

  it("keeps a policy that a rule routes to from being deleted", async () => {
    await scenarioRules();
    const policies = createClient(
      EscalationPolicyService,
      createInMemoryTransport(createTestAppContext(suite.handle, { clock })),
    );
    const refused = await failure(policies.deleteEscalationPolicy({ id: policyA }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toMatch(/routing rule "db critical"/);
    await policies.deleteEscalationPolicy({ id: defaultPolicy }, admin);
  });

  it("refuses actions that point at nothing, and scopes that name no service", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const noPolicy = await failure(
      routing.createRoutingRule(
        {
          rule: ruleOf({
            actions: [action({ case: "route", value: { escalationPolicyId: missing } } as never)],
          }),
        },
        admin,
      ),
    );
    expect(noPolicy.code).toBe(Code.InvalidArgument);
    expect(noPolicy.rawMessage).toMatch(/^rule\.actions\[0\]\.route\.escalation_policy_id: /);
    const noSchedule = await failure(
      routing.createRoutingRule(
        {
          rule: ruleOf({
            actions: [
              action({ case: "suppress", value: { reason: "x" } } as never),
              action({ case: "notifySchedule", value: { scheduleId: missing } } as never),
            ],
          }),
        },
        admin,
      ),
    );
    expect(noSchedule.rawMessage).toMatch(/^rule\.actions\[1\]\.notify_schedule\.schedule_id: /);
    const noService = await failure(
      routing.createRoutingRule(
        {
          rule: ruleOf({
            serviceIds: [missing],
            actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
          }),
        },
        admin,
      ),
    );
    expect(noService.rawMessage).toMatch(/^rule\.service_ids\[0\]: /);
    const noChannel = await failure(
      routing.createRoutingRule(
        {
          rule: ruleOf({
            actions: [action({ case: "notifyChannel", value: { channelId: missing } } as never)],
          }),
        },
        admin,
      ),
    );
    expect(noChannel.code).toBe(Code.InvalidArgument);
    const noUser = await failure(
      routing.createRoutingRule(
        { rule: ruleOf({ actions: [action({ case: "notifyUser", value: { userId: "nobody" } } as never)] }) },
        admin,
      ),
    );
    expect(noUser.rawMessage).toMatch(
      /^rule\.actions\[0\]\.notify_user\.user_id: user nobody is not in the directory/,
    );
    expect(noChannel.rawMessage).toMatch(
      /^rule\.actions\[0\]\.notify_channel\.channel_id: notification channel .* does not exist/,
    );
    const noName = await failure(routing.createRoutingRule({ rule: ruleOf({ name: "" }) }, admin));
    expect(noName.rawMessage).toMatch(/^rule\.name: /);
    expect(await suite.handle.db.selectFrom("routing_rules").selectAll().execute()).toEqual([]);
  });

  it("bumps the version on every change and records who, when, before and after", async () => {
    const before = (await routing.listRoutingRules({}, admin)).ruleSetVersion;
    const suppress = action({ case: "suppress", value: { reason: "noise" } } as never);
    const a = await createRule({ name: "a", actions: [suppress] });
    const b = await createRule({ name: "b", actions: [suppress] });
    expect([a.priority, b.priority]).toEqual([1, 2]);
    clock.advance(60_000);
    const updated = await routing.updateRoutingRule(
      { rule: { ...a, name: "a2" }, updateMask: { paths: ["name"] } },
      admin,
    );
    expect(updated.rule).toMatchObject({ name: "a2", priority: 1, updatedBy: "admin" });
    const reordered = await routing.reorderRoutingRules({ ruleIds: [b.id, a.id] }, admin);
    expect((await routing.listRoutingRules({}, admin)).rules.map((r) => [r.name, r.priority])).toEqual([
      ["b", 1],
      ["a2", 2],
    ]);
    const stale = await failure(
      routing.reorderRoutingRules(
        { ruleIds: [a.id, b.id], expectedVersion: reordered.ruleSetVersion - 1n },
        admin,
      ),
    );
    expect(stale.code).toBe(Code.FailedPrecondition);
    const partial = await failure(routing.reorderRoutingRules({ ruleIds: [a.id] }, admin));
    expect(partial.rawMessage).toMatch(/^rule_ids: /);
    const deleted = await routing.deleteRoutingRule({ id: b.id }, admin);
    expect(deleted.ruleSetVersion).toBe(before + 5n);

    const { changes } = await routing.listRoutingRuleChanges({}, admin);
    expect(changes.map((c) => c.change)).toEqual(["deleted", "reordered", "updated", "created", "created"]);
    const update = changes[2]!;
    expect(update.ruleId).toBe(a.id);
    expect(update.actor).toBe("admin");
    const nameIn = (value: typeof update.before) =>
      value ? (toJson(ValueSchema, value) as { name?: string }).name : undefined;
    const [beforeName, afterName] = [nameIn(update.before), nameIn(update.after)];
    expect([beforeName, afterName]).toEqual(["a", "a2"]);
    const ofA = await routing.listRoutingRuleChanges({ ruleId: a.id, pageSize: 1 }, admin);
    expect(ofA.changes.map((c) => c.change)).toEqual(["updated"]);
    const next = await routing.listRoutingRuleChanges(
      { ruleId: a.id, pageSize: 1, pageToken: ofA.nextPageToken },
      admin,
    );
    expect(next.changes.map((c) => c.change)).toEqual(["created"]);
  });

  it("routes new alerts: critical of team db → policy A, staging → suppressed, info → channel, else the default", async () => {
    await scenarioRules();
    const critical = await raise(Severity.CRITICAL, { team: "db" });
    const staging = await raise(Severity.WARNING, { env: "staging" });
    const info = await raise(Severity.INFO, {});
    const other = await raise(Severity.WARNING, { team: "web" });
    const unrouted = await raise(Severity.WARNING, {}, bareService);

    const started = (await startedAlertIds(suite.handle.db, runner)).map(BigInt);
    expect(started).toEqual([critical.id, other.id]);
    const escalations = await suite.handle.db
      .selectFrom("alert_escalations")
      .select(["alert_id", "policy_id"])
      .orderBy("alert_id")
      .execute();
    expect(escalations.map((e) => [BigInt(e.alert_id), e.policy_id])).toEqual([
      [critical.id, policyA],
      [other.id, defaultPolicy],
    ]);

    const shown = async (id: bigint) => (await alerts.getAlert({ id }, admin)).alert!;
    expect(await shown(staging.id)).toMatchObject({
      routingState: "suppressed",
      routingReason: "staging is not paged",
    });
    expect(await shown(unrouted.id)).toMatchObject({ routingState: "unrouted" });
    expect((await shown(critical.id)).routingState).toBe("");

    const notifications = await suite.handle.db
      .selectFrom("notifications")
      .select(["alert_id", "target_kind", "target_id", "status"])
      .execute();
    expect(notifications.map((n) => [BigInt(n.alert_id), n.target_kind, n.target_id, n.status])).toEqual([
      [info.id, "channel", slackDb, "pending"],
    ]);
    // The direct notification owes its delivery (the route statement wrote `notifications.deliver`):
    // one message for the channel, none for anyone else.
    const { rows: deliveries } = await sql<{
      alert_id: number;
      recipient_kind: string;
      channel_id: string;
      destination_kind: string;
    }>`select alert_id, recipient_kind, channel_id, destination_kind from deliveries`.execute(
      suite.handle.db,
    );
    expect(
      deliveries.map((d) => [BigInt(d.alert_id), d.recipient_kind, d.channel_id, d.destination_kind]),
    ).toEqual([[info.id, "channel", slackDb, "slack_webhook"]]);

    const [, routed] = await eventsOf(critical.id);
    expect(routed).toMatchObject({ type: "routed", data: { outcome: "routed", policyId: policyA } });
    expect((routed!.data as { matched: string[] }).matched).toHaveLength(1);
    expect((await eventsOf(staging.id))[1]).toMatchObject({ type: "suppressed" });
    expect((await eventsOf(info.id))[1]).toMatchObject({ type: "routed", data: { outcome: "notified" } });
    expect((await eventsOf(other.id))[1]).toMatchObject({
      type: "routed",
      data: { outcome: "routed", policySource: "service_default", policyId: defaultPolicy },
    });
    expect((await eventsOf(unrouted.id))[1]).toMatchObject({ type: "unrouted" });

    const decisions = await routing.listRoutingDecisions({ serviceId, pageSize: 2 }, admin);
    expect(decisions.decisions.map((d) => d.alertId)).toEqual([other.id, info.id]);
    const rest = await routing.listRoutingDecisions(
      { serviceId, pageSize: 10, pageToken: decisions.nextPageToken },
      admin,
    );
    expect(rest.decisions.map((d) => d.type)).toEqual(["suppressed", "routed"]);
    const ofOne = await routing.listRoutingDecisions({ alertId: critical.id }, admin);
    expect(ofOne.decisions[0]?.decision?.ruleSetVersion).toBeGreaterThan(0);
  });

  it("keeps a channel a rule notifies from being deleted, naming the rule", async () => {
    await scenarioRules();
    const channels = createClient(
      ChannelService,
      createInMemoryTransport(createTestAppContext(suite.handle, { clock })),
    );
    const refused = await failure(channels.deleteChannel({ id: slackDb }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toMatch(/routing rule "info to chat" \(/);
    const rules = (await routing.listRoutingRules({}, admin)).rules;
    await routing.deleteRoutingRule({ id: rules.find((r) => r.name === "info to chat")!.id }, admin);
    await channels.deleteChannel({ id: slackDb }, admin);
  });

  it("keeps a schedule a rule notifies from being deleted, naming the rule", async () => {
    const rule = await createRule({
      name: "page the db on-call",
      condition: { matchers: [] },
      actions: [action({ case: "notifySchedule", value: { scheduleId } } as never)],
    });
    const schedules = createClient(
      ScheduleService,
      createInMemoryTransport(createTestAppContext(suite.handle, { clock })),
    );
    const refused = await failure(schedules.deleteSchedule({ id: scheduleId }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toMatch(/routing rule "page the db on-call" \(/);
    await routing.deleteRoutingRule({ id: rule.id }, admin);
    await schedules.deleteSchedule({ id: scheduleId }, admin);
  });

  describe("business calendars", () => {
    // Europe/Berlin, every day 09:00–17:00, Christmas Eve off. Europe springs forward on Sunday
    // 2026-03-29 (UTC+1 → UTC+2): the same UTC instant is an hour later on the wall clock after it.
    const euOffice = {
      name: "eu-office",
      description: "Berlin office",
      zone: "Europe/Berlin",
      windows: [{ weekdays: [1, 2, 3, 4, 5, 6, 7], start: "09:00", end: "17:00" }],
      holidays: ["2026-12-24"],
    };
    const officeRule = () =>
      createRule({
        name: "office hours to A",
        condition: { matchers: [], cel: 'inBusinessHours("eu-office")' },
        actions: [action({ case: "route", value: { escalationPolicyId: policyA } } as never)],
        terminal: true,
      });
    const simulateAt = async (iso: string) =>
      (
        await routing.simulateRouting(
          {
            alert: { source: { case: "sample", value: { serviceId, severity: Severity.ERROR } } },
            time: timestampFromDate(new Date(iso)),
          },
          admin,
        )
      ).escalationPolicyId;

    it("routes by a stored calendar across the DST day and a holiday, on the live route path too", async () => {
      const before = (await routing.listRoutingRules({}, admin)).ruleSetVersion;
      const created = await routing.createBusinessCalendar({ calendar: euOffice }, admin);
      expect(created.calendar).toMatchObject({
        name: "eu-office",
        zone: "Europe/Berlin",
        createdBy: "admin",
      });
      expect(created.ruleSetVersion).toBeGreaterThan(before);
      await officeRule();

      // Saturday 15:30Z = 16:30 CET (in); Sunday, the DST day, 15:30Z = 17:30 CEST (out).
      expect(await simulateAt("2026-03-28T15:30:00Z")).toBe(policyA);
      expect(await simulateAt("2026-03-29T15:30:00Z")).toBe(defaultPolicy);
      // 07:30Z: 08:30 CET on Saturday (out), 09:30 CEST on Sunday (in).
      expect(await simulateAt("2026-03-28T07:30:00Z")).toBe(defaultPolicy);
      expect(await simulateAt("2026-03-29T07:30:00Z")).toBe(policyA);
      // The holiday is out all day; the day before is in.
      expect(await simulateAt("2026-12-23T10:00:00Z")).toBe(policyA);
      expect(await simulateAt("2026-12-24T10:00:00Z")).toBe(defaultPolicy);

      // The route path: an alert on the holiday follows the default policy ...
      clock.set("2026-12-24T10:00:00Z");
      const onHoliday = await raise(Severity.ERROR, {});
      // ... and after the holiday is removed (a calendar change bumps the version: recompiled), policy A.
      const updated = await routing.updateBusinessCalendar(
        { calendar: { name: "eu-office", holidays: [] }, updateMask: { paths: ["holidays"] } },
        admin,
      );
      expect(updated.calendar).toMatchObject({ description: "Berlin office", holidays: [] });
      const afterUpdate = await raise(Severity.ERROR, {});
      const decisionOf = async (id: bigint) =>
        (await routing.listRoutingDecisions({ alertId: id }, admin)).decisions[0]?.decision;
      expect(await decisionOf(onHoliday.id)).toMatchObject({ policyId: defaultPolicy });
      expect(await decisionOf(afterUpdate.id)).toMatchObject({
        policyId: policyA,
        ruleSetVersion: Number(updated.ruleSetVersion),
      });

      const changes = (await routing.listRoutingRuleChanges({}, admin)).changes;
      expect(changes.map((c) => c.change)).toContain("calendar_updated");
    });

    it("validates calendars: zone, windows, holidays, unique names", async () => {
      const refuse = async (calendar: Record<string, unknown>, field: RegExp) => {
        const error = await failure(
          routing.createBusinessCalendar({ calendar: { ...euOffice, ...calendar } }, admin),
        );
        expect(error.code).toBe(Code.InvalidArgument);
        expect(error.rawMessage).toMatch(field);
      };
      await refuse({ zone: "Europe/Atlantis" }, /^calendar\.zone: /);
      await refuse({ windows: [] }, /^calendar\.windows: /);
      await refuse(
        { windows: [{ weekdays: [8], start: "09:00", end: "17:00" }] },
        /^calendar\.windows\[0\]\.weekdays\[0\]: /,
      );
      await refuse(
        { windows: [{ weekdays: [1], start: "9am", end: "17:00" }] },
        /^calendar\.windows\[0\]\.start: /,
      );
      await refuse({ holidays: ["2026-12-24", "24.12.2026"] }, /^calendar\.holidays\[1\]: /);
      await refuse({ holidays: ["2026-02-30"] }, /^calendar\.holidays\[0\]: /);
      await refuse({ name: "eu office" }, /^calendar\.name: /);
      await routing.createBusinessCalendar({ calendar: euOffice }, admin);
      await refuse({}, /^calendar\.name: .*exists already/);
      expect((await routing.listBusinessCalendars({}, admin)).calendars.map((c) => c.name)).toEqual([
        "eu-office",
      ]);
    });

    it("refuses a rule naming an unknown calendar, and deleting a calendar a rule or window names", async () => {
      const unknown = await failure(officeRule());
      expect(unknown.code).toBe(Code.InvalidArgument);
      expect(unknown.rawMessage).toMatch(/^rule\.condition\.cel: unknown business calendar "eu-office"/);

      await routing.createBusinessCalendar({ calendar: euOffice }, admin);
      const rule = await officeRule();
      const refused = await failure(routing.deleteBusinessCalendar({ name: "eu-office" }, admin));
      expect(refused.code).toBe(Code.FailedPrecondition);
      expect(refused.rawMessage).toMatch(/routing rule "office hours to A" \(/);
      await routing.deleteRoutingRule({ id: rule.id }, admin);

      // A maintenance scope may name it too (compiled with the stored calendars) and then keeps it.
      const maintenance = createClient(
        MaintenanceService,
        createInMemoryTransport(createTestAppContext(suite.handle, { clock })),
      );
      const { window } = await maintenance.createMaintenanceWindow(
        {
          window: {
            name: "after hours",
            owner: "u-alice",
            action: MaintenanceAction.ANNOTATE,
            schedule: {
              kind: {
                case: "oneTime",
                value: {
                  startTime: timestampFromDate(new Date("2026-12-01T00:00:00Z")),
                  endTime: timestampFromDate(new Date("2026-12-31T00:00:00Z")),
                },
              },
            },
            scope: { serviceIds: [serviceId], labelMatchers: [], cel: '!inBusinessHours("eu-office")' },
          },
        },
        admin,
      );
      const byWindow = await failure(routing.deleteBusinessCalendar({ name: "eu-office" }, admin));
      expect(byWindow.code).toBe(Code.FailedPrecondition);
      expect(byWindow.rawMessage).toMatch(/maintenance window "after hours"/);
      await maintenance.cancelMaintenanceWindow({ id: window!.id }, admin);

      const deleted = await routing.deleteBusinessCalendar({ name: "eu-office" }, admin);
      expect(deleted.ruleSetVersion).toBeGreaterThan(0n);
      expect((await routing.listBusinessCalendars({}, admin)).calendars).toEqual([]);
      const gone = await failure(routing.deleteBusinessCalendar({ name: "eu-office" }, admin));
      expect(gone.code).toBe(Code.NotFound);
    });
  });

  it("pages the unscoped audit trail of decisions newest first, by service too", async () => {
    await scenarioRules();
    const raised: bigint[] = [];
    for (let i = 0; i < 5; i++) raised.push((await raise(Severity.CRITICAL, { team: "db" })).id);
    // No rule matches and the service has no default: unrouted, an entry of the other service.
    const bare = (await raise(Severity.ERROR, {}, bareService)).id;
    const seen: bigint[] = [];
    let pageToken = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = await routing.listRoutingDecisions({ pageSize: 2, pageToken }, admin);
      expect(page.decisions.length).toBeLessThanOrEqual(2);
      seen.push(...page.decisions.map((d) => d.alertId));
      pageToken = page.nextPageToken;
      if (!pageToken) break;
    }
    expect(seen).toEqual([bare, ...[...raised].reverse()]);
    const ofService = await routing.listRoutingDecisions({ serviceId: bareService, pageSize: 10 }, admin);
    expect(ofService.decisions.map((d) => [d.alertId, d.type])).toEqual([[bare, "unrouted"]]);
    const ofDb = await routing.listRoutingDecisions({ serviceId, pageSize: 3 }, admin);
    expect(ofDb.decisions.map((d) => d.alertId)).toEqual([...raised].reverse().slice(0, 3));
    const wrongFilter = await failure(
      routing.listRoutingDecisions({ serviceId: bareService, pageToken: ofDb.nextPageToken }, admin),
    );
    expect(wrongFilter.code).toBe(Code.InvalidArgument);
  });

  it("keeps today's behaviour without rules: the service's policy, or unrouted and visible", async () => {
    const withDefault = await raise(Severity.ERROR, {});
    const bare = await raise(Severity.ERROR, {}, bareService);
    expect(runner.calls).toEqual([{ op: "start", executionName: `alert-${withDefault.id}` }]);
    expect((await alerts.getAlert({ id: bare.id }, admin)).alert).toMatchObject({
      status: 1,
      routingState: "unrouted",
    });
  });

  it("sets labels and severity, notifies a user and a schedule's on-call, records a ticket", async () => {
    await createRule({
      name: "enrich",
      condition: {
        matchers: [{ field: MatchField.SEVERITY, operator: MatchOperator.EQUALS, value: "warning" }],
      },
      actions: [
        action({ case: "setLabels", value: { labels: { routed_by: "enrich" } } } as never),
        action({ case: "setSeverity", value: { severity: Severity.CRITICAL } } as never),
        action({ case: "notifyUser", value: { userId: "dave" } } as never),
        action({ case: "notifySchedule", value: { scheduleId } } as never),
        action({ case: "createTicket", value: { system: "jira", project: "OPS" } } as never),
      ],
    });
    const raised = await raise(Severity.WARNING, { team: "web" });
    const shown = (await alerts.getAlert({ id: raised.id }, admin)).alert!;
    expect(shown.severity).toBe(Severity.CRITICAL);
    expect(shown.labels).toEqual({ team: "web", routed_by: "enrich" });
    const notified = await suite.handle.db
      .selectFrom("notifications")
      .select(["target_kind", "target_id"])
      .where("alert_id", "=", Number(raised.id))
      .orderBy("target_id")
      .execute();
    expect(notified).toEqual([
      { target_kind: "user", target_id: "carol" },
      { target_kind: "user", target_id: "dave" },
    ]);
    const tickets = await suite.handle.db
      .selectFrom("alert_pending_actions")
      .select(["kind", "spec", "status"])
      .execute();
    expect(tickets).toEqual([
      { kind: "ticket", spec: { system: "jira", project: "OPS" }, status: "pending" },
    ]);
    // Notified directly, no route action: no escalation.
    expect(runner.calls).toEqual([]);
  });

  it("folds alerts with the same key within the window into the first one, counting them", async () => {
    await createRule({
      name: "fold disks",
      condition: { matchers: [] },
      actions: [
        action({ case: "aggregate", value: { keyLabels: ["cluster"], windowSeconds: 600 } } as never),
      ],
    });
    const first = await raise(Severity.ERROR, { cluster: "eu1", host: "a" });
    clock.advance(60_000);
    const second = await raise(Severity.ERROR, { cluster: "eu1", host: "b" });
    const elsewhere = await raise(Severity.ERROR, { cluster: "us1", host: "c" });
    clock.advance(3_600_000);
    const late = await raise(Severity.ERROR, { cluster: "eu1", host: "d" });

    const shown = async (id: bigint) => (await alerts.getAlert({ id }, admin)).alert!;
    expect(await shown(first.id)).toMatchObject({ aggregateCount: 1n, routingState: "" });
    expect(await shown(second.id)).toMatchObject({
      status: 3,
      routingState: "aggregated",
      aggregatedInto: first.id,
    });
    expect((await shown(elsewhere.id)).aggregateCount).toBe(0n);
    expect((await shown(late.id)).routingState).toBe("");
    expect((await eventsOf(second.id)).map((e) => e.type)).toEqual(["created", "aggregated"]);
    const startedFor = (await startedAlertIds(suite.handle.db, runner)).map(BigInt);
    expect(startedFor).toEqual([first.id, elsewhere.id, late.id]);
  });

  it("recompiles when the rule set changes: the next alert sees the new rule", async () => {
    await raise(Severity.CRITICAL, { team: "db" }, serviceId);
    expect(runner.calls).toHaveLength(1);
    await scenarioRules();
    const staging = await raise(Severity.WARNING, { env: "staging" });
    expect(runner.calls).toHaveLength(1);
    expect((await alerts.getAlert({ id: staging.id }, admin)).alert!.routingState).toBe("suppressed");
  });

  it("simulates a draft rule that does not compile as that rule's error, with the place in its expression", async () => {
    const sim = await routing.simulateRouting(
      {
        alert: { source: { case: "sample", value: { serviceId, severity: Severity.WARNING } } },
        draft: {
          rules: [
            ruleOf({
              name: "half-written",
              condition: { matchers: [], cel: 'alert.severity == "warning" &&' },
              actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
            }),
          ],
        },
      },
      admin,
    );
    expect(sim.results.map((r) => [r.ruleId, r.outcome])).toEqual([["draft-1", RuleOutcome.ERROR]]);
    expect(sim.results[0]!.message).toMatch(/^cel: .*\(line 1, column \d+\)$/);
  });

  it("simulates a sample alert against a draft rule set: every rule's result, the actions, no side effects", async () => {
    await scenarioRules();
    const version = (await routing.listRoutingRules({}, admin)).ruleSetVersion;
    const draft = {
      rules: [
        ruleOf({
          name: "broken",
          condition: { matchers: [], cel: "alert.labels.nope == 'x'" },
          actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
        }),
        ruleOf({
          name: "eu critical",
          condition: {
            matchers: [
              { field: MatchField.LABEL, name: "region", operator: MatchOperator.IN, values: ["eu1", "eu2"] },
            ],
          },
          actions: [action({ case: "route", value: { escalationPolicyId: policyA } } as never)],
          terminal: true,
        }),
        ruleOf({
          name: "never",
          condition: { matchers: [] },
          actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
        }),
      ],
    };
    const sim = await routing.simulateRouting(
      {
        alert: {
          source: {
            case: "sample",
            value: { serviceId, severity: Severity.WARNING, labels: { region: "eu2" } },
          },
        },
        time: timestampFromDate(new Date("2026-12-01T09:00:00Z")),
        draft,
      },
      admin,
    );
    expect(sim.results.map((r) => [r.ruleId, r.outcome])).toEqual([
      ["draft-1", RuleOutcome.ERROR],
      ["draft-2", RuleOutcome.MATCHED],
      ["draft-3", RuleOutcome.NOT_REACHED],
    ]);
    expect(sim.results[0]!.message).not.toBe("");
    expect(sim).toMatchObject({
      outcome: "routed",
      escalationPolicyId: policyA,
      maintenance: { action: "none" },
      ruleSetVersion: 0n,
    });
    expect(sim.actions.map((a) => [a.ruleId, a.action?.kind.case])).toEqual([["draft-2", "route"]]);

    const live = await routing.simulateRouting(
      { alert: { source: { case: "sample", value: { serviceId, severity: Severity.INFO } } } },
      admin,
    );
    expect(live.results.map((r) => r.outcome)).toEqual([
      RuleOutcome.NOT_MATCHED,
      RuleOutcome.NOT_MATCHED,
      RuleOutcome.MATCHED,
    ]);
    expect(live).toMatchObject({ outcome: "notified", ruleSetVersion: version });

    expect(await suite.handle.db.selectFrom("alerts").selectAll().execute()).toEqual([]);
    expect((await routing.listRoutingRules({}, admin)).ruleSetVersion).toBe(version);
  });

  it("tests one rule (stored or draft) against a stored alert at a chosen time", async () => {
    const raised = await raise(Severity.CRITICAL, { team: "db" });
    const stored = await createRule({
      name: "office hours",
      enabled: false,
      condition: {
        matchers: [],
        time: {
          zone: "America/New_York",
          windows: [{ weekdays: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" }],
        },
      },
      actions: [action({ case: "route", value: { escalationPolicyId: policyA } } as never)],
    });
    const inHours = await routing.testRoutingRule(
      {
        ruleSource: { case: "ruleId", value: stored.id },
        alert: { source: { case: "alertId", value: raised.id } },
        time: timestampFromDate(new Date("2026-12-01T15:00:00Z")), // Tuesday 10:00 in New York
      },
      admin,
    );
    expect(inHours.result?.outcome).toBe(RuleOutcome.MATCHED);
    expect(inHours.actions.map((a) => a.kind.case)).toEqual(["route"]);
    const night = await routing.testRoutingRule(
      {
        ruleSource: { case: "ruleId", value: stored.id },
        alert: { source: { case: "alertId", value: raised.id } },
        time: timestampFromDate(new Date("2026-12-01T03:00:00Z")),
      },
      admin,
    );
    expect(night.result?.outcome).toBe(RuleOutcome.NOT_MATCHED);
    const badDraft = await failure(
      routing.testRoutingRule(
        {
          ruleSource: {
            case: "rule",
            value: ruleOf({
              condition: { matchers: [], cel: "alert.severity ==" },
              actions: [action({ case: "suppress", value: { reason: "x" } } as never)],
            }),
          },
          alert: { source: { case: "alertId", value: raised.id } },
        },
        admin,
      ),
    );
    expect(badDraft.rawMessage).toMatch(/^rule\.condition\.cel: /);
    const unknown = await failure(
      routing.testRoutingRule(
        {
          ruleSource: { case: "ruleId", value: stored.id },
          alert: { source: { case: "alertId", value: 999999n } },
        },
        admin,
      ),
    );
    expect(unknown.code).toBe(Code.NotFound);
  });
});
