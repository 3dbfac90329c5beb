import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import {
  contactMethod,
  createAwsOutboundForTests,
  createHttpTestProviders,
  createMemoryDirectory,
  type Receiver,
  startReceiver,
  testDeliveryRuntime,
  user,
} from "../../../test/support/delivery.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { insertPlannedDeliveries } from "../../adapters/db/stores/deliveries.ts";
import type { AppContext } from "../../app/context.ts";
import { deliveryDepsOf, sendDueDeliveries } from "../../app/deliveries.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { destinationKey, type PlannedDelivery } from "../../domain/notifications/plan.ts";
import { DeliveryStatus, NotificationService } from "../../gen/oncall/v1/notifications_pb.ts";

// NotificationService in memory (the real interceptors and stores) on every database path.

describeEachDatabase("NotificationService", (suite) => {
  const clock = createFixedClock("2026-11-29T09:00:00Z");
  let client: ReturnType<typeof createClient<typeof NotificationService>>;
  let receiver: Receiver;
  let ctx: AppContext;

  beforeAll(async () => {
    receiver = await startReceiver();
    ctx = createTestAppContext(suite.handle, {
      clock,
      directory: createMemoryDirectory(
        [user("alice"), user("bob")],
        [
          contactMethod("alice", "alice-sms", "sms", "+15550100001"),
          contactMethod("bob", "bob-sms", "sms", "+15550100002"),
        ],
      ),
      delivery: testDeliveryRuntime({ providers: createHttpTestProviders(receiver.url) }),
    });
    client = createClient(NotificationService, createInMemoryTransport(ctx));
    await sql`delete from deliveries`.execute(suite.handle.db);
  });
  afterAll(() => receiver.close());

  it("manages a user's rules and status-update opt-in; bad input names its field", async () => {
    const { rule } = await client.createNotificationRule(
      { userId: "alice", contactMethodId: "alice-sms", delayMinutes: 5 },
      admin,
    );
    expect(rule).toMatchObject({ userId: "alice", contactMethodId: "alice-sms", delayMinutes: 5 });
    await client.setStatusUpdates({ userId: "alice", enabled: true }, admin);
    const listed = await client.listNotificationRules({ userId: "alice" }, admin);
    expect(listed.rules.map((r) => r.delayMinutes)).toEqual([5]);
    expect(listed.statusUpdates).toBe(true);

    const negative = await failure(
      client.createNotificationRule(
        { userId: "alice", contactMethodId: "alice-sms", delayMinutes: -1 },
        admin,
      ),
    );
    expect([negative.code, negative.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/^delay_minutes:/),
    ]);
    const notHers = await failure(
      client.createNotificationRule({ userId: "alice", contactMethodId: "bob-sms", delayMinutes: 0 }, admin),
    );
    expect([notHers.code, notHers.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/^contact_method_id:/),
    ]);
    const unknownUser = await failure(
      client.createNotificationRule({ userId: "ghost", contactMethodId: "x", delayMinutes: 0 }, admin),
    );
    expect([unknownUser.code, unknownUser.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/^user_id: no user ghost in the directory/),
    ]);
    const unknownOptIn = await failure(client.setStatusUpdates({ userId: "ghost", enabled: true }, admin));
    expect([unknownOptIn.code, unknownOptIn.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/^user_id: no user ghost in the directory/),
    ]);
    const ghostRows = await sql`select 1 from notification_preferences where user_id = 'ghost'`.execute(
      suite.handle.db,
    );
    expect(ghostRows.rows).toEqual([]);

    await client.deleteNotificationRule({ userId: "alice", id: rule!.id }, admin);
    expect((await client.listNotificationRules({ userId: "alice" }, admin)).rules).toEqual([]);
    expect(
      (await failure(client.deleteNotificationRule({ userId: "alice", id: rule!.id }, admin))).code,
    ).toBe(Code.NotFound);
  });

  it("SendNotification renders a template to each destination once per idempotency key", async () => {
    const request = {
      templateId: "default-status-update",
      templateVersion: 0,
      contextJson: JSON.stringify({
        alert: {
          id: 7,
          summary: "Deploy finished",
          status: "resolved",
          severity: "info",
          labels: {},
          annotations: {},
        },
        update: { action: "resolved", actor: "ci", at: "2026-11-29T09:00:00Z", note: "" },
      }),
      destinations: [
        { kind: { case: "webhook" as const, value: { url: `${receiver.url}/ci`, signingSecretRef: "" } } },
      ],
      idempotencyKey: "deploy-42",
    };
    const first = await client.sendNotification(request, admin);
    const again = await client.sendNotification(request, admin);
    expect(again.deliveries.map((d) => d.id)).toEqual(first.deliveries.map((d) => d.id));
    expect(first.deliveries[0]).toMatchObject({ templateId: "default-status-update", templateVersion: 1 });
    await sendDueDeliveries(deliveryDepsOf(ctx), { limit: 10 });
    expect(receiver.requests.filter((r) => r.path === "/ci")).toHaveLength(1);
    expect(receiver.requests.find((r) => r.path === "/ci")!.body).toContain("Deploy finished");
    const got = await client.getDelivery({ id: first.deliveries[0]!.id }, admin);
    expect(got.delivery?.status).toBe(DeliveryStatus.SENT);

    const retrySent = await failure(client.retryDelivery({ id: first.deliveries[0]!.id }, admin));
    expect(retrySent.code).toBe(Code.FailedPrecondition);

    for (const [destinations, field] of [
      [[{ kind: { case: "sms", value: { phone: "0151 123" } } }], "destinations[0].sms.phone"],
      [
        [{ kind: { case: "slackWebhook", value: { url: "http://hooks.slack.com/x" } } }],
        "destinations[0].slack_webhook.url",
      ],
      [[{ kind: { case: "email", value: { to: ["not-an-address"] } } }], "destinations[0].email.to[0]"],
      [[], "destinations"],
    ] as const) {
      const bad = await failure(
        client.sendNotification({ ...request, destinations: destinations as never }, admin),
      );
      expect([bad.code, bad.rawMessage.split(":")[0]]).toEqual([Code.InvalidArgument, field]);
    }
    const noKey = await failure(client.sendNotification({ ...request, idempotencyKey: "" }, admin));
    expect(noKey.rawMessage).toMatch(/^idempotency_key:/);
  });

  it("SendNotification refuses private-address URLs on AWS and non-https URLs, naming the field", async () => {
    // As on AWS: no local URLs; DNS answers from a table.
    const strict = createClient(
      NotificationService,
      createInMemoryTransport({
        ...ctx,
        runtime: "aws",
        outbound: createAwsOutboundForTests({ db: () => suite.handle.db, clock }),
      }),
    );
    const before = (await client.listDeliveries({ pageSize: 100 }, admin)).deliveries.length;
    const send = (kind: "webhook" | "slackWebhook" | "teamsWebhook", url: string, signingSecretRef = "") =>
      strict.sendNotification(
        {
          templateId: "default-alert",
          templateVersion: 0,
          contextJson: "{}",
          destinations: [
            { kind: { case: "sms", value: { phone: "+4915112345678" } } },
            {
              kind:
                kind === "webhook"
                  ? { case: kind, value: { url, signingSecretRef } }
                  : { case: kind, value: { url } },
            } as never,
          ],
          idempotencyKey: `strict-${url}-${signingSecretRef}`,
        },
        admin,
      );
    for (const [kind, url, field, problem] of [
      ["webhook", receiver.url, "destinations[1].webhook.url", "must be https"],
      ["webhook", "https://127.0.0.1/x", "destinations[1].webhook.url", "private, loopback or link-local"],
      ["webhook", "https://169.254.169.254/latest", "destinations[1].webhook.url", "private, loopback"],
      [
        "slackWebhook",
        "https://intranet.example.com/x",
        "destinations[1].slack_webhook.url",
        "resolves to 10.20.30.40",
      ],
      ["teamsWebhook", "https://[fd00::1]/x", "destinations[1].teams_webhook.url", "private, loopback"],
      ["webhook", "https://user:pw@hooks.example.com/x", "destinations[1].webhook.url", "credentials"],
      ["webhook", "ftp://hooks.example.com/x", "destinations[1].webhook.url", "https"],
    ] as const) {
      const bad = await failure(send(kind, url));
      expect([bad.code, bad.rawMessage.split(": ")[0]], url).toEqual([Code.InvalidArgument, field]);
      expect(bad.rawMessage).toContain(problem);
    }
    const ref = await failure(send("webhook", "https://hooks.example.com/x", "ONCALL_SECRET_X"));
    expect([ref.code, ref.rawMessage.split(": ")[0]]).toEqual([
      Code.InvalidArgument,
      "destinations[1].webhook.signing_secret_ref",
    ]);
    // Nothing half-written: no delivery of any refused request, not even its valid SMS.
    expect((await client.listDeliveries({ pageSize: 100 }, admin)).deliveries).toHaveLength(before);
    const ok = await send("webhook", "https://hooks.example.com/x", "oncall/hook");
    expect(ok.deliveries).toHaveLength(2);
    // Not for the next tests' senders (hooks.example.com is not a receiver of this test).
    await sql`delete from deliveries where id in (${sql.join(ok.deliveries.map((d) => Number(d.id)))})`.execute(
      suite.handle.db,
    );
  });

  it("lists deliveries by recipient and by creation time", async () => {
    const db = suite.handle.db;
    const at = (iso: string) => new Date(iso);
    const planned = (recipientId: string, n: number): PlannedDelivery => {
      const destination = { kind: "sms", phone: `+1555010${String(n).padStart(4, "0")}` } as const;
      return {
        idempotencyKey: `filters-${recipientId}-${n}`,
        alertId: null,
        notificationId: null,
        repeatCycle: null,
        stepIndex: null,
        recipientKind: "user",
        recipientId,
        contactMethodId: null,
        channelId: null,
        destination,
        destinationKey: destinationKey(destination),
        messageKind: "alert",
        ruleDelayMinutes: 0,
        context: {},
        nextAttemptAt: at("2030-01-01T00:00:00Z"),
        maxAttempts: 3,
      };
    };
    const ids: Record<string, bigint> = {};
    for (const [recipient, n, created] of [
      ["carol", 1, "2026-11-20T10:00:00Z"],
      ["dave", 2, "2026-11-21T10:00:00Z"],
      ["carol", 3, "2026-11-22T10:00:00Z"],
    ] as const) {
      const [row] = await insertPlannedDeliveries(db, {
        deliveries: [planned(recipient, n)],
        now: at(created),
      });
      ids[`${recipient}-${n}`] = BigInt(row!.id);
    }
    const list = async (req: Parameters<typeof client.listDeliveries>[0]) =>
      (await client.listDeliveries(req!, admin)).deliveries.map((d) => d.id);
    expect(await list({ recipientId: "carol" })).toEqual([ids["carol-3"], ids["carol-1"]]);
    expect(await list({ recipientId: "dave" })).toEqual([ids["dave-2"]]);
    const ts = (iso: string) => timestampFromDate(at(iso));
    expect(await list({ since: ts("2026-11-21T10:00:00Z"), until: ts("2026-11-22T10:00:00Z") })).toEqual([
      ids["dave-2"],
    ]);
    expect(await list({ recipientId: "carol", since: ts("2026-11-21T00:00:00Z") })).toEqual([ids["carol-3"]]);
    expect(await list({ recipientId: "carol", until: ts("2026-11-20T10:00:00Z") })).toEqual([]);
    const bad = await failure(client.listDeliveries({ recipientId: "has space" }, admin));
    expect([bad.code, bad.rawMessage.split(":")[0]]).toEqual([Code.InvalidArgument, "recipient_id"]);
    await sql`delete from deliveries where idempotency_key like 'filters-%'`.execute(db);
  });

  it("lists deliveries by status in pages and retries a failed one", async () => {
    receiver.script({ status: 400 });
    const { deliveries } = await client.sendNotification(
      {
        templateId: "default-alert",
        templateVersion: 0,
        contextJson: "{}",
        destinations: [
          { kind: { case: "webhook", value: { url: `${receiver.url}/bad`, signingSecretRef: "" } } },
        ],
        idempotencyKey: "will-fail",
      },
      admin,
    );
    await sendDueDeliveries(deliveryDepsOf(ctx), { limit: 10 });
    const failed = await client.listDeliveries({ statuses: [DeliveryStatus.FAILED], pageSize: 1 }, admin);
    expect(failed.deliveries.map((d) => d.id)).toEqual([deliveries[0]!.id]);
    expect(failed.deliveries[0]!.providerAnswer).toBe("HTTP 400");
    const all = await client.listDeliveries({ pageSize: 1 }, admin);
    expect(all.nextPageToken).not.toBe("");
    const next = await client.listDeliveries({ pageSize: 1, pageToken: all.nextPageToken }, admin);
    expect(next.deliveries[0]!.id < all.deliveries[0]!.id).toBe(true);

    const retried = await client.retryDelivery({ id: deliveries[0]!.id }, admin);
    expect(retried.delivery?.status).toBe(DeliveryStatus.PENDING);
    await sendDueDeliveries(deliveryDepsOf(ctx), { limit: 10 });
    expect((await client.getDelivery({ id: deliveries[0]!.id }, admin)).delivery?.status).toBe(
      DeliveryStatus.SENT,
    );
  });
});
