import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import {
  contactMethod,
  createHttpTestProviders,
  createMemoryDirectory,
  type Receiver,
  startReceiver,
  testDeliveryRuntime,
  user,
} from "../../../test/support/delivery.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import type { AppContext } from "../../app/context.ts";
import { deliveryDepsOf, sendDueDeliveries } from "../../app/deliveries.ts";
import { createFixedClock } from "../../domain/clock.ts";
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
    expect(unknownUser.rawMessage).toMatch(/^user_id:/);

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
