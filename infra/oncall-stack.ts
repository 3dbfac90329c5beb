import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import type { IAlarmAction } from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { Api } from "./constructs/api.ts";
import { Database, type DatabaseProps } from "./constructs/database.ts";
import { Escalation } from "./constructs/escalation.ts";
import { Migrations } from "./constructs/migrations.ts";
import { Observability } from "./constructs/observability.ts";

export interface OncallStackProps extends StackProps {
  readonly database: DatabaseProps;
  /** Resolve open alerts not seen for this many days (housekeeping). @default never */
  readonly autoResolveAfterDays?: number;
  /** Browser origins allowed to call the API. @default any */
  readonly corsAllowedOrigins?: string[];
  /** API Gateway stage limits. @default defaultThrottle (api.ts) */
  readonly throttle?: ThrottleSettings;
  /** Where the alarms go. @default none */
  readonly alarmActions?: IAlarmAction[];
}

/**
 * The whole service in one stack: database → migrations → API, the escalation workflow, and the
 * dashboard with its alarms. Environment-agnostic: no lookups, so it synthesizes offline.
 */
export class OncallStack extends Stack {
  readonly database: Database;
  readonly migrations: Migrations;
  readonly api: Api;
  readonly escalation: Escalation;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: OncallStackProps) {
    super(scope, id, props);

    this.database = new Database(this, "Database", props.database);
    this.migrations = new Migrations(this, "Migrations", { database: this.database });
    this.api = new Api(this, "Api", {
      database: this.database,
      corsAllowedOrigins: props.corsAllowedOrigins,
      throttle: props.throttle,
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
    // Ingest starts escalations for new alerts; both stop them on acknowledge / resolve.
    for (const fn of [this.api.apiFunction.function, this.api.ingestFunction.function]) {
      this.escalation.grantStartStop(fn);
    }
    this.observability = new Observability(this, "Observability", {
      httpApi: this.api.httpApi,
      functions: {
        api: this.api.apiFunction.function,
        ingest: this.api.ingestFunction.function,
        migrate: this.migrations.migrateFunction.function,
        ...this.escalation.functions,
      },
      stateMachine: this.escalation.stateMachine,
      alarmActions: props.alarmActions,
    });

    new CfnOutput(this, "ApiUrl", { description: "Base URL of the HTTP API", value: this.api.url });
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
