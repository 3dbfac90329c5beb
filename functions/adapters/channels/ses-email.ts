import { createHash } from "node:crypto";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import { type ClientSource, resolveClient } from "../aws/lazy-client.ts";
import { outcomeOfAwsError } from "./aws-outcome.ts";

export interface SesEmailOptions {
  /** The client, or a loader that creates it on the first send (see aws/lazy-client.ts). */
  readonly client: ClientSource<SESv2Client>;
  /** A verified SES identity (address or an address of a verified domain): ONCALL_EMAIL_FROM. */
  readonly from: string;
  /** SES configuration set (event destinations for bounces and complaints): ONCALL_SES_CONFIGURATION_SET. */
  readonly configurationSet?: string | undefined;
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

/**
 * Email through SES v2 `SendEmail`: subject, HTML and text parts, the configuration set, tags with
 * the message kind and a digest of the idempotency key (tag values allow few characters), and the
 * key itself as a header for whoever reads the mail's source.
 */
export function createSesEmailProvider(options: SesEmailOptions): DeliveryProvider {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    kind: "email",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "email")
        throw new Error(`email provider got a ${destination.kind} destination`);
      const { subject = "", html = "", text = "" } = message.parts;
      if (subject.trim() === "" || (html.trim() === "" && text.trim() === "")) {
        return { status: "failed", reason: "the rendered email has no subject or no body" };
      }
      try {
        const [client, { SendEmailCommand }] = await Promise.all([
          resolveClient(options.client),
          import("@aws-sdk/client-sesv2"),
        ]);
        const out = await client.send(
          new SendEmailCommand({
            FromEmailAddress: options.from,
            Destination: { ToAddresses: [...destination.to] },
            Content: {
              Simple: {
                Subject: { Data: subject, Charset: "UTF-8" },
                Body: {
                  ...(html ? { Html: { Data: html, Charset: "UTF-8" } } : {}),
                  ...(text ? { Text: { Data: text, Charset: "UTF-8" } } : {}),
                },
                Headers: [{ Name: "X-Oncall-Idempotency-Key", Value: message.idempotencyKey }],
              },
            },
            ...(options.configurationSet ? { ConfigurationSetName: options.configurationSet } : {}),
            EmailTags: [
              { Name: "oncall-message-kind", Value: message.kind },
              { Name: "oncall-idempotency", Value: keyDigest(message.idempotencyKey) },
            ],
          }),
          { abortSignal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) },
        );
        return { status: "sent", ...(out.MessageId ? { providerMessageId: out.MessageId } : {}) };
      } catch (err) {
        return outcomeOfAwsError(err, "SES");
      }
    },
  };
}

/** SES tag values: letters, digits, `_ - . @`, at most 256. */
function keyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}
