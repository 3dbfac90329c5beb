import { lazily } from "../adapters/aws/lazy-client.ts";
import { createSecretStringReader } from "../adapters/aws/secret-string.ts";
import { createSecretsManagerResolver } from "../adapters/aws/secrets-manager-resolver.ts";
import { createSfnEscalationRunner } from "../adapters/aws/sfn-escalation-runner.ts";
import { createSqsDeliveryQueue } from "../adapters/aws/sqs-delivery-queue.ts";
import { createProviderRegistry, readNotificationConfig } from "../adapters/channels/registry.ts";
import { ConfigError, readAwsConfig } from "../adapters/config.ts";
import type { RemoteDirectoryConnector } from "../adapters/directory/remote-directory.ts";
import { traced } from "../adapters/observability.ts";
import { version } from "../adapters/version.ts";
import { systemClock } from "../domain/clock.ts";
import { openAwsDatabase } from "./aws-database.ts";
import { createProviderContactSender } from "./contact-messages.ts";
import type { AppContext } from "./context.ts";
import { channelLookupOver, type DeliveryQueue, deliverySettingsFor } from "./delivery-runtime.ts";
import type { createMaintenanceCheck } from "./maintenance.ts";
import { createSendSlots, DEFAULT_SEND_SLOTS } from "./send-slots.ts";
import { createUserDirectoryBinding } from "./user-directory.ts";

/** Seconds a Lambda keeps the admin token before asking Secrets Manager again (rotation delay). */
const secretMaxAgeSeconds = 300;

// The SDK clients are created (and their packages imported) on first use, not at init: loading the
// three cost ~135 ms of every cold start, and most invocations need one of them at most (a task
// never starts executions nor reads the admin token). See adapters/aws/lazy-client.ts.

/** Builds the AppContext inside Lambda: Aurora through the Data API, the admin token from Secrets Manager. */
export async function createAwsContext(
  options: {
    adminToken: boolean;
    /** Only the Lambdas that ask a remote directory pass it (it brings the Connect client along). */
    connectRemoteDirectory?: RemoteDirectoryConnector;
    /**
     * Only the Lambdas that route alerts pass it (functions/app/maintenance.ts): it brings the
     * condition engine along (re2js + cel-js, ~230 KB). Without it the context has no maintenance
     * check, and infra/bundles.test.ts checks that such a Lambda carries no routing.
     */
    maintenanceCheck?: typeof createMaintenanceCheck;
  },
  env: Record<string, string | undefined> = process.env,
): Promise<AppContext> {
  const config = readAwsConfig(env, options);
  const notifications = readNotificationConfig(env, "aws");
  const secretsManager = lazily(async () => {
    const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
    return traced(new SecretsManagerClient({}));
  });
  const adminTokenSecretArn = config.adminTokenSecretArn;
  const readAdminToken =
    adminTokenSecretArn === undefined
      ? undefined
      : createSecretStringReader({
          secretId: adminTokenSecretArn,
          maxAgeSeconds: secretMaxAgeSeconds,
          client: secretsManager,
        });
  const database = await openAwsDatabase(env);
  const directoryTokenSecretArn = config.directory?.tokenSecretArn;
  const directoryToken =
    directoryTokenSecretArn === undefined
      ? undefined
      : createSecretStringReader({
          secretId: directoryTokenSecretArn,
          maxAgeSeconds: secretMaxAgeSeconds,
          client: lazily(async () => {
            const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
            return traced(new SecretsManagerClient({}));
          }),
        });
  const outbound = createProviderRegistry(notifications, {
    db: () => database.db,
    clock: systemClock,
    secrets: createSecretsManagerResolver({ client: secretsManager, maxAgeSeconds: secretMaxAgeSeconds }),
    ses: lazily(async () => {
      const { SESv2Client } = await import("@aws-sdk/client-sesv2");
      return traced(
        new SESv2Client({ requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 } }),
      );
    }),
    sns: lazily(async () => {
      const { SNSClient } = await import("@aws-sdk/client-sns");
      return traced(new SNSClient({ requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 } }));
    }),
  });
  return {
    // Routing asks it per new alert: windows cached per warm Lambda, keyed by their version stamp.
    maintenance: options.maintenanceCheck?.({ db: () => database.db, clock: systemClock }),
    runtime: "aws",
    version,
    database,
    clock: systemClock,
    adminToken: async () => readAdminToken?.(),
    corsAllowedOrigins: config.corsAllowedOrigins,
    ingestRateLimitPerMinute: config.ingestRateLimitPerMinute,
    ingestAlertLimitPerMinute: config.ingestAlertLimitPerMinute,
    autoResolveAfterDays: config.autoResolveAfterDays,
    escalations: createSfnEscalationRunner({
      client: lazily(async () => {
        const { SFNClient } = await import("@aws-sdk/client-sfn");
        return traced(new SFNClient({}));
      }),
      stateMachineArn: escalationStateMachineArn(env),
    }),
    delivery: {
      channels: channelLookupOver(() => database.db),
      providers: outbound.providers,
      queue: awsDeliveryQueue(env),
      // A warm sender's batch (10 messages, one destination each) fits in them: no send waits.
      sendSlots: createSendSlots(DEFAULT_SEND_SLOTS),
      settings: deliverySettingsFor({
        outboundTimeoutMs: notifications.httpTimeoutMs,
        slackBotTokenRef: notifications.slackBotTokenRef,
        consoleUrl: env.ONCALL_CONSOLE_URL?.trim() ?? "",
      }),
    },
    ...createUserDirectoryBinding({
      config: config.directory,
      database,
      clock: systemClock,
      token: directoryToken,
      connectRemote: options.connectRemoteDirectory,
    }),
    contactMessages: createProviderContactSender(outbound.providers, {
      slackBotTokenRef: notifications.slackBotTokenRef,
    }),
    outbound,
  };
}

/**
 * DELIVERY_QUEUE_URL: the SQS queue the sender Lambda reads. Read when a delivery is announced, not
 * at start (a Lambda that never announces one needs no queue); unset, announcing fails and is logged
 * (housekeeping announces overdue deliveries again).
 */
export function awsDeliveryQueue(env: Record<string, string | undefined>): DeliveryQueue {
  const queueUrl = env.DELIVERY_QUEUE_URL?.trim();
  if (!queueUrl) {
    return {
      announce: async () => {
        throw new ConfigError("DELIVERY_QUEUE_URL", "is required to announce deliveries but not set");
      },
    };
  }
  return createSqsDeliveryQueue({
    queueUrl,
    clock: systemClock,
    client: lazily(async () => {
      const { SQSClient } = await import("@aws-sdk/client-sqs");
      return traced(new SQSClient({}));
    }),
  });
}

/** ESCALATION_STATE_MACHINE_ARN: the escalation workflow the API and ingest Lambdas start and stop. */
function escalationStateMachineArn(env: Record<string, string | undefined>): string {
  const arn = env.ESCALATION_STATE_MACHINE_ARN?.trim();
  if (!arn) throw new ConfigError("ESCALATION_STATE_MACHINE_ARN", "is required but not set");
  if (!/^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/.test(arn)) {
    throw new ConfigError("ESCALATION_STATE_MACHINE_ARN", `is not a state machine ARN: ${arn}`);
  }
  return arn;
}
