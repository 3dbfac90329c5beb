import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import type { IAlarmAction } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { ingestRoutes } from "../functions/adapters/http/ingest-routes.ts";
import { Api, webhookPathPrefixes } from "./constructs/api.ts";
import { ConsoleHosting, type WebAclSource } from "./constructs/console-hosting.ts";
import { Database, type DatabaseProps } from "./constructs/database.ts";
import { Delivery } from "./constructs/delivery.ts";
import { Escalation } from "./constructs/escalation.ts";
import { Migrations } from "./constructs/migrations.ts";
import { Observability } from "./constructs/observability.ts";

export interface OncallStackProps extends StackProps {
  readonly database: DatabaseProps;
  /** Resolve open alerts not seen for this many days (housekeeping). @default never */
  readonly autoResolveAfterDays?: number;
  /** Browser origins allowed to call the API. @default any */
  readonly corsAllowedOrigins?: string[];
  /** The `$default` route's limits (RPCs). @default defaultThrottle (api.ts) */
  readonly throttle?: ThrottleSettings;
  /** Each webhook route's limits. @default defaultWebhookThrottle (api.ts) */
  readonly webhookThrottle?: ThrottleSettings;
  /** The WAF web ACL in front of CloudFront. @default the edge stack's, for this stack's name */
  readonly webAcl?: WebAclSource;
  /** The console's build folder. @default console/dist (deployed only if it has an index.html) */
  readonly consoleDist?: string;
  /** Email addresses subscribed to the alarm topic. @default none */
  readonly alarmEmails?: string[];
  /** Alarm when no alert arrived for this many minutes. @default off */
  readonly noAlertsAlarmMinutes?: number;
  /** Further alarm actions, besides the alarm topic. @default none */
  readonly alarmActions?: IAlarmAction[];
  /** The SES identity (domain or address) emails are sent from. @default email is not sent */
  readonly sesIdentity?: string;
  /** The SES configuration set of outgoing email. @default none */
  readonly sesConfigurationSet?: string;
  /** A remote kneutral-api user directory (Connect URL). @default the embedded directory (our tables) */
  readonly directoryUrl?: string | undefined;
  /** The Secrets Manager secret holding the remote directory's bearer token. @default none */
  readonly directoryTokenSecretArn?: string | undefined;
}

/**
 * The whole service in one stack: database → migrations → API, the escalation workflow, CloudFront
 * (console and API on one origin), and the dashboard with its alarms. Environment-agnostic: no
 * lookups, so it synthesizes offline. Its WAF web ACL lives in the edge stack (infra/edge-stack.ts).
 */
export class OncallStack extends Stack {
  readonly database: Database;
  readonly migrations: Migrations;
  readonly api: Api;
  readonly escalation: Escalation;
  readonly delivery: Delivery;
  readonly observability: Observability;
  readonly console: ConsoleHosting;

  constructor(scope: Construct, id: string, props: OncallStackProps) {
    super(scope, id, props);

    this.database = new Database(this, "Database", props.database);
    this.migrations = new Migrations(this, "Migrations", { database: this.database });
    this.api = new Api(this, "Api", {
      database: this.database,
      corsAllowedOrigins: props.corsAllowedOrigins,
      throttle: props.throttle,
      webhookThrottle: props.webhookThrottle,
    });
    // The API (function code included) changes only after the schema it expects is in place.
    this.migrations.runBefore(this.api);
    this.escalation = new Escalation(this, "Escalation", {
      database: this.database,
      ...(props.autoResolveAfterDays !== undefined
        ? { autoResolveAfterDays: props.autoResolveAfterDays }
        : {}),
    });
    this.migrations.runBefore(this.escalation);
    // Ingest starts escalations for new alerts; both it and the alerts API (escalate, acknowledge,
    // resolve) start and stop them. The other API Lambdas never touch an escalation.
    for (const fn of [this.api.rpcFunctions.alerts.function, this.api.ingestFunction.function]) {
      this.escalation.grantStartStop(fn);
    }
    // Delivery (issue 12): whoever runs delivery effects announces due deliveries on its queue (of
    // the API Lambdas: alerts through the effects of alert changes, notifications on sends and retries).
    this.delivery = new Delivery(this, "Delivery", {
      database: this.database,
      ...(props.sesIdentity ? { sesIdentity: props.sesIdentity } : {}),
      ...(props.sesConfigurationSet ? { sesConfigurationSet: props.sesConfigurationSet } : {}),
    });
    this.migrations.runBefore(this.delivery);
    for (const fn of [
      this.api.rpcFunctions.alerts.function,
      this.api.rpcFunctions.notifications.function,
      this.api.ingestFunction.function,
      this.escalation.stepFunction.function,
      this.escalation.housekeepingFunction.function,
    ]) {
      this.delivery.grantAnnounce(fn);
    }
    // The contacts API sends channel test messages and verification codes through the providers itself.
    this.delivery.grantSend(this.api.rpcFunctions.contacts);
    // A remote user directory: every function that plans or sends deliveries asks it.
    if (props.directoryUrl) {
      for (const fn of [
        this.api.rpcFunctions.alerts.function,
        this.api.rpcFunctions.contacts.function,
        this.api.rpcFunctions.notifications.function,
        this.api.ingestFunction.function,
        this.escalation.stepFunction.function,
        this.escalation.housekeepingFunction.function,
        this.delivery.senderFunction.function,
      ]) {
        fn.addEnvironment("ONCALL_DIRECTORY_URL", props.directoryUrl);
        if (props.directoryTokenSecretArn) {
          fn.addEnvironment("ONCALL_DIRECTORY_TOKEN_SECRET_ARN", props.directoryTokenSecretArn);
          fn.addToRolePolicy(
            new PolicyStatement({
              actions: ["secretsmanager:GetSecretValue"],
              resources: [props.directoryTokenSecretArn],
            }),
          );
        }
      }
    }
    this.console = new ConsoleHosting(this, "Console", {
      httpApi: this.api.httpApi,
      webhookPathPrefixes,
      webAcl: props.webAcl ?? { edgeStackOf: this.stackName },
      consoleDist: props.consoleDist,
    });
    this.observability = new Observability(this, "Observability", {
      httpApi: this.api.httpApi,
      accessLogs: this.api.accessLogs,
      webhookPathPrefixes: [...webhookPathPrefixes],
      ingestSources: ingestRoutes.map((r) => r.source),
      noAlertsAlarmMinutes: props.noAlertsAlarmMinutes,
      alarmEmails: props.alarmEmails,
      functions: {
        api: this.api.apiFunction.function,
        alertsApi: this.api.rpcFunctions.alerts.function,
        contactsApi: this.api.rpcFunctions.contacts.function,
        notificationsApi: this.api.rpcFunctions.notifications.function,
        ingest: this.api.ingestFunction.function,
        migrate: this.migrations.migrateFunction.function,
        ...this.escalation.functions,
        deliverySender: this.delivery.senderFunction.function,
      },
      stateMachine: this.escalation.stateMachine,
      alarmActions: props.alarmActions,
    });

    for (const alarm of this.delivery.alarms)
      alarm.addAlarmAction(new SnsAction(this.observability.alarmTopic));

    new CfnOutput(this, "DeliveryDeadLetterQueueUrl", {
      description:
        "Delivery messages the sender failed on 5 times (redrive to the queue once the cause is fixed)",
      value: this.delivery.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, "ConsoleUrl", {
      description: "The console, and the API on the same origin (behind the WAF)",
      value: this.console.url,
    });
    new CfnOutput(this, "ApiUrl", {
      description: "Base URL of the HTTP API itself (no WAF; route throttles apply)",
      value: this.api.url,
    });
    new CfnOutput(this, "AlarmTopicArn", {
      description: "SNS topic of every alarm: subscribe the people or pager that must hear of outages",
      value: this.observability.alarmTopic.topicArn,
    });
    new CfnOutput(this, "AdminTokenSecretArn", {
      description: "Secrets Manager secret holding the admin bearer token",
      value: this.api.adminTokenSecret.secretArn,
    });
    new CfnOutput(this, "EscalationStateMachineArn", {
      description: "Escalation state machine",
      value: this.escalation.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, "DashboardName", {
      description: "CloudWatch dashboard",
      value: this.observability.dashboard.dashboardName,
    });
  }
}
