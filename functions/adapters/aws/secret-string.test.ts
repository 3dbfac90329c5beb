import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { lazily } from "./lazy-client.ts";
import { createSecretStringReader } from "./secret-string.ts";

const secretId = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin-token-AbCdEf";
const secrets = mockClient(SecretsManagerClient);

beforeEach(() => {
  secrets.reset();
});

function reader(now: () => number) {
  let created = 0;
  const read = createSecretStringReader({
    secretId,
    maxAgeSeconds: 300,
    now,
    client: lazily(async () => {
      created += 1;
      return new SecretsManagerClient({ region: "eu-west-1" });
    }),
  });
  return { read, created: () => created };
}

describe("createSecretStringReader", () => {
  it("creates no client until the first read, then keeps the value for maxAgeSeconds", async () => {
    let clock = 1_000_000;
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "first" })
      .resolves({ SecretString: "second" });
    const { read, created } = reader(() => clock);
    expect(created()).toBe(0);

    expect(await read()).toBe("first");
    clock += 299_999;
    expect(await read()).toBe("first");
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: secretId },
    ]);

    clock += 1;
    expect(await read()).toBe("second");
    expect(created()).toBe(1);
  });

  it("shares one request between concurrent first reads", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: "token" });
    const { read } = reader(() => 0);

    expect(await Promise.all([read(), read(), read()])).toEqual(["token", "token", "token"]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("does not cache a failed read", async () => {
    secrets.on(GetSecretValueCommand).rejectsOnce(new Error("throttled")).resolves({ SecretString: "token" });
    const { read } = reader(() => 0);

    await expect(read()).rejects.toThrow("throttled");
    expect(await read()).toBe("token");
  });

  it("answers undefined for a secret without a string value", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
    const { read } = reader(() => 0);

    expect(await read()).toBeUndefined();
  });
});
