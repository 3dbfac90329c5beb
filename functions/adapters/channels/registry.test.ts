import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { createFixedClock } from "../../domain/clock.ts";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { ConfigError } from "../config.ts";
import { listOutboxMessages } from "../db/stores/local-outbox.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { createProviderRegistry, readNotificationConfig } from "./registry.ts";

describe("readNotificationConfig", () => {
  it("embedded: local URLs allowed, email and SMS into the local outbox unless configured", () => {
    expect(readNotificationConfig({}, "embedded")).toMatchObject({
      allowLocalUrls: true,
      email: { provider: "outbox" },
      sms: { provider: "outbox" },
      slackApiUrl: "https://slack.com/api",
      httpTimeoutMs: 10_000,
    });
    expect(
      readNotificationConfig(
        {
          ONCALL_SMTP_URL: "smtp://oncall@mail.local:2525",
          ONCALL_EMAIL_FROM: "Oncall <oncall@example.com>",
          AWS_PROFILE: "dev",
          ONCALL_ALLOW_LOCAL_URLS: "false",
        },
        "embedded",
      ),
    ).toMatchObject({
      allowLocalUrls: false,
      email: { provider: "smtp", url: "smtp://oncall@mail.local:2525", from: "Oncall <oncall@example.com>" },
      sms: { provider: "sns" },
    });
    expect(
      readNotificationConfig({ AWS_PROFILE: "dev", ONCALL_SMS_PROVIDER: "outbox" }, "embedded").sms,
    ).toEqual({
      provider: "outbox",
    });
  });

  it("AWS: never local URLs; SES with the identity, or an email provider that says what is missing", () => {
    expect(
      readNotificationConfig(
        {
          ONCALL_ALLOW_LOCAL_URLS: "true",
          ONCALL_EMAIL_FROM: "oncall@example.com",
          ONCALL_SES_CONFIGURATION_SET: "cs",
        },
        "aws",
      ),
    ).toMatchObject({
      allowLocalUrls: false,
      email: { provider: "ses", from: "oncall@example.com", configurationSet: "cs" },
      sms: { provider: "sns" },
    });
    expect(readNotificationConfig({}, "aws").email).toEqual({
      provider: "unconfigured",
      problem: expect.stringContaining("ONCALL_EMAIL_FROM"),
    });
  });

  it.each([
    ["ONCALL_EMAIL_FROM", "not an address"],
    ["ONCALL_SMTP_URL", "http://mail.local"],
    ["ONCALL_SMS_PROVIDER", "twilio"],
    ["ONCALL_ALLOW_LOCAL_URLS", "yes please"],
    ["ONCALL_OUTBOUND_TIMEOUT_MS", "5"],
  ])("a bad %s stops the start naming it", (variable, value) => {
    expect(() => readNotificationConfig({ [variable]: value }, "embedded")).toThrow(ConfigError);
    expect(() => readNotificationConfig({ [variable]: value }, "embedded")).toThrow(variable);
  });
});

const ses = mockClient(SESv2Client);
beforeEach(() => ses.reset());
const clock = createFixedClock("2026-11-29T10:00:00Z");
const email: OutboundMessage = {
  idempotencyKey: "alert:1:p0:s0:user-a:email:alert",
  destination: { kind: "email", to: ["a@example.com"] },
  kind: "alert",
  parts: { subject: "s", html: "<p>h</p>", text: "t" },
};
const sms: OutboundMessage = {
  idempotencyKey: "alert:1:p0:s0:user-a:sms:alert",
  destination: { kind: "sms", phone: "+4915112345678" },
  kind: "alert",
  parts: { text: "disk full" },
};
const never = new AbortController().signal;

describe("createProviderRegistry on AWS", () => {
  it("sends email through SES with the configured identity", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
    const { providers } = createProviderRegistry(
      readNotificationConfig({ ONCALL_EMAIL_FROM: "oncall@example.com" }, "aws"),
      {
        db: () => {
          throw new Error("no database on this path");
        },
        clock,
        secrets: createEnvSecretResolver({}),
        ses: new SESv2Client({ region: "eu-west-1" }),
      },
    );
    expect(await providers.email.send(email, never)).toEqual({ status: "sent", providerMessageId: "ses-1" });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input.FromEmailAddress).toBe("oncall@example.com");
    expect(Object.keys(providers).sort()).toEqual([
      "email",
      "slack_chat",
      "slack_webhook",
      "sms",
      "teams_webhook",
      "webhook",
    ]);
  });

  it("without ONCALL_EMAIL_FROM every email fails saying so (nothing pretends to send)", async () => {
    const { providers } = createProviderRegistry(readNotificationConfig({}, "aws"), {
      db: () => {
        throw new Error("unused");
      },
      clock,
      secrets: createEnvSecretResolver({}),
    });
    expect(await providers.email.send(email, never)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("ONCALL_EMAIL_FROM"),
    });
  });
});

describeEachDatabase("local outbox (embedded email and SMS without SMTP or SNS)", (suite) => {
  it("keeps each message once per idempotency key, durably, newest first", async () => {
    const { providers } = createProviderRegistry(readNotificationConfig({}, "embedded"), {
      db: () => suite.handle.db,
      clock,
      secrets: createEnvSecretResolver({}),
    });
    const first = await providers.email.send(email, never);
    expect(first).toMatchObject({
      status: "sent",
      providerMessageId: expect.stringMatching(/^local-outbox:\d+$/),
    });
    // A retried send (same key) is the same row: the outbox never shows a page twice.
    expect(await providers.email.send(email, never)).toEqual(first);
    await providers.sms.send(sms, never);
    const all = await listOutboxMessages(suite.handle.db, { limit: 10 });
    expect(all.messages.map((m) => [m.destination.kind, m.messageKind, m.parts.text])).toEqual([
      ["sms", "alert", "disk full"],
      ["email", "alert", "t"],
    ]);
    expect(
      (await listOutboxMessages(suite.handle.db, { limit: 10, recipient: "+4915112345678" })).messages,
    ).toHaveLength(1);
    const page = await listOutboxMessages(suite.handle.db, { limit: 1 });
    expect(page.next).toBe(page.messages[0]!.id);
    expect(
      (await listOutboxMessages(suite.handle.db, { limit: 1, before: page.next })).messages[0]!.destination
        .kind,
    ).toBe("email");
  });
});
