import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpReceiver, startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { blockKitProblems, teamsMessageProblems } from "../../../test/support/message-shapes.ts";
import { createFixedClock } from "../../domain/clock.ts";
import type { Destination, OutboundMessage } from "../../domain/notifications/model.ts";
import { TEMPLATE_CHANNEL_OF } from "../../domain/notifications/model.ts";
import {
  compileTemplate,
  messageKinds,
  renderChannels,
  sampleContext,
} from "../../domain/templates/index.ts";
import { createOutboundGuard } from "../http/outbound-guard.ts";
import { createOutboundHttp } from "../http/outbound-http.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { loadDefaultTemplates } from "../templates/default-templates.ts";
import { createSlackChatProvider } from "./slack-chat.ts";
import { createSlackWebhookProvider } from "./slack-webhook.ts";
import { createTeamsProvider } from "./teams.ts";
import { createWebhookProvider } from "./webhook.ts";

// What the default templates render is what the HTTP providers accept: every kind of message, for
// every HTTP destination, sent to a local receiver that checks the shape each service requires.

const clock = createFixedClock("2026-11-29T10:00:00Z");
const http = createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }), timeoutMs: 5_000 });
const secrets = createEnvSecretResolver({
  ONCALL_SECRET_BOT: "xoxb-0000-template-test",
  ONCALL_SECRET_HOOK: "whsec-template-test",
});
const never = new AbortController().signal;
const defaults = loadDefaultTemplates();

let receiver: HttpReceiver;
beforeAll(async () => {
  receiver = await startHttpReceiver({ status: 200, body: JSON.stringify({ ok: true, ts: "1.1" }) });
});
afterAll(() => receiver.close());

describe.each(messageKinds)("the default %s template", (kind) => {
  const template = compileTemplate(kind, defaults.get(kind)!);
  const destinations = (): Destination[] => [
    { kind: "slack_webhook", url: receiver.url("/slack-hook") },
    { kind: "slack_chat", botTokenRef: "ONCALL_SECRET_BOT", channel: "C0123" },
    { kind: "teams_webhook", url: receiver.url("/teams") },
    { kind: "webhook", url: receiver.url("/hook"), signingSecretRef: "ONCALL_SECRET_HOOK" },
  ];

  it("renders into messages each HTTP provider sends in the shape its service requires", async () => {
    const providers = {
      slack_webhook: createSlackWebhookProvider({ http, clock }),
      slack_chat: createSlackChatProvider({ http, clock, secrets, apiUrl: receiver.url("/api") }),
      teams_webhook: createTeamsProvider({ http, clock }),
      webhook: createWebhookProvider({ http, secrets, clock }),
    } as const;
    for (const destination of destinations()) {
      const [rendered] = renderChannels(template, template, sampleContext(kind), [
        TEMPLATE_CHANNEL_OF[destination.kind],
      ]);
      expect(rendered!.errors).toEqual([]);
      const message: OutboundMessage = {
        idempotencyKey: `${kind}:${destination.kind}`,
        destination,
        kind,
        parts: Object.fromEntries(rendered!.parts.map((p) => [p.name, p.content])),
      };
      receiver.reset();
      const provider = providers[destination.kind as keyof typeof providers];
      expect(await provider.send(message, never), destination.kind).toMatchObject({ status: "sent" });
      const body = JSON.parse(receiver.requests[0]!.body);
      switch (destination.kind) {
        case "slack_webhook":
        case "slack_chat":
          expect(blockKitProblems(body), destination.kind).toEqual([]);
          break;
        case "teams_webhook":
          expect(teamsMessageProblems(body)).toEqual([]);
          break;
        case "webhook":
          expect(receiver.requests[0]!.headers["x-oncall-signature"]).toMatch(/^v1=/);
          break;
      }
    }
  });
});
