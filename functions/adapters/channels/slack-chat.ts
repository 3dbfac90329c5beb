import type { Clock } from "../../domain/clock.ts";
import type { DeliveryProvider, ProviderOutcome } from "../../domain/notifications/model.ts";
import type { SecretResolver } from "../../domain/notifications/secrets.ts";
import type { OutboundHttp } from "../http/outbound-http.ts";
import { excerpt, outcomeOfAnswer, outcomeOfError, retryAfterMs } from "./http-outcome.ts";
import { slackPayload } from "./slack-webhook.ts";

/** Slack Web API base; tests and Slack GovSlack point elsewhere (ONCALL_SLACK_API_URL). */
export const SLACK_API_URL = "https://slack.com/api";

/** `error` values of chat.postMessage that a later attempt may get past. */
const TRANSIENT_ERRORS = new Set([
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
]);

/**
 * Slack `chat.postMessage` with a bot token (from the secret store): `{channel, text, blocks}`.
 * Slack answers HTTP 200 with `{ok:false, error}` for most failures (`channel_not_found`,
 * `not_in_channel`, `invalid_auth`…: failed), `ratelimited` or HTTP 429 with `Retry-After` (retry).
 * A channel id that is a user id (U…) posts in the bot's direct message with that user.
 */
export function createSlackChatProvider(deps: {
  http: OutboundHttp;
  secrets: SecretResolver;
  clock: Clock;
  apiUrl?: string;
}): DeliveryProvider {
  const endpoint = new URL(`${(deps.apiUrl ?? SLACK_API_URL).replace(/\/$/, "")}/chat.postMessage`);
  return {
    kind: "slack_chat",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "slack_chat")
        throw new Error(`slack_chat provider got a ${destination.kind} destination`);
      const payload = slackPayload(message.parts);
      if ("problem" in payload) return { status: "failed", reason: payload.problem };
      const secrets: string[] = [];
      try {
        const token = await deps.secrets.resolve(destination.botTokenRef);
        secrets.push(token);
        const answer = await deps.http.post(
          endpoint,
          JSON.stringify({ channel: destination.channel, ...payload.body }),
          { authorization: `Bearer ${token}` },
          signal,
        );
        const now = deps.clock.now();
        if (answer.status !== 200)
          return outcomeOfAnswer(answer, { host: "slack chat.postMessage", now, secrets });
        return outcomeOfApiAnswer(answer.body, answer.headers["retry-after"], now, secrets);
      } catch (err) {
        return outcomeOfError(err);
      }
    },
  };
}

function outcomeOfApiAnswer(
  body: string,
  retryAfter: string | string[] | undefined,
  now: Date,
  secrets: readonly string[],
): ProviderOutcome {
  let parsed: { ok?: unknown; error?: unknown; ts?: unknown; warning?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { status: "retry", reason: `Slack answered HTTP 200 without JSON: ${excerpt(body, secrets)}` };
  }
  if (parsed.ok === true) {
    return {
      status: "sent",
      ...(typeof parsed.ts === "string" ? { providerMessageId: parsed.ts } : {}),
      ...(typeof parsed.warning === "string" ? { detail: `warning: ${parsed.warning}` } : {}),
    };
  }
  const error = typeof parsed.error === "string" ? excerpt(parsed.error, secrets) : "unknown_error";
  const reason = `Slack chat.postMessage: ${error}`;
  if (TRANSIENT_ERRORS.has(error)) {
    const after = retryAfterMs(retryAfter, now);
    return { status: "retry", reason, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  return { status: "failed", reason };
}
