import { describe, expect, it } from "vitest";
import type { ContactMethod } from "../domain/directory/model.ts";
import type { DeliveryProvider, DestinationKind, OutboundMessage } from "../domain/notifications/model.ts";
import { createProviderContactSender } from "./contact-messages.ts";

// The directory's messages through the delivery provider port: each contact method type to its
// destination and parts. The providers here are our own port recording what they were given.

function recordingProvider(kind: DestinationKind): DeliveryProvider & { got: OutboundMessage[] } {
  const got: OutboundMessage[] = [];
  return {
    kind,
    got,
    async send(message) {
      got.push(message);
      return { status: "sent", providerMessageId: `${kind}-1` };
    },
  };
}

const cm = (type: ContactMethod["type"], value: string): ContactMethod => ({
  id: "0b3c0f39-5f5e-4c3e-9b8f-1a2b3c4d5e6f",
  userId: "ada",
  type,
  name: "n",
  value,
  verified: false,
  disabled: true,
});
const message = { kind: "verification", subject: "Your code", text: "Code 123456 <now>" } as const;
const signal = new AbortController().signal;

describe("createProviderContactSender", () => {
  const email = recordingProvider("email");
  const sms = recordingProvider("sms");
  const webhook = recordingProvider("webhook");
  const slack = recordingProvider("slack_chat");
  const sender = createProviderContactSender(
    { email, sms, webhook, slack_chat: slack },
    { slackBotTokenRef: "ONCALL_SLACK_BOT_TOKEN" },
  );

  it("sends email with subject, text and escaped HTML", async () => {
    expect(await sender.send(cm("email", "ada@example.com"), message, signal)).toEqual({
      status: "sent",
      providerMessageId: "email-1",
    });
    expect(email.got[0]).toMatchObject({
      destination: { kind: "email", to: ["ada@example.com"] },
      kind: "verification",
      parts: { subject: "Your code", text: "Code 123456 <now>", html: "<p>Code 123456 &#60;now&#62;</p>" },
    });
    expect(email.got[0]!.idempotencyKey).toMatch(/^directory-verification-0b3c0f39/);
  });

  it("sends SMS, webhook JSON and Slack DMs", async () => {
    await sender.send(cm("sms", "+4915123456789"), message, signal);
    expect(sms.got[0]).toMatchObject({
      destination: { kind: "sms", phone: "+4915123456789" },
      parts: { text: message.text },
    });
    await sender.send(cm("webhook", "https://example.com/h"), { ...message, kind: "test" }, signal);
    expect(JSON.parse(webhook.got[0]!.parts.body!)).toEqual({
      kind: "test",
      text: message.text,
      contact_method_id: cm("webhook", "").id,
      user_id: "ada",
    });
    await sender.send(cm("slack_dm", "U024BE7LH"), message, signal);
    expect(slack.got[0]!.destination).toEqual({
      kind: "slack_chat",
      botTokenRef: "ONCALL_SLACK_BOT_TOKEN",
      channel: "U024BE7LH",
    });
    expect(JSON.parse(slack.got[0]!.parts.blocks!).blocks).toHaveLength(1);
  });

  it("fails with the reason where no delivery path exists, without pretending", async () => {
    expect(await sender.send(cm("voice", "+4915123456789"), message, signal)).toMatchObject({
      status: "failed",
    });
    expect(await sender.send(cm("teams", "29:abcd"), message, signal)).toMatchObject({ status: "failed" });
    const bare = createProviderContactSender({});
    expect(await bare.send(cm("email", "a@example.com"), message, signal)).toEqual({
      status: "failed",
      reason: "no email provider is configured in this deployment",
    });
    expect(await bare.send(cm("slack_dm", "U024BE7LH"), message, signal)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("bot token"),
    });
  });
});
