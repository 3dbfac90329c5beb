import { Duration } from "aws-cdk-lib";
import type { Node } from "constructs";
import type { PerIpLimits } from "./edge-stack.ts";
import type { OncallStackProps } from "./oncall-stack.ts";

/** CDK context keys (cdk.json `context`, or `cdk deploy -c key=value`) that configure the stack. */
export const contextKeys = {
  stackName: "oncall:stackName",
  databaseDeletionProtection: "oncall:databaseDeletionProtection",
  databaseBackupRetentionDays: "oncall:databaseBackupRetentionDays",
  databaseMinCapacity: "oncall:databaseMinCapacity",
  databaseMaxCapacity: "oncall:databaseMaxCapacity",
  corsOrigins: "oncall:corsOrigins",
  apiRateLimit: "oncall:apiRateLimit",
  apiBurstLimit: "oncall:apiBurstLimit",
  autoResolveAfterDays: "oncall:autoResolveAfterDays",
  webhookRateLimit: "oncall:webhookRateLimit",
  webhookBurstLimit: "oncall:webhookBurstLimit",
  webAclArn: "oncall:webAclArn",
  wafWebhooksPerIpPerMinute: "oncall:wafWebhooksPerIpPerMinute",
  wafOtherPerIpPerMinute: "oncall:wafOtherPerIpPerMinute",
  alarmEmails: "oncall:alarmEmails",
  noAlertsAlarmMinutes: "oncall:noAlertsAlarmMinutes",
  sesIdentity: "oncall:sesIdentity",
  sesConfigurationSet: "oncall:sesConfigurationSet",
  directoryUrl: "oncall:directoryUrl",
  directoryTokenSecretArn: "oncall:directoryTokenSecretArn",
} as const;

export interface StackSettings {
  stackName: string;
  props: OncallStackProps;
  /** The edge stack (WAF in us-east-1), unless an existing web ACL is given (oncall:webAclArn). */
  edge: { stackName: string; limits: PerIpLimits } | undefined;
}

/**
 * Reads the stack's settings from the CDK context, with defaults for a production deployment.
 * Values given with `-c` arrive as strings, so `"false"` and `"2"` are accepted; anything else fails the synth.
 */
export function readStackSettings(node: Node): StackSettings {
  const get = (key: string): unknown => node.tryGetContext(key);
  const origins = text(get(contextKeys.corsOrigins), contextKeys.corsOrigins);
  const stackName = text(get(contextKeys.stackName), contextKeys.stackName) ?? "Oncall";
  const webAclArn = text(get(contextKeys.webAclArn), contextKeys.webAclArn);
  if (
    webAclArn !== undefined &&
    !/^arn:[\w-]+:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/.test(webAclArn)
  ) {
    throw new Error(
      `context ${contextKeys.webAclArn}: expected a CLOUDFRONT-scoped WAFv2 web ACL ARN, got ${JSON.stringify(webAclArn)}`,
    );
  }
  const emails = text(get(contextKeys.alarmEmails), contextKeys.alarmEmails)
    ?.split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  for (const email of emails ?? []) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      throw new Error(`context ${contextKeys.alarmEmails}: not an email address: ${JSON.stringify(email)}`);
    }
  }
  return {
    stackName,
    edge: webAclArn
      ? undefined
      : {
          stackName: `${stackName}Edge`,
          limits: {
            webhooksPerMinute: num(
              get(contextKeys.wafWebhooksPerIpPerMinute),
              contextKeys.wafWebhooksPerIpPerMinute,
              10,
              1_000_000,
            ),
            otherPerMinute: num(
              get(contextKeys.wafOtherPerIpPerMinute),
              contextKeys.wafOtherPerIpPerMinute,
              10,
              1_000_000,
            ),
          },
        },
    props: {
      description: "oncall: on-call and alerting (API, Aurora Serverless v2, escalation workflow)",
      database: {
        deletionProtection:
          bool(get(contextKeys.databaseDeletionProtection), contextKeys.databaseDeletionProtection) ?? true,
        backupRetention: Duration.days(
          num(get(contextKeys.databaseBackupRetentionDays), contextKeys.databaseBackupRetentionDays, 1, 35) ??
            7,
        ),
        minCapacity: num(get(contextKeys.databaseMinCapacity), contextKeys.databaseMinCapacity, 0, 256),
        maxCapacity: num(get(contextKeys.databaseMaxCapacity), contextKeys.databaseMaxCapacity, 1, 256),
      },
      autoResolveAfterDays: num(
        get(contextKeys.autoResolveAfterDays),
        contextKeys.autoResolveAfterDays,
        1,
        3650,
      ),
      corsAllowedOrigins: origins
        ?.split(",")
        .map((o) => o.trim())
        .filter(Boolean),
      throttle: {
        rateLimit: num(get(contextKeys.apiRateLimit), contextKeys.apiRateLimit, 1, 10_000),
        burstLimit: num(get(contextKeys.apiBurstLimit), contextKeys.apiBurstLimit, 1, 5_000),
      },
      webhookThrottle: {
        rateLimit: num(get(contextKeys.webhookRateLimit), contextKeys.webhookRateLimit, 1, 10_000),
        burstLimit: num(get(contextKeys.webhookBurstLimit), contextKeys.webhookBurstLimit, 1, 5_000),
      },
      ...(webAclArn ? { webAcl: { arn: webAclArn } } : {}),
      alarmEmails: emails,
      sesIdentity: text(get(contextKeys.sesIdentity), contextKeys.sesIdentity),
      sesConfigurationSet: text(get(contextKeys.sesConfigurationSet), contextKeys.sesConfigurationSet),
      directoryUrl: text(get(contextKeys.directoryUrl), contextKeys.directoryUrl),
      directoryTokenSecretArn: text(
        get(contextKeys.directoryTokenSecretArn),
        contextKeys.directoryTokenSecretArn,
      ),
      noAlertsAlarmMinutes: num(
        get(contextKeys.noAlertsAlarmMinutes),
        contextKeys.noAlertsAlarmMinutes,
        5,
        1440,
      ),
    },
  };
}

function text(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string")
    throw new Error(`context ${key}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function bool(value: unknown, key: string): boolean | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new Error(`context ${key}: expected true or false, got ${JSON.stringify(value)}`);
}

function num(value: unknown, key: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`context ${key}: expected a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
