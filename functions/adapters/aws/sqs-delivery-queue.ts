import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Clock } from "../../domain/clock.ts";
import { type ClientSource, resolveClient } from "./lazy-client.ts";

/** SQS's longest DelaySeconds: a later delivery is announced again by housekeeping when it is due. */
export const MAX_SQS_DELAY_SECONDS = 900;
/** Entries per SendMessageBatch (SQS's limit). */
const batchSize = 10;

/** The body of a delivery queue message: the delivery it names (the table holds the rest). */
export interface DeliveryQueueMessage {
  readonly deliveryId: number;
}

/**
 * The delivery queue on AWS: one message per delivery, delayed until it is due (at most 15 minutes;
 * a rule delay or backoff beyond that is re-announced by housekeeping). A message is only a wake-up
 * call: the sender claims the row, so a duplicate or a late message sends nothing twice.
 */
export function createSqsDeliveryQueue(options: {
  client: ClientSource<SQSClient>;
  queueUrl: string;
  clock: Clock;
}): { announce(due: readonly { id: number; dueAt: Date }[]): Promise<void> } {
  return {
    async announce(due) {
      if (due.length === 0) return;
      const [client, { SendMessageBatchCommand }] = await Promise.all([
        resolveClient(options.client),
        import("@aws-sdk/client-sqs"),
      ]);
      const now = options.clock.now().getTime();
      for (let i = 0; i < due.length; i += batchSize) {
        const entries = due.slice(i, i + batchSize).map((d) => ({
          Id: String(d.id),
          MessageBody: JSON.stringify({ deliveryId: d.id } satisfies DeliveryQueueMessage),
          DelaySeconds: Math.min(
            MAX_SQS_DELAY_SECONDS,
            Math.max(0, Math.ceil((d.dueAt.getTime() - now) / 1000)),
          ),
        }));
        const out = await client.send(
          new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }),
        );
        if (out.Failed && out.Failed.length > 0) {
          throw new Error(
            `SQS refused ${out.Failed.length} delivery message(s): ${out.Failed.map((f) => f.Code).join(", ")}`,
          );
        }
      }
    },
  };
}
