import {
  MessageRejected,
  SESv2Client,
  SendEmailCommand,
  TooManyRequestsException,
} from "@aws-sdk/client-sesv2";
import {
  InvalidParameterException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { createSesEmailProvider } from "./ses-email.ts";
import { createSnsSmsProvider } from "./sns-sms.ts";

// SES v2 and SNS are AWS APIs: asserted through aws-sdk-client-mock (the command and its input).

const ses = mockClient(SESv2Client);
const sns = mockClient(SNSClient);
beforeEach(() => {
  ses.reset();
  sns.reset();
});
const never = new AbortController().signal;

describe("SES email", () => {
  const provider = createSesEmailProvider({
    client: async () => new SESv2Client({ region: "eu-west-1" }),
    from: "oncall@example.com",
    configurationSet: "oncall-events",
  });
  const message: OutboundMessage = {
    idempotencyKey: "alert:42:p0:s0:user-alice:email:alert",
    destination: { kind: "email", to: ["alice@example.com", "bob@example.com"] },
    kind: "alert",
    parts: { subject: "[oncall] disk full", html: "<p>disk <b>full</b></p>", text: "disk full" },
  };

  it("sends subject, HTML and text from the configured identity with the configuration set", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "0102-abc" });
    expect(await provider.send(message, never)).toEqual({ status: "sent", providerMessageId: "0102-abc" });
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      FromEmailAddress: "oncall@example.com",
      Destination: { ToAddresses: ["alice@example.com", "bob@example.com"] },
      ConfigurationSetName: "oncall-events",
      Content: {
        Simple: {
          Subject: { Data: "[oncall] disk full", Charset: "UTF-8" },
          Body: { Html: { Data: "<p>disk <b>full</b></p>" }, Text: { Data: "disk full" } },
          Headers: [{ Name: "X-Oncall-Idempotency-Key", Value: message.idempotencyKey }],
        },
      },
    });
    expect(input.EmailTags).toEqual([
      { Name: "oncall-message-kind", Value: "alert" },
      { Name: "oncall-idempotency", Value: expect.stringMatching(/^[0-9a-f]{32}$/) },
    ]);
  });

  it.each([
    [new TooManyRequestsException({ message: "slow", $metadata: { httpStatusCode: 429 } }), "retry"],
    [
      new MessageRejected({ message: "Email address is not verified", $metadata: { httpStatusCode: 400 } }),
      "failed",
    ],
    [Object.assign(new Error("socket hang up"), { name: "Error" }), "retry"],
    [
      Object.assign(new Error("InternalFailure"), {
        name: "InternalFailure",
        $metadata: { httpStatusCode: 500 },
      }),
      "retry",
    ],
  ])("%s → %s", async (error, status) => {
    ses.on(SendEmailCommand).rejects(error);
    expect(await provider.send(message, never)).toMatchObject({
      status,
      reason: expect.stringContaining("SES"),
    });
  });

  it("fails an email without a subject, without calling SES", async () => {
    expect(await provider.send({ ...message, parts: { html: "<p>x</p>" } }, never)).toMatchObject({
      status: "failed",
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe("SNS SMS", () => {
  const provider = createSnsSmsProvider({ client: new SNSClient({ region: "eu-west-1" }) });
  const message: OutboundMessage = {
    idempotencyKey: "k",
    destination: { kind: "sms", phone: "+4915112345678" },
    kind: "alert",
    parts: { text: "oncall: disk full on db-1. Reply 1 to ack" },
  };

  it("publishes to the phone number as a transactional SMS", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    expect(await provider.send(message, never)).toEqual({ status: "sent", providerMessageId: "m-1" });
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toEqual({
      PhoneNumber: "+4915112345678",
      Message: "oncall: disk full on db-1. Reply 1 to ack",
      MessageAttributes: { "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" } },
    });
  });

  it.each([
    [new ThrottledException({ message: "rate", $metadata: { httpStatusCode: 400 } }), "retry"],
    [
      new InvalidParameterException({
        message: "Invalid parameter: PhoneNumber",
        $metadata: { httpStatusCode: 400 },
      }),
      "failed",
    ],
  ])("%s → %s", async (error, status) => {
    sns.on(PublishCommand).rejects(error);
    expect(await provider.send(message, never)).toMatchObject({ status });
  });

  it("fails a number that is not E.164 without calling SNS", async () => {
    expect(
      await provider.send({ ...message, destination: { kind: "sms", phone: "0151 1234" } }, never),
    ).toMatchObject({ status: "failed" });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
