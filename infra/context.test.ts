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
    expect(props.webhookThrottle).toEqual({ rateLimit: 100, burstLimit: 200 });
    expect(props.webAcl).toBeUndefined(); // the edge stack's
    expect(props.noAlertsAlarmMinutes).toBeUndefined();
    expect(props.alarmEmails).toBeUndefined();
  });

  it("adds the edge stack (WAF, us-east-1) unless an existing web ACL is given", () => {
    const own = readStackSettings(
      createTestApp({ context: { "oncall:wafWebhooksPerIpPerMinute": "1200" } }).node,
    );
    const arn =
      "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
    const shared = readStackSettings(createTestApp({ context: { "oncall:webAclArn": arn } }).node);

    expect(own.edge).toEqual({
      stackName: "OncallEdge",
      limits: { webhooksPerMinute: 1200, otherPerMinute: 300 },
    });
    expect(shared.edge).toBeUndefined();
    expect(shared.props.webAcl).toEqual({ arn });
  });

  it("reads the alarm settings: emails and the no-alerts heartbeat", () => {
    const app = createTestApp({
      context: {
        "oncall:alarmEmails": "ops@example.com, lead@example.com",
        "oncall:noAlertsAlarmMinutes": "60",
      },
    });

    const { props } = readStackSettings(app.node);

    expect(props.alarmEmails).toEqual(["ops@example.com", "lead@example.com"]);
    expect(props.noAlertsAlarmMinutes).toBe(60);
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
    ["oncall:webhookBurstLimit", "9999", /from 1 to 5000/],
    ["oncall:noAlertsAlarmMinutes", "1", /from 5 to 1440/],
    ["oncall:alarmEmails", "ops@example.com, nobody", /not an email address/],
    ["oncall:webAclArn", "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/a/b", /CLOUDFRONT-scoped/],
    ["oncall:wafOtherPerIpPerMinute", "5", /from 10 to 1000000/],
  ])("rejects %s = %j, naming the key", (key, value, message) => {
    const app = createTestApp({ context: { [key]: value } });

    expect(() => readStackSettings(app.node)).toThrow(message);
    expect(() => readStackSettings(app.node)).toThrow(key);
  });
});
