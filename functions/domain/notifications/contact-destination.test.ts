import { describe, expect, it } from "vitest";
import type { ContactMethod } from "../directory/model.ts";
import { destinationOfContactMethod } from "./contact-destination.ts";

describe("destinationOfContactMethod", () => {
  const config = {
    slackBotTokenRef: "ONCALL_SECRET_SLACK_BOT",
    webhookSigningSecretRef: "ONCALL_SECRET_HOOK",
  };
  it.each<[Pick<ContactMethod, "type" | "value">, typeof config | object, unknown]>([
    [
      { type: "email", value: "alice@example.com" },
      config,
      { ok: true, destination: { kind: "email", to: ["alice@example.com"] } },
    ],
    [
      { type: "sms", value: "+4915112345678" },
      config,
      { ok: true, destination: { kind: "sms", phone: "+4915112345678" } },
    ],
    [
      { type: "slack_dm", value: "U024BE7LH" },
      config,
      {
        ok: true,
        destination: { kind: "slack_chat", botTokenRef: "ONCALL_SECRET_SLACK_BOT", channel: "U024BE7LH" },
      },
    ],
    [
      { type: "slack_dm", value: "U024BE7LH" },
      {},
      { ok: false, reason: expect.stringContaining("bot token") },
    ],
    [
      { type: "teams", value: "https://example.webhook.office.com/workflows/1" },
      config,
      {
        ok: true,
        destination: { kind: "teams_webhook", url: "https://example.webhook.office.com/workflows/1" },
      },
    ],
    [
      { type: "teams", value: "29:1a2b3c" },
      config,
      { ok: false, reason: expect.stringContaining("Workflows webhook") },
    ],
    [
      { type: "webhook", value: "https://hooks.example.com/alice" },
      config,
      {
        ok: true,
        destination: {
          kind: "webhook",
          url: "https://hooks.example.com/alice",
          signingSecretRef: "ONCALL_SECRET_HOOK",
        },
      },
    ],
    [
      { type: "webhook", value: "https://hooks.example.com/alice" },
      {},
      { ok: true, destination: { kind: "webhook", url: "https://hooks.example.com/alice" } },
    ],
    [
      { type: "voice", value: "+4915112345678" },
      config,
      { ok: false, reason: "voice calls are not delivered yet" },
    ],
  ])("%j → %j", (method, cfg, expected) => {
    expect(destinationOfContactMethod(method, cfg)).toEqual(expected);
  });
});
