import type { Clock } from "../../domain/clock.ts";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import { describeUrl } from "../../domain/notifications/outbound-url.ts";
import type { OutboundHttp } from "../http/outbound-http.ts";
import { excerpt, jsonPart, outcomeOfAnswer, outcomeOfError } from "./http-outcome.ts";

export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

/**
 * Microsoft Teams through a Workflows ("Post to a channel when a webhook request is received") or
 * legacy incoming webhook: one message with the rendered Adaptive Card as its attachment. Workflows
 * answer 202; legacy connectors answer 200 and put a throttling error in the body, which is read.
 */
export function createTeamsProvider(deps: { http: OutboundHttp; clock: Clock }): DeliveryProvider {
  return {
    kind: "teams_webhook",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "teams_webhook")
        throw new Error(`teams provider got a ${destination.kind} destination`);
      const card = jsonPart(message.parts, "card") as { type?: unknown } | undefined;
      if (typeof card !== "object" || card === null || card.type !== "AdaptiveCard") {
        return {
          status: "failed",
          reason: 'the rendered Teams card is not an Adaptive Card (JSON with "type": "AdaptiveCard")',
        };
      }
      const body = JSON.stringify({
        type: "message",
        attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: card }],
      });
      try {
        const url = deps.http.guard.urlForSend(destination.url);
        const answer = await deps.http.post(url, body, {}, signal);
        const host = describeUrl(url);
        if (answer.status === 200 && /HTTP error 429/i.test(answer.body)) {
          return { status: "retry", reason: `${host} throttled the message: ${excerpt(answer.body)}` };
        }
        return outcomeOfAnswer(answer, { host, now: deps.clock.now() });
      } catch (err) {
        return outcomeOfError(err);
      }
    },
  };
}
