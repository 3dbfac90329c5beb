import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HttpReceiver, startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { createFixedClock } from "../../domain/clock.ts";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { createOutboundGuard } from "../http/outbound-guard.ts";
import { createOutboundHttp } from "../http/outbound-http.ts";
import { ADAPTIVE_CARD_CONTENT_TYPE, createTeamsProvider } from "./teams.ts";

// Teams Workflows webhook against a local receiver that checks the message shape Teams requires:
// a `message` with one Adaptive Card attachment whose content is the rendered card.

const card = {
  type: "AdaptiveCard",
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
  version: "1.5",
  body: [{ type: "TextBlock", text: "disk full on db-1", wrap: true }],
};
const provider = createTeamsProvider({
  http: createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }), timeoutMs: 2_000 }),
  clock: createFixedClock("2026-11-29T10:00:00Z"),
});
const never = new AbortController().signal;

describe("Teams webhook", () => {
  let teams: HttpReceiver;
  beforeAll(async () => {
    teams = await startHttpReceiver({ status: 202 });
  });
  afterAll(() => teams.close());
  beforeEach(() => teams.reset());
  const message = (cardPart = JSON.stringify(card)): OutboundMessage => ({
    idempotencyKey: "k",
    destination: {
      kind: "teams_webhook",
      url: teams.url("/workflows/abc/triggers/manual/run?sig=SECRETSIG"),
    },
    kind: "alert",
    parts: { card: cardPart },
  });

  it("posts a message with the Adaptive Card attachment; 202 is sent", async () => {
    expect(await provider.send(message(), never)).toEqual({ status: "sent" });
    const body = JSON.parse(teams.requests[0]!.body);
    expect(body).toEqual({
      type: "message",
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: card }],
    });
    expect(body.attachments[0].content.type).toBe("AdaptiveCard");
  });

  it.each([
    [
      { status: 429, headers: { "retry-after": "5" } },
      { status: "retry", retryAfterMs: 5000 },
    ],
    [
      { status: 200, body: "Microsoft Teams endpoint returned HTTP error 429 with ContextId …" },
      { status: "retry" },
    ],
    [{ status: 502 }, { status: "retry" }],
    [
      { status: 400, body: "Bad payload" },
      { status: "failed", reason: expect.stringContaining("HTTP 400") },
    ],
  ] as const)("%j → %j", async (answer, expected) => {
    teams.answer(answer);
    const outcome = await provider.send(message(), never);
    expect(outcome).toMatchObject(expected);
    expect(JSON.stringify(outcome)).not.toContain("SECRETSIG");
  });

  it("fails a card that is not an Adaptive Card, without sending", async () => {
    expect(await provider.send(message('{"type":"MessageCard"}'), never)).toMatchObject({ status: "failed" });
    expect(await provider.send(message("not json"), never)).toMatchObject({ status: "failed" });
    expect(teams.requests).toHaveLength(0);
  });
});
