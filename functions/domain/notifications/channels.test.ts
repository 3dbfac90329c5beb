import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { checkChannelConfig, destinationOfChannel, isEmailAddress, secretRefsOf } from "./channels.ts";
import type { ChannelConfig, DestinationKind } from "./model.ts";
import { testMessage } from "./test-message.ts";

const rules = (allowLocal: boolean) => ({
  allowLocal,
  checkSecretRef: (ref: string) =>
    ref.startsWith("ONCALL_SECRET_") ? undefined : "must start with ONCALL_SECRET_",
});

describe("checkChannelConfig", () => {
  it("normalises what it keeps", () => {
    expect(
      checkChannelConfig(
        { type: "email", addresses: [" A@Example.com ", "a@example.com"] },
        "c",
        rules(false),
      ),
    ).toEqual({ type: "email", addresses: ["a@example.com"] });
    expect(
      checkChannelConfig(
        { type: "webhook", url: " https://h.example/x ", signingSecretRef: "" },
        "c",
        rules(false),
      ),
    ).toEqual({ type: "webhook", url: "https://h.example/x" });
    expect(
      checkChannelConfig(
        { type: "slack", botTokenRef: "ONCALL_SECRET_BOT", channelId: " C01 " },
        "c",
        rules(false),
      ),
    ).toEqual({ type: "slack", botTokenRef: "ONCALL_SECRET_BOT", channelId: "C01" });
  });

  it.each<[string, ChannelConfig, boolean, string]>([
    [
      "http to localhost on AWS",
      { type: "teams", webhookUrl: "http://localhost:9000/x" },
      false,
      "c.teams.webhook_url",
    ],
    [
      "http to a remote host embedded",
      { type: "teams", webhookUrl: "http://teams.example/x" },
      true,
      "c.teams.webhook_url",
    ],
    [
      "a bad secret ref",
      { type: "webhook", url: "https://h.example/x", signingSecretRef: "HOME" },
      true,
      "c.webhook.signing_secret_ref",
    ],
    [
      "51 addresses",
      { type: "email", addresses: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) },
      true,
      "c.email.addresses",
    ],
    [
      "an address without domain dot",
      { type: "email", addresses: ["root@localhost"] },
      true,
      "c.email.addresses[0]",
    ],
  ])("refuses %s", (_what, config, allowLocal, field) => {
    let error: unknown;
    try {
      checkChannelConfig(config, "c", rules(allowLocal));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("accepts http to loopback only where local URLs are allowed", () => {
    expect(
      checkChannelConfig({ type: "teams", webhookUrl: "http://127.0.0.1:9000/x" }, "c", rules(true)),
    ).toEqual({
      type: "teams",
      webhookUrl: "http://127.0.0.1:9000/x",
    });
  });

  it.each([
    ["alice@example.com", true],
    ["a.b+tag@sub.example.co.uk", true],
    ["alice@", false],
    ["alice example@example.com", false],
    ["<alice@example.com>", false],
  ])("isEmailAddress(%s) = %s", (value, expected) => {
    expect(isEmailAddress(value)).toBe(expected);
  });
});

describe("destinationOfChannel and the test message", () => {
  it.each<[ChannelConfig, DestinationKind, string[]]>([
    [
      { type: "slack", webhookUrl: "https://hooks.slack.com/services/x" },
      "slack_webhook",
      ["blocks", "text"],
    ],
    [{ type: "slack", botTokenRef: "ONCALL_SECRET_BOT", channelId: "C01" }, "slack_chat", ["blocks", "text"]],
    [{ type: "teams", webhookUrl: "https://t.example/x" }, "teams_webhook", ["card"]],
    [{ type: "email", addresses: ["a@example.com"] }, "email", ["html", "subject", "text"]],
    [
      { type: "webhook", url: "https://h.example/x", signingSecretRef: "ONCALL_SECRET_H" },
      "webhook",
      ["body"],
    ],
  ])("%j → %s with the parts its provider reads", (config, kind, parts) => {
    const destination = destinationOfChannel({ config });
    expect(destination.kind).toBe(kind);
    const message = testMessage({ destination, subject: "channel x", idempotencyKey: "k", now: new Date(0) });
    expect(Object.keys(message.parts).sort()).toEqual(parts);
    for (const json of ["blocks", "card", "body"]) {
      if (message.parts[json] !== undefined) expect(() => JSON.parse(message.parts[json]!)).not.toThrow();
    }
  });

  it("names the secret references of a configuration", () => {
    expect(secretRefsOf({ type: "slack", botTokenRef: "ONCALL_SECRET_BOT", channelId: "C1" })).toEqual([
      "ONCALL_SECRET_BOT",
    ]);
    expect(secretRefsOf({ type: "teams", webhookUrl: "https://t.example/x" })).toEqual([]);
  });
});
