import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HttpReceiver, startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { createFixedClock } from "../../domain/clock.ts";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { createOutboundGuard } from "../http/outbound-guard.ts";
import { createOutboundHttp } from "../http/outbound-http.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { createSlackChatProvider } from "./slack-chat.ts";
import { createSlackWebhookProvider } from "./slack-webhook.ts";

// Slack's incoming webhook and chat.postMessage against a local server that plays Slack: it checks
// the payload (Block Kit blocks + fallback text, channel, bearer token) and answers as Slack does.

const token = "xoxb-1111-2222-abcdefghijkl";
const clock = createFixedClock("2026-11-29T10:00:00Z");
const http = createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }), timeoutMs: 2_000 });
const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*disk full* on db-1" } }];
// As templates render it (templates/README.md): {"blocks": [...]}.
const parts = { blocks: JSON.stringify({ blocks }), text: "disk full on db-1" };
const never = new AbortController().signal;

let slack: HttpReceiver;
beforeAll(async () => {
  slack = await startHttpReceiver();
});
afterAll(() => slack.close());
beforeEach(() => slack.reset());

describe("Slack incoming webhook", () => {
  const provider = createSlackWebhookProvider({ http, clock });
  const message = (p: Record<string, string> = parts): OutboundMessage => ({
    idempotencyKey: "k1",
    destination: { kind: "slack_webhook", url: slack.url("/services/T000/B000/XXXX") },
    kind: "alert",
    parts: p,
  });

  it("posts Block Kit blocks with the fallback text", async () => {
    expect(await provider.send(message(), never)).toMatchObject({ status: "sent" });
    const body = JSON.parse(slack.requests[0]!.body);
    expect(body).toEqual({ text: "disk full on db-1", blocks });
    expect(slack.requests[0]!.path).toBe("/services/T000/B000/XXXX");
  });

  it.each([
    [
      { status: 429, headers: { "retry-after": "3" }, body: "rate_limited" },
      { status: "retry", retryAfterMs: 3000 },
    ],
    [{ status: 500, body: "" }, { status: "retry" }],
    [
      { status: 400, body: "invalid_blocks" },
      { status: "failed", reason: expect.stringContaining("invalid_blocks") },
    ],
    [
      { status: 404, body: "no_service" },
      { status: "failed", reason: expect.stringContaining("no_service") },
    ],
  ] as const)("%j → %j", async (answer, expected) => {
    slack.answer(answer);
    const outcome = await provider.send(message(), never);
    expect(outcome).toMatchObject(expected);
    // The URL's path is the credential: never in a reason.
    expect(JSON.stringify(outcome)).not.toContain("XXXX");
  });

  it("takes a bare array of blocks too; fails blocks that are not Block Kit, without sending", async () => {
    expect(await provider.send(message({ blocks: JSON.stringify(blocks), text: "t" }), never)).toMatchObject({
      status: "sent",
    });
    expect(JSON.parse(slack.requests[0]!.body)).toEqual({ text: "t", blocks });
    expect(await provider.send(message({ blocks: '{"type":"section"}', text: "x" }), never)).toMatchObject({
      status: "failed",
      reason: 'the rendered Slack blocks are not Block Kit ({"blocks": [...]})',
    });
    expect(await provider.send(message({ blocks: "{nope", text: "x" }), never)).toMatchObject({
      status: "failed",
    });
    expect(slack.requests).toHaveLength(1);
  });
});

describe("Slack chat.postMessage", () => {
  let provider: ReturnType<typeof createSlackChatProvider>;
  beforeAll(() => {
    provider = createSlackChatProvider({
      http,
      clock,
      secrets: createEnvSecretResolver({ ONCALL_SECRET_SLACK_BOT: token }),
      apiUrl: slack.url("/api"),
    });
  });
  const message = (): OutboundMessage => ({
    idempotencyKey: "k2",
    destination: { kind: "slack_chat", botTokenRef: "ONCALL_SECRET_SLACK_BOT", channel: "C0123ABC" },
    kind: "alert",
    parts,
  });

  it("posts to chat.postMessage with the bot token, the channel, blocks and text; the ts is the message id", async () => {
    slack.answer({
      status: 200,
      body: JSON.stringify({ ok: true, channel: "C0123ABC", ts: "1764410400.000100" }),
    });
    expect(await provider.send(message(), never)).toEqual({
      status: "sent",
      providerMessageId: "1764410400.000100",
    });
    const request = slack.requests[0]!;
    expect(request.path).toBe("/api/chat.postMessage");
    expect(request.headers.authorization).toBe(`Bearer ${token}`);
    expect(JSON.parse(request.body)).toEqual({ channel: "C0123ABC", text: "disk full on db-1", blocks });
  });

  it.each([
    [
      { ok: false, error: "channel_not_found" },
      {},
      { status: "failed", reason: "Slack chat.postMessage: channel_not_found" },
    ],
    [
      { ok: false, error: "invalid_auth" },
      {},
      { status: "failed", reason: "Slack chat.postMessage: invalid_auth" },
    ],
    [{ ok: false, error: "ratelimited" }, { "retry-after": "30" }, { status: "retry", retryAfterMs: 30_000 }],
    [{ ok: false, error: "internal_error" }, {}, { status: "retry" }],
    [
      { ok: true, ts: "1.2", warning: "missing_charset" },
      {},
      { status: "sent", detail: "warning: missing_charset" },
    ],
  ] as const)("HTTP 200 %j → %j", async (answer, headers, expected) => {
    slack.answer({ status: 200, body: JSON.stringify(answer), headers });
    expect(await provider.send(message(), never)).toMatchObject(expected);
  });

  it("HTTP 429 with Retry-After retries after it; the token never appears in an outcome", async () => {
    slack.answer({ status: 429, headers: { "retry-after": "2" }, body: `slow down ${token}` });
    const outcome = await provider.send(message(), never);
    expect(outcome).toMatchObject({ status: "retry", retryAfterMs: 2000 });
    expect(JSON.stringify(outcome)).not.toContain(token);
  });

  it("a missing token fails before anything is sent", async () => {
    const noToken = createSlackChatProvider({
      http,
      clock,
      secrets: createEnvSecretResolver({}),
      apiUrl: slack.url("/api"),
    });
    expect(await noToken.send(message(), never)).toEqual({
      status: "failed",
      reason: "secret ONCALL_SECRET_SLACK_BOT: the environment variable is not set",
    });
    expect(slack.requests).toHaveLength(0);
  });
});
