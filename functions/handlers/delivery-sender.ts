import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { DeliveryQueueMessage } from "../adapters/aws/sqs-delivery-queue.ts";
import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { createAwsContext } from "../app/aws-context.ts";
import type { AppContext } from "../app/context.ts";
import { deliveryDepsOf, sendAnnounced } from "../app/deliveries.ts";
import { traceWithoutContent } from "./middleware/observability.ts";

/** A queue message that names no delivery: it can never succeed, so it is dropped (logged), not retried. */
export class DeliveryMessageError extends Error {
  override readonly name = "DeliveryMessageError";
}

export function parseDeliveryMessage(body: string): number {
  let parsed: Partial<DeliveryQueueMessage> | undefined;
  try {
    parsed = JSON.parse(body) as Partial<DeliveryQueueMessage>;
  } catch {
    throw new DeliveryMessageError("the message body is not JSON");
  }
  const id = parsed?.deliveryId;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) {
    throw new DeliveryMessageError("the message names no deliveryId");
  }
  return id;
}

/**
 * The delivery sender: SQS messages (one per due delivery) in; each record sends its delivery through
 * `sendAnnounced` (claim, render, send, record; re-announce what is due later). A record whose work
 * failed (the database unavailable) is reported in `batchItemFailures`: SQS makes it visible again
 * after the visibility timeout, and after maxReceiveCount it moves to the dead-letter queue. The
 * table is the truth; the message only wakes the sender.
 */
export function createDeliverySender(ctx: Pick<AppContext, "database" | "clock" | "directory" | "delivery">) {
  const deps = deliveryDepsOf(ctx);
  const processor = new BatchProcessor(EventType.SQS);
  const record = async (item: SQSRecord) => {
    let id: number;
    try {
      id = parseDeliveryMessage(item.body);
    } catch (error) {
      logger.error("delivery message dropped", { messageId: item.messageId, error: error as Error });
      return;
    }
    await sendAnnounced(deps, [id]);
  };
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, record, processor, {
      ...(context ? { context } : {}),
      // Every record failed (the database is down): report them all rather than fail the invocation.
      throwOnFullBatchFailure: false,
    });
}

let sender: Promise<ReturnType<typeof createDeliverySender>> | undefined;

/** The Lambda entry point (SQS event source with ReportBatchItemFailures). */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(traceWithoutContent<SQSEvent, SQSBatchResponse>())
  .use(injectLambdaContext(logger))
  .handler(async (event, context) => {
    sender ??= createAwsContext({ adminToken: false, connectRemoteDirectory })
      .then(createDeliverySender)
      .catch((error: unknown) => {
        sender = undefined;
        throw error;
      });
    try {
      return await (await sender)(event, context);
    } finally {
      metrics.publishStoredMetrics();
    }
  });
