import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { ROUTING_NOTIFICATION_STEP } from "../functions/adapters/db/stores/routing.ts";
import { deliveryDepsOf, sendDueDeliveries } from "../functions/app/deliveries.ts";
import { AlertService } from "../functions/gen/oncall/v1/alerts_pb.ts";
import { MatchField, MatchOperator, RoutingService } from "../functions/gen/oncall/v1/routing_pb.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { alertmanagerAvailable, useAlertmanager, waitFor } from "./support/alertmanager.ts";
import {
  createRecordingEscalationRunner,
  createTestAppContext,
  startedAlertIds,
  testAdminToken,
} from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type Receiver, startReceiver } from "./support/delivery.ts";
import { admin, createInMemoryTransport } from "./support/rpc.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedChannel, seedPolicy } from "./support/seed-oncall.ts";

// Routing on the embedded runtime: the README's `buf curl` of SimulateRouting with a draft rule
// set, and the issue-13 scenario with a real Alertmanager (Debian's prometheus-alertmanager, as in
// alertmanager-e2e.test.ts): critical alerts of team db go to policy A, staging alerts are
// suppressed (stored, visible, not escalated), info alerts go straight to a Slack channel (one
// message at a local Slack webhook receiver, no escalation), the rest follow the service's default
// policy.

const execFileAsync = promisify(execFile);

let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let policyA: string;
let defaultPolicy: string;
let slackDb: string;
let receiver: Receiver;
let ctx: ReturnType<typeof createTestAppContext>;
const runner = createRecordingEscalationRunner();
let routing: ReturnType<typeof createClient<typeof RoutingService>>;
let alerts: ReturnType<typeof createClient<typeof AlertService>>;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  seeded = await seedService(database.db, { name: "db" });
  // Two steps, the second an hour later: an execution waits for it (the first may be recorded with
  // the alerts, issue 10).
  policyA = await seedPolicy(database.db, [
    { delaySeconds: 3600, targets: [{ kind: "user", id: "dba" }] },
    { delaySeconds: 0, targets: [{ kind: "user", id: "dba" }] },
  ]);
  defaultPolicy = await seedPolicy(database.db, [
    { delaySeconds: 3600, targets: [{ kind: "user", id: "oncall" }] },
    { delaySeconds: 0, targets: [{ kind: "user", id: "oncall" }] },
  ]);
  await attachPolicy(database.db, seeded.serviceId, defaultPolicy);
  receiver = await startReceiver();
  slackDb = await seedChannel(database.db, "slack-db", `${receiver.url}/slack/db`);
  ctx = createTestAppContext(database, { escalations: runner });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
  const transport = createInMemoryTransport(ctx);
  routing = createClient(RoutingService, transport);
  alerts = createClient(AlertService, transport);
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
  await database?.close();
});

describe("README: buf curl SimulateRouting with a draft rule set", () => {
  it("runs the README's command and gets every rule's result and the outcome", async () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    const block = readme.match(
      /--data @- (\S+\/oncall\.v1\.RoutingService\/SimulateRouting) <<EOF\n([\s\S]*?)\nEOF\n/,
    );
    expect(block, "README shows buf curl … RoutingService/SimulateRouting <<EOF … EOF").toBeTruthy();
    const url = block![1]!.replace("http://127.0.0.1:8080", server.url);
    const body = block![2]!.replaceAll("$SERVICE_ID", seeded.serviceId).replaceAll("$CHANNEL_ID", slackDb);
    const child = execFileAsync(
      "node_modules/.bin/buf",
      [
        "curl",
        "--schema",
        "proto",
        "--protocol",
        "grpcweb",
        "-H",
        `Authorization: Bearer ${testAdminToken}`,
        "--data",
        "@-",
        url,
      ],
      { timeout: 20_000 },
    );
    child.child.stdin?.end(body);
    const answer = JSON.parse((await child).stdout);
    expect(answer).toMatchObject({
      results: [
        { ruleId: "draft-1", name: "staging is quiet", outcome: "RULE_OUTCOME_NOT_MATCHED" },
        { ruleId: "draft-2", name: "info to chat", outcome: "RULE_OUTCOME_MATCHED" },
      ],
      actions: [{ ruleId: "draft-2", action: { notifyChannel: { channelId: slackDb } } }],
      maintenance: { action: "none" },
      outcome: "notified",
    });
    // A simulation writes nothing.
    expect(await database.db.selectFrom("alerts").select("id").execute()).toEqual([]);
  });
});

describe.skipIf(!alertmanagerAvailable)("routing scenario: real Alertmanager → oncall", () => {
  const alertmanager = useAlertmanager(() => ({
    webhookUrl: `${server.url}/v1/webhooks/alertmanager`,
    credentials: seeded.secrets.alertmanager,
  }));

  it("routes each alert by the rules: policy A, suppressed, straight to a channel, the default", async () => {
    await routing.createRoutingRule(
      {
        rule: {
          name: "db critical → A",
          enabled: true,
          terminal: true,
          condition: {
            matchers: [
              { field: MatchField.LABEL, name: "team", operator: MatchOperator.EQUALS, value: "db" },
            ],
            cel: 'alert.severity == "critical"',
          },
          actions: [{ kind: { case: "route", value: { escalationPolicyId: policyA } } }],
        },
      },
      admin,
    );
    await routing.createRoutingRule(
      {
        rule: {
          name: "staging is quiet",
          enabled: true,
          terminal: true,
          condition: { cel: 'has(alert.labels.env) && alert.labels.env == "staging"' },
          actions: [{ kind: { case: "suppress", value: { reason: "staging does not page" } } }],
        },
      },
      admin,
    );
    await routing.createRoutingRule(
      {
        rule: {
          name: "info to chat",
          enabled: true,
          terminal: true,
          condition: { cel: 'alert.severity == "info"' },
          actions: [{ kind: { case: "notifyChannel", value: { channelId: slackDb } } }],
        },
      },
      admin,
    );

    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alert = (alertname: string, labels: Record<string, string>) => ({
      labels: { alertname, ...labels },
      annotations: { summary: alertname },
      startsAt,
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert("DbDiskFull", { team: "db", severity: "critical", instance: "db-1" }),
        alert("StagingSlow", { env: "staging", severity: "warning" }),
        alert("CacheInfo", { severity: "info" }),
        alert("WebLatency", { team: "web", severity: "warning" }),
      ]),
    });
    expect(posted.ok).toBe(true);

    // Decided: a routing decision listed (its own log entry, or the created one when ingest decided).
    const routed = () =>
      database.db
        .selectFrom("alerts as a")
        .innerJoin("alert_events as e", "e.alert_id", "a.id")
        .innerJoin("routing_decisions as d", "d.id", "e.decision_id")
        .select(["a.id", "a.summary", "d.type"])
        .where("d.type", "in", ["routed", "suppressed", "unrouted"])
        .execute();
    await waitFor(
      async () => (await routed()).length === 4,
      30_000,
      () => alertmanager.output(),
    );
    const byName = Object.fromEntries((await routed()).map((r) => [r.summary, r]));
    const id = (name: string) => Number(byName[name]!.id);

    // Escalations started: A for the critical db alert, the default for the unmatched one; nothing else.
    const escalations = await database.db
      .selectFrom("alert_escalations")
      .select(["alert_id", "policy_id"])
      .orderBy("alert_id")
      .execute();
    expect(escalations).toEqual(
      [
        { alert_id: id("DbDiskFull"), policy_id: policyA },
        { alert_id: id("WebLatency"), policy_id: defaultPolicy },
      ].sort((a, b) => a.alert_id - b.alert_id),
    );
    expect((await startedAlertIds(database.db, runner)).sort()).toEqual(
      [id("DbDiskFull"), id("WebLatency")].sort(),
    );

    // Suppressed: stored, open and visible with its reason.
    const staging = (await alerts.getAlert({ id: BigInt(id("StagingSlow")) }, admin)).alert!;
    expect(staging).toMatchObject({
      status: 1,
      routingState: "suppressed",
      routingReason: "staging does not page",
    });

    // Straight to the channel: one notification, for the info alert only, and its delivery sent as
    // the embedded worker sends it: one message at the Slack receiver, with the alert's summary.
    const notifications = await database.db
      .selectFrom("notifications")
      .select(["alert_id", "target_kind", "target_id"])
      // a rule's direct notifications (an escalation's first step may be recorded with its alert too)
      .where("step_index", "=", ROUTING_NOTIFICATION_STEP)
      .execute();
    expect(notifications).toEqual([
      { alert_id: id("CacheInfo"), target_kind: "channel", target_id: slackDb },
    ]);
    const sent = await sendDueDeliveries(deliveryDepsOf(ctx), { limit: 50 });
    expect(sent).toMatchObject({ sent: 1 });
    expect(await sendDueDeliveries(deliveryDepsOf(ctx), { limit: 50 })).toMatchObject({ sent: 0 });
    const slack = receiver.requests.filter((r) => r.path === "/slack/db");
    expect(slack).toHaveLength(1);
    expect(JSON.stringify(slack[0]!.json)).toContain("CacheInfo");
    expect(receiver.requests).toHaveLength(1);

    // The audit trail says why, for each.
    const { decisions } = await routing.listRoutingDecisions({ serviceId: seeded.serviceId }, admin);
    const outcome = (name: string) =>
      decisions.find((d) => Number(d.alertId) === id(name))?.decision?.outcome;
    expect([
      outcome("DbDiskFull"),
      outcome("StagingSlow"),
      outcome("CacheInfo"),
      outcome("WebLatency"),
    ]).toEqual(["routed", "suppressed", "notified", "routed"]);
  });
});
