import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SecretUnavailableError } from "../../domain/notifications/secrets.ts";
import { createSecretsManagerResolver } from "./secrets-manager-resolver.ts";

const sm = mockClient(SecretsManagerClient);
beforeEach(() => sm.reset());

describe("Secrets Manager resolver", () => {
  let now = 0;
  const resolver = createSecretsManagerResolver({
    client: new SecretsManagerClient({ region: "eu-west-1" }),
    maxAgeSeconds: 300,
    now: () => now,
  });

  it("accepts names and ARNs under oncall/ only", () => {
    expect(resolver.checkRef("oncall/slack-bot")).toBeUndefined();
    expect(
      resolver.checkRef("arn:aws:secretsmanager:eu-west-1:123456789012:secret:oncall/slack-bot-AbCdEf"),
    ).toBeUndefined();
    expect(resolver.checkRef("prod/database")).toContain("starting with oncall/");
    expect(resolver.checkRef("arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-1")).toContain(
      "oncall/",
    );
  });

  it("reads a secret once per max age; a missing one is not transient, an outage is", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "oncall/slack-bot" }).resolves({
      SecretString: "xoxb-123456789",
    });
    expect(await resolver.resolve("oncall/slack-bot")).toBe("xoxb-123456789");
    expect(await resolver.resolve("oncall/slack-bot")).toBe("xoxb-123456789");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 301_000;
    await resolver.resolve("oncall/slack-bot");
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);

    sm.on(GetSecretValueCommand, { SecretId: "oncall/gone" }).rejects(
      new ResourceNotFoundException({ message: "not found", $metadata: { httpStatusCode: 400 } }),
    );
    await expect(resolver.resolve("oncall/gone")).rejects.toMatchObject({
      name: "SecretUnavailableError",
      transient: false,
    });
    sm.on(GetSecretValueCommand, { SecretId: "oncall/flaky" }).rejects(
      Object.assign(new Error("socket hang up"), { name: "TimeoutError" }),
    );
    const flaky = await resolver.resolve("oncall/flaky").catch((e: unknown) => e);
    expect(flaky).toBeInstanceOf(SecretUnavailableError);
    expect((flaky as SecretUnavailableError).transient).toBe(true);
    await expect(resolver.resolve("prod/database")).rejects.toMatchObject({ transient: false });
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).not.toContain(
      "prod/database",
    );
  });
});
