import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { readStackSettings } from "./context.ts";
import { createTestApp } from "./testing.ts";

describe("readStackSettings", () => {
  it("reads cdk.json's defaults: production settings, deletion protection on", () => {
    const { stackName, props } = readStackSettings(createTestApp().node);

    expect(stackName).toBe("Oncall");
    expect(props.database).toMatchObject({ deletionProtection: true, minCapacity: 0.5, maxCapacity: 4 });
    expect(props.database.backupRetention?.toDays()).toBe(7);
    expect(props.corsAllowedOrigins).toEqual(["*"]);
    expect(props.throttle).toEqual({ rateLimit: 50, burstLimit: 100 });
  });

  it("accepts the strings that `cdk deploy -c key=value` passes", () => {
    const app = createTestApp({
      context: {
        "oncall:stackName": "OncallDev",
        "oncall:databaseDeletionProtection": "false",
        "oncall:databaseBackupRetentionDays": "1",
        "oncall:databaseMinCapacity": "0",
        "oncall:corsOrigins": "https://a.example, https://b.example",
        "oncall:autoResolveAfterDays": "30",
      },
    });

    const { stackName, props } = readStackSettings(app.node);

    expect(stackName).toBe("OncallDev");
    expect(props.database.deletionProtection).toBe(false);
    expect(props.database.backupRetention?.toDays()).toBe(Duration.days(1).toDays());
    expect(props.database.minCapacity).toBe(0);
    expect(props.corsAllowedOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(props.autoResolveAfterDays).toBe(30);
  });

  it.each([
    ["oncall:databaseDeletionProtection", "yes", /expected true or false/],
    ["oncall:databaseBackupRetentionDays", "90", /from 1 to 35/],
    ["oncall:databaseMinCapacity", "lots", /expected a number/],
    ["oncall:autoResolveAfterDays", "0", /from 1 to 3650/],
    ["oncall:apiRateLimit", 0, /from 1 to 10000/],
    ["oncall:stackName", 42, /expected a string/],
  ])("rejects %s = %j, naming the key", (key, value, message) => {
    const app = createTestApp({ context: { [key]: value } });

    expect(() => readStackSettings(app.node)).toThrow(message);
    expect(() => readStackSettings(app.node)).toThrow(key);
  });
});
