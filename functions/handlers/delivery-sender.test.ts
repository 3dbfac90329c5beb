import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../test/support/app-context.ts";
import { openTestDatabase } from "../../test/support/databases.ts";
import {
  createHttpTestProviders,
  type Receiver,
  startReceiver,
  testDeliveryRuntime,
} from "../../test/support/delivery.ts";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.ts";
import { createProviderRegistry, readNotificationConfig } from "../adapters/channels/registry.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { createEnvSecretResolver } from "../adapters/secrets/env-secret-resolver.ts";
import { createNotificationUseCases } from "../app/notifications.ts";
import { createFixedClock } from "../domain/clock.ts";
import { createDeliverySender } from "./delivery-sender.ts";

// The SQS sender Lambda's handler over PGlite, a real local receiver, and SQS through aws-sdk-client-mock.

const sqs = mockClient(SQSClient);
const ses = mockClient(SESv2Client);
const sns = mockClient(SNSClient);
const queueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/oncall-deliveries";

const event = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${i}`,
    body,
    attributes: {} as never,
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:oncall-deliveries",
    awsRegion: "eu-west-1",
  })),
});

describe("delivery sender Lambda", () => {
  const clock = createFixedClock("2026-11-29T10:00:00Z");
  let handle: DatabaseHandle;
  let receiver: Receiver;

  beforeAll(async () => {
    handle = await openTestDatabase("pglite");
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await handle.close();
  });

  it("sends announced deliveries, re-announces a retry with its delay, drops a bad message, reports a failed record", async () => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const ctx = createTestAppContext(handle, {
      clock,
      delivery: testDeliveryRuntime({
        providers: createHttpTestProviders(receiver.url),
        queue: createSqsDeliveryQueue({ client: new SQSClient({ region: "eu-west-1" }), queueUrl, clock }),
      }),
    });
    const send = (url: string, key: string) =>
      createNotificationUseCases(ctx).send({
        templateId: "default-alert",
        templateVersion: 0,
        context: { alert: { id: 1, summary: "s" } },
        destinations: [{ kind: "webhook", url }],
        idempotencyKey: key,
        principal: "test",
      });
    const [ok] = await send(`${receiver.url}/ok`, "a");
    const [flaky] = await send(`${receiver.url}/flaky`, "b");
    // Announced at once, with no delay.
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries)).toEqual([
      [{ Id: String(ok!.id), MessageBody: JSON.stringify({ deliveryId: ok!.id }), DelaySeconds: 0 }],
      [{ Id: String(flaky!.id), MessageBody: JSON.stringify({ deliveryId: flaky!.id }), DelaySeconds: 0 }],
    ]);
    sqs.resetHistory();

    receiver.script({ status: 503, headers: { "retry-after": "30" } });
    const handler = createDeliverySender(ctx);
    const result = await handler(
      event(JSON.stringify({ deliveryId: flaky!.id }), "not json", JSON.stringify({ deliveryId: ok!.id })),
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(["/flaky", "/ok"]);
    // The retry keeps a message: due in 30 s (Retry-After), announced with that delay.
    expect(
      sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.[0]?.DelaySeconds),
    ).toEqual([30]);

    // A redelivered message of a sent delivery sends nothing.
    await handler(event(JSON.stringify({ deliveryId: ok!.id })));
    expect(receiver.requests).toHaveLength(2);

    // The database gone: the record fails, SQS retries it (and dead-letters it in the end).
    const broken = createDeliverySender({
      ...ctx,
      database: { ...ctx.database, db: undefined as never },
    });
    const failed = await broken(event(JSON.stringify({ deliveryId: flaky!.id })));
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: "m0" }]);
  });

  it("sends email through SES and SMS through SNS with the rendered template (AWS registry)", async () => {
    sqs.reset();
    ses.reset();
    sns.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
    sns.on(PublishCommand).resolves({ MessageId: "sns-1" });
    const outbound = createProviderRegistry(
      readNotificationConfig({ ONCALL_EMAIL_FROM: "oncall@example.com" }, "aws"),
      {
        db: () => handle.db,
        clock,
        secrets: createEnvSecretResolver({}),
        ses: async () => new SESv2Client({ region: "eu-west-1" }),
        sns: async () => new SNSClient({ region: "eu-west-1" }),
      },
    );
    const ctx = createTestAppContext(handle, {
      clock,
      delivery: testDeliveryRuntime({
        providers: outbound.providers,
        queue: createSqsDeliveryQueue({ client: new SQSClient({ region: "eu-west-1" }), queueUrl, clock }),
      }),
    });
    const sent = await createNotificationUseCases(ctx).send({
      templateId: "default-alert",
      templateVersion: 0,
      context: { alert: { id: 9, summary: "Checkout latency above 2 s", severity: "critical", labels: {} } },
      destinations: [
        { kind: "email", to: ["alice@example.com"] },
        { kind: "sms", phone: "+4915112345678" },
      ],
      idempotencyKey: "aws-kinds",
      principal: "test",
    });
    const result = await createDeliverySender(ctx)(
      event(...sent.map((d) => JSON.stringify({ deliveryId: d.id }))),
    );
    expect(result.batchItemFailures).toEqual([]);
    const email = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(email.Destination?.ToAddresses).toEqual(["alice@example.com"]);
    expect(email.Content?.Simple?.Subject?.Data).toContain("Checkout latency above 2 s");
    expect(email.Content?.Simple?.Body?.Html?.Data).toContain("Checkout latency above 2 s");
    expect(email.Content?.Simple?.Body?.Text?.Data).toContain("Checkout latency above 2 s");
    const sms = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(sms.PhoneNumber).toBe("+4915112345678");
    expect(sms.Message).toContain("Checkout latency above 2 s");
  });
});
