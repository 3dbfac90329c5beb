import type { SNSClient } from "@aws-sdk/client-sns";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import { type ClientSource, resolveClient } from "../aws/lazy-client.ts";
import { outcomeOfAwsError } from "./aws-outcome.ts";

export interface SnsSmsOptions {
  readonly client: ClientSource<SNSClient>;
  /** Alphanumeric sender id where the destination country supports one (ONCALL_SMS_SENDER_ID). */
  readonly senderId?: string | undefined;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * SMS through SNS `Publish` to a phone number, as a transactional message (pages are
 * time-critical: SNS routes them for reliability, not cost).
 */
export function createSnsSmsProvider(options: SnsSmsOptions): DeliveryProvider {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    kind: "sms",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "sms") throw new Error(`sms provider got a ${destination.kind} destination`);
      if (!E164.test(destination.phone))
        return { status: "failed", reason: "the phone number is not in E.164 form" };
      const text = message.parts.text ?? "";
      if (text.trim() === "") return { status: "failed", reason: "the rendered SMS is empty" };
      try {
        const [client, { PublishCommand }] = await Promise.all([
          resolveClient(options.client),
          import("@aws-sdk/client-sns"),
        ]);
        const out = await client.send(
          new PublishCommand({
            PhoneNumber: destination.phone,
            Message: text,
            MessageAttributes: {
              "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
              ...(options.senderId
                ? { "AWS.SNS.SMS.SenderID": { DataType: "String", StringValue: options.senderId } }
                : {}),
            },
          }),
          { abortSignal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) },
        );
        return { status: "sent", ...(out.MessageId ? { providerMessageId: out.MessageId } : {}) };
      } catch (err) {
        return outcomeOfAwsError(err, "SNS");
      }
    },
  };
}
