import type { Kysely } from "kysely";
import type { Clock } from "../../domain/clock.ts";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import type { Database } from "../db/schema.ts";
import { recordOutboxMessage } from "../db/stores/local-outbox.ts";

/**
 * The embedded runtime's stand-in for SMTP and SNS when neither is configured: the message is kept
 * in the `local_outbox` table (durable, one row per idempotency key) and read through
 * LocalOutboxService. "sent" here means "kept for you to read", and the provider message id says
 * where (`local-outbox:<id>`).
 */
export function createLocalOutboxProvider(
  kind: "email" | "sms",
  deps: { db: () => Kysely<Database>; clock: Clock },
): DeliveryProvider {
  return {
    kind,
    async send(message, signal) {
      if (message.destination.kind !== kind) {
        throw new Error(`local outbox (${kind}) got a ${message.destination.kind} destination`);
      }
      if (signal.aborted) return { status: "retry", reason: "the send was aborted" };
      try {
        const id = await recordOutboxMessage(deps.db(), message, deps.clock.now());
        return {
          status: "sent",
          providerMessageId: `local-outbox:${id}`,
          detail: "kept in the local outbox",
        };
      } catch (err) {
        return { status: "retry", reason: `local outbox: ${(err as Error).message.split("\n")[0]}` };
      }
    },
  };
}
