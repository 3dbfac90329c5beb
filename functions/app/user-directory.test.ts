import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase } from "../../test/support/databases.ts";
import { ConfigError, readAwsConfig, readEmbeddedConfig } from "../adapters/config.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { insertUser } from "../adapters/db/stores/directory.ts";
import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { systemClock } from "../domain/clock.ts";
import { UnavailableError } from "../domain/errors.ts";
import { createUserDirectoryBinding } from "./user-directory.ts";

const aws = {
  DATABASE_RESOURCE_ARN: "arn:aws:rds:eu-west-1:123456789012:cluster:oncall",
  DATABASE_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
  DATABASE_NAME: "oncall",
};

describe("directory configuration", () => {
  it("is embedded without ONCALL_DIRECTORY_URL", () => {
    expect(readEmbeddedConfig({}).directory).toBeUndefined();
  });

  it("reads the remote directory and its limits", () => {
    const config = readEmbeddedConfig({
      ONCALL_DIRECTORY_URL: "https://kneutral.example/api/",
      ONCALL_DIRECTORY_TOKEN: "secret-token",
      ONCALL_DIRECTORY_CACHE_TTL_SECONDS: "30",
    });
    expect(config.directory).toEqual({
      url: "https://kneutral.example/api",
      token: "secret-token",
      tokenSecretArn: undefined,
      cacheTtlSeconds: 30,
      timeoutMs: 2000,
    });
    const onAws = readAwsConfig(
      {
        ...aws,
        ONCALL_DIRECTORY_URL: "https://kneutral.example",
        ONCALL_DIRECTORY_TOKEN_SECRET_ARN: "arn:x",
      },
      { adminToken: false },
    );
    expect(onAws.directory?.tokenSecretArn).toBe("arn:x");
  });

  it.each([
    [{ ONCALL_DIRECTORY_URL: "https://kneutral.example" }, "ONCALL_DIRECTORY_TOKEN"],
    [{ ONCALL_DIRECTORY_URL: "kneutral:8080", ONCALL_DIRECTORY_TOKEN: "t" }, "ONCALL_DIRECTORY_URL"],
    [{ ONCALL_DIRECTORY_URL: "ftp://x", ONCALL_DIRECTORY_TOKEN: "t" }, "ONCALL_DIRECTORY_URL"],
    [
      { ONCALL_DIRECTORY_URL: "https://x", ONCALL_DIRECTORY_TOKEN: "t", ONCALL_DIRECTORY_TIMEOUT_MS: "0" },
      "ONCALL_DIRECTORY_TIMEOUT_MS",
    ],
    [{ ONCALL_DEMO_WEBHOOK_URL: "http://example.com/x" }, "ONCALL_DEMO_WEBHOOK_URL"],
  ])("refuses %j naming %s", (env, variable) => {
    let error: unknown;
    try {
      readEmbeddedConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });
});

describe("createUserDirectoryBinding", () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    await insertUser(
      database.db,
      { id: "ada", name: "Ada", email: "ada@example.com", timeZone: "UTC", slackUserId: "", teamsUserId: "" },
      new Date(),
    );
  });
  afterAll(() => database?.close());

  it("answers from our tables when embedded", async () => {
    const binding = createUserDirectoryBinding({ config: undefined, database, clock: systemClock });
    expect(binding.remoteDirectoryUrl).toBeUndefined();
    expect((await binding.directory.getUsers(["ada"])).map((u) => u.name)).toEqual(["Ada"]);
  });

  it("asks the remote directory when one is configured, never our tables", async () => {
    const binding = createUserDirectoryBinding({
      // Nothing listens on port 9 (discard) of the loopback: the call fails at once.
      config: {
        url: "http://127.0.0.1:9",
        token: "t",
        tokenSecretArn: undefined,
        cacheTtlSeconds: 60,
        timeoutMs: 500,
      },
      database,
      clock: systemClock,
      connectRemote: connectRemoteDirectory,
    });
    expect(binding.remoteDirectoryUrl).toBe("http://127.0.0.1:9");
    await expect(binding.directory.getUsers(["ada"])).rejects.toBeInstanceOf(UnavailableError);
  });

  it("says so when a process was built without the remote client", async () => {
    const binding = createUserDirectoryBinding({
      config: {
        url: "https://kneutral.example",
        token: "t",
        tokenSecretArn: undefined,
        cacheTtlSeconds: 60,
        timeoutMs: 500,
      },
      database,
      clock: systemClock,
    });
    await expect(binding.directory.contactMethods("ada")).rejects.toThrow(
      /without the remote directory client/,
    );
  });
});
