import { Code, ConnectError } from "@connectrpc/connect";
import { expect, it, describe as suite } from "vitest";
import { describe, humanField, sameField } from "./errors.ts";

suite("error sentences", () => {
  it.each([
    [new ConnectError("name: is required", Code.InvalidArgument), "Name is required.", "name"],
    [
      new ConnectError("rotation.start_time: must be a valid instant", Code.InvalidArgument),
      "Rotation start time must be a valid instant.",
      "rotation.start_time",
    ],
    [
      new ConnectError("rules[0].weekdays: choose at least one weekday", Code.InvalidArgument),
      "Rules[0] weekdays: choose at least one weekday.",
      "rules[0].weekdays",
    ],
    [new ConnectError("invalid token", Code.Unauthenticated), "Invalid token.", undefined],
    [
      new ConnectError("internal error", Code.Internal),
      "The server failed unexpectedly; try again, and check its log if it persists.",
      undefined,
    ],
    [
      new ConnectError("Failed to fetch", Code.Unknown),
      "The server cannot be reached. Check that it is running.",
      undefined,
    ],
    [new TypeError("x is undefined"), "Something went wrong; try again.", undefined],
    [
      new ConnectError(
        'channel 0b7e0a52-5f7c-4f5e-9d1a-2a7c1f0e9b11 is a target of escalation policy "Mail ops" (5d0c7e2a-1b2c-4d3e-8f9a-0b1c2d3e4f50), routing rule "db" (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d); remove it from those steps and rules first',
        Code.FailedPrecondition,
      ),
      "This channel is a target of escalation policy “Mail ops”, routing rule “db”; remove it from those steps and rules first.",
      undefined,
    ],
    [
      new ConnectError(
        'id: escalation policy is used by routing rule "criticals" (9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d)',
        Code.FailedPrecondition,
      ),
      "Escalation policy is used by routing rule “criticals”.",
      "id",
    ],
    [
      new ConnectError('schedule "Primary" (0b7e0a52-5f7c-4f5e-9d1a-2a7c1f0e9b11) not found', Code.NotFound),
      "Schedule “Primary” not found.",
      undefined,
    ],
  ])("%s → %s", (err, sentence, field) => {
    const d = describe(err);
    expect(d.sentence).toBe(sentence);
    expect(d.field).toBe(field);
  });

  it("matches the server's field names to form fields", () => {
    expect(sameField("rotation.start_time", "start_time")).toBe(true);
    expect(sameField("userId", "user_id")).toBe(true);
    expect(sameField("rules[1].end", "end")).toBe(true);
    expect(sameField("name", "description")).toBe(false);
    expect(sameField(undefined, "name")).toBe(false);
    expect(sameField("rule.condition.matchers[1].value", "condition.matchers[1].value")).toBe(true);
    expect(sameField("rule.condition.matchers[1].value", "condition.matchers[0].value")).toBe(false);
    expect(sameField("rule.condition.cel", "condition.cel")).toBe(true);
    expect(sameField("channel.config.email.addresses[2]", "config.email.addresses")).toBe(true);
    expect(sameField("rule.xcondition.cel", "condition.cel")).toBe(false);
    expect(humanField("escalation_policy_id")).toBe("Escalation policy id");
    expect(humanField("rule.condition.cel")).toBe("Rule condition CEL");
    expect(humanField("channel.config.webhook.url")).toBe("Channel config webhook URL");
  });
});
