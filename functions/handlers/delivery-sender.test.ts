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
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { createNotificationUseCases } from "../app/notifications.ts";
import { createFixedClock } from "../domain/clock.ts";
import { createDeliverySender } from "./delivery-sender.ts";

// The SQS sender Lambda's handler over PGlite, a real local receiver, and SQS through aws-sdk-client-mock.

const sqs = mockClient(SQSClient);
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
});
