import type { Clock } from "../../domain/clock.ts";
import type { DeliveryProvider } from "../../domain/notifications/model.ts";
import { describeUrl } from "../../domain/notifications/outbound-url.ts";
import type { OutboundHttp } from "../http/outbound-http.ts";
import { jsonPart, outcomeOfAnswer, outcomeOfError } from "./http-outcome.ts";

/**
 * Slack incoming webhook: `{text, blocks}` (Block Kit; `text` is the notification and fallback).
 * Slack answers 200 `ok`, or 4xx with a word (`invalid_blocks`, `no_service`…), 429 with
 * `Retry-After`. The URL is the credential: reasons name its host only.
 */
export function createSlackWebhookProvider(deps: { http: OutboundHttp; clock: Clock }): DeliveryProvider {
  return {
    kind: "slack_webhook",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "slack_webhook") {
        throw new Error(`slack_webhook provider got a ${destination.kind} destination`);
      }
      const payload = slackPayload(message.parts);
      if ("problem" in payload) return { status: "failed", reason: payload.problem };
      try {
        const url = deps.http.guard.urlForSend(destination.url);
        const answer = await deps.http.post(url, JSON.stringify(payload.body), {}, signal);
        return outcomeOfAnswer(answer, { host: describeUrl(url), now: deps.clock.now() });
      } catch (err) {
        return outcomeOfError(err);
      }
    },
  };
}

/**
 * `{text, blocks}` from the slack parts. The `blocks` part is what templates render, Block Kit
 * `{"blocks": [...]}` (templates/README.md); a bare array is taken too.
 */
export function slackPayload(
  parts: Readonly<Record<string, string>>,
): { body: { text: string; blocks?: unknown[] } } | { problem: string } {
  const text = parts.text ?? "";
  const parsed = jsonPart(parts, "blocks");
  const blocks = Array.isArray(parsed) ? parsed : (parsed as { blocks?: unknown } | undefined)?.blocks;
  if (parts.blocks !== undefined && parts.blocks.trim() !== "" && !Array.isArray(blocks)) {
    return { problem: 'the rendered Slack blocks are not Block Kit ({"blocks": [...]})' };
  }
  if (text.trim() === "" && !Array.isArray(blocks)) return { problem: "the rendered Slack message is empty" };
  return { body: Array.isArray(blocks) ? { text, blocks } : { text } };
}
