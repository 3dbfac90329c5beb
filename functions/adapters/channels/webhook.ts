import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../../domain/clock.ts";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import { describeUrl } from "../../domain/notifications/outbound-url.ts";
import type { SecretResolver } from "../../domain/notifications/secrets.ts";
import type { OutboundHttp } from "../http/outbound-http.ts";
import { outcomeOfAnswer, outcomeOfError } from "./http-outcome.ts";

/**
 * Generic webhook: the rendered `body` part (JSON) POSTed as is, signed when the destination has a
 * signing secret. Receivers verify `X-Oncall-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`
 * with the secret, refuse timestamps older than a few minutes (replay) and drop repeats of
 * `X-Oncall-Idempotency-Key` (we deliver at least once). Snippet: README "Webhook signatures".
 */
export const TIMESTAMP_HEADER = "x-oncall-timestamp";
export const SIGNATURE_HEADER = "x-oncall-signature";
export const IDEMPOTENCY_HEADER = "x-oncall-idempotency-key";
export const MESSAGE_KIND_HEADER = "x-oncall-message-kind";

/** `v1=<hex>`: HMAC-SHA256 over `${timestamp}.${body}` with the secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * What a receiver does (and what the tests do): recompute and compare in constant time, and
 * refuse a timestamp more than `toleranceSeconds` from now.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  timestamp: string;
  body: string;
  signature: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): boolean {
  const ts = Number(input.timestamp);
  if (!Number.isInteger(ts) || Math.abs(input.nowSeconds - ts) > (input.toleranceSeconds ?? 300))
    return false;
  const expected = Buffer.from(signWebhook(input.secret, ts, input.body));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function createWebhookProvider(deps: {
  http: OutboundHttp;
  secrets: SecretResolver;
  clock: Clock;
}): DeliveryProvider {
  return {
    kind: "webhook",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "webhook")
        throw new Error(`webhook provider got a ${destination.kind} destination`);
      const body = message.parts.body ?? "";
      try {
        JSON.parse(body);
      } catch {
        return { status: "failed", reason: "the rendered webhook body is not JSON" };
      }
      const secrets: string[] = [];
      try {
        const url = deps.http.guard.urlForSend(destination.url);
        const now = deps.clock.now();
        const timestamp = Math.floor(now.getTime() / 1000);
        const headers: Record<string, string> = {
          [TIMESTAMP_HEADER]: String(timestamp),
          [IDEMPOTENCY_HEADER]: message.idempotencyKey,
          [MESSAGE_KIND_HEADER]: message.kind,
        };
        if (destination.signingSecretRef) {
          const secret = await deps.secrets.resolve(destination.signingSecretRef);
          secrets.push(secret);
          headers[SIGNATURE_HEADER] = signWebhook(secret, timestamp, body);
        }
        const answer = await deps.http.post(url, body, headers, signal);
        return outcomeOfAnswer(answer, { host: describeUrl(url), now: deps.clock.now(), secrets });
      } catch (err) {
        return outcomeOfError(err);
      }
    },
  };
}
