import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ingestLambdaPaths, ingestRoutes } from "../../functions/adapters/http/ingest-routes.ts";
import { type ServiceGroupName, serviceGroups } from "../../functions/api/service-groups.ts";
import type { Database } from "./database.ts";
import { OncallFunction } from "./function.ts";

/**
 * Limits of the `$default` route (RPCs, /healthz, anything unknown). The webhook routes have their own
 * (`defaultWebhookThrottle`), so junk or a busy script on the RPC side cannot starve alert senders.
 * Per integration key, the application enforces its own rate (429 with Retry-After).
 */
export const defaultThrottle: Required<ThrottleSettings> = { rateLimit: 50, burstLimit: 100 };

/** Path prefixes of the webhook routes (`/v1/webhooks/`, `/v2/`), for CloudFront behaviours and alarms. */
export const webhookPathPrefixes: readonly string[] = [
  ...new Set(ingestRoutes.map((r) => r.path.slice(0, r.path.lastIndexOf("/") + 1))),
];

/** Limits of each webhook route (`ANY /v1/webhooks/alertmanager`…), on top of the per-key rate. */
export const defaultWebhookThrottle: Required<ThrottleSettings> = { rateLimit: 100, burstLimit: 200 };

export interface ApiProps {
  readonly database: Database;
  /** Browser origins allowed to call the API (ONCALL_CORS_ORIGINS). @default any ("*") */
  readonly corsAllowedOrigins?: string[];
  /** The `$default` route's limits. @default defaultThrottle */
  readonly throttle?: ThrottleSettings;
  /** Each webhook route's limits. @default defaultWebhookThrottle */
  readonly webhookThrottle?: ThrottleSettings;
}

/** The service groups served by a Lambda of their own (`core` is the `$default` route's, apiFunction). */
export type RpcGroupName = Exclude<ServiceGroupName, "core">;

const rpcGroupDescriptions: Record<RpcGroupName, string> = {
  alerts: "oncall HTTP API: alerts, routing rules, maintenance windows (Connect RPCs)",
  contacts: "oncall HTTP API: user directory, channels (Connect RPCs)",
  notifications: "oncall HTTP API: notifications, deliveries, templates (Connect RPCs)",
};

/**
 * The public entry point, an HTTP API with one `$default` stage. The webhook paths of
 * functions/adapters/http/ingest-routes.ts go to the ingest Lambda (functions/handlers/ingest.ts).
 * Connect RPCs go to the Lambda of their service group (functions/api/service-groups.ts), one route
 * `ANY /<package>.<Service>/{proxy+}` per service: alerts, contacts and notifications each have their
 * own (functions/handlers/api-<group>.ts), so each bundles only its services and libraries. Every
 * other request (`$default` route: the core services, `/healthz`, CORS preflights, unknown paths)
 * goes to the core API Lambda (functions/handlers/api-core.ts). Every API Lambda answers CORS
 * preflights itself. Holds the admin bearer token, generated in Secrets Manager.
 */
export class Api extends Construct {
  /** The core API Lambda: the core services and the `$default` route. */
  readonly apiFunction: OncallFunction;
  /** The API Lambda of each other service group, by group. */
  readonly rpcFunctions: Record<RpcGroupName, OncallFunction>;
  readonly ingestFunction: OncallFunction;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The admin bearer token (plain string). Read it with `aws secretsmanager get-secret-value`. */
  readonly adminTokenSecret: Secret;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    this.adminTokenSecret = new Secret(this, "AdminToken", {
      description: "oncall admin bearer token (Authorization: Bearer <token>)",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.adminTokenSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The admin token is a bearer credential held by operators and scripts; an automatic rotation would lock them out. It is rotated by hand (put-secret-value), and Lambdas pick the new value up within 5 minutes.",
    });

    // functions/adapters/config.ts reads these; only the API Lambda needs the admin token. Each
    // Lambda logs in to the database as its own role (functions/adapters/db/roles.ts).
    const cors = { ONCALL_CORS_ORIGINS: (props.corsAllowedOrigins ?? ["*"]).join(",") };
    // API Gateway gives up after 30 s; the Lambdas end first so that their log says why.
    const timeout = Duration.seconds(29);

    // Every API Lambda authenticates RPCs (admin token or API key) and logs in as oncall_api.
    const apiLambda = (id: string, handler: string, description: string) => {
      const fn = new OncallFunction(this, id, {
        handler,
        description,
        timeout,
        environment: {
          ...props.database.environmentFor("oncall_api"),
          ...cors,
          ADMIN_TOKEN_SECRET_ARN: this.adminTokenSecret.secretArn,
        },
      });
      props.database.grantDataAccess(fn.function, "oncall_api");
      this.adminTokenSecret.grantRead(fn.function);
      return fn;
    };
    this.apiFunction = apiLambda("ApiHandler", "api-core", "oncall HTTP API: core Connect RPCs, health");
    this.rpcFunctions = {
      alerts: apiLambda("AlertsApiHandler", "api-alerts", rpcGroupDescriptions.alerts),
      contacts: apiLambda("ContactsApiHandler", "api-contacts", rpcGroupDescriptions.contacts),
      notifications: apiLambda(
        "NotificationsApiHandler",
        "api-notifications",
        rpcGroupDescriptions.notifications,
      ),
    };

    // The ingest Lambda gets the secret's ARN (the shared config requires it) but no right to read it.
    this.ingestFunction = new OncallFunction(this, "IngestHandler", {
      handler: "ingest",
      description: "oncall webhooks: Alertmanager, Grafana, generic, PagerDuty Events v2",
      timeout,
      environment: { ...props.database.environmentFor("oncall_ingest"), ...cors },
    });
    props.database.grantDataAccess(this.ingestFunction.function, "oncall_ingest");

    this.httpApi = new HttpApi(this, "HttpApi", {
      description: "oncall API",
      defaultIntegration: new HttpLambdaIntegration("Api", this.apiFunction.function),
      // The stage below replaces the default one so that it can log and throttle. No corsPreflight:
      // API Gateway would answer OPTIONS itself and bypass the handler's origin list.
      createDefaultStage: false,
    });
    // Every method: the ingest Lambda answers 405 to anything but POST on its paths.
    const ingest = new HttpLambdaIntegration("Ingest", this.ingestFunction.function);
    const webhookRoutes = ingestLambdaPaths.flatMap((path) =>
      this.httpApi.addRoutes({ path, methods: [HttpMethod.ANY], integration: ingest }),
    );

    // Each service of a group to that group's Lambda; the stage's default limits apply to each route.
    for (const group of Object.keys(this.rpcFunctions) as RpcGroupName[]) {
      const integration = new HttpLambdaIntegration(
        `${group[0]!.toUpperCase()}${group.slice(1)}Api`,
        this.rpcFunctions[group].function,
      );
      for (const service of serviceGroups[group]) {
        this.httpApi.addRoutes({ path: `/${service}/{proxy+}`, methods: [HttpMethod.ANY], integration });
      }
    }

    this.accessLogs = new LogGroup(this, "AccessLogs", {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      throttle: { ...defaultThrottle, ...props.throttle },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // $context.path has no query string: integration keys sent as ?key= stay out of the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            time: "$context.requestTime",
            ip: "$context.identity.sourceIp",
            userAgent: "$context.identity.userAgent",
            method: "$context.httpMethod",
            path: "$context.path",
            protocol: "$context.protocol",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latencyMs: "$context.responseLatency",
            integrationLatencyMs: "$context.integrationLatency",
            integrationStatus: "$context.integrationStatus",
            integrationError: "$context.integrationErrorMessage",
            error: "$context.error.message",
          }),
        ),
      },
    });

    // Route-level limits (the L2 stage has no property for them). A stage naming a route that does not
    // exist yet fails to deploy, hence the dependency.
    const webhookThrottle = { ...defaultWebhookThrottle, ...props.webhookThrottle };
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride(
      "RouteSettings",
      Object.fromEntries(
        ingestLambdaPaths.map((path) => [
          `ANY ${path}`,
          {
            ThrottlingRateLimit: webhookThrottle.rateLimit,
            ThrottlingBurstLimit: webhookThrottle.burstLimit,
          },
        ]),
      ),
    );
    for (const route of webhookRoutes) this.stage.node.addDependency(route);

    Validations.of(this.httpApi).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "Authorization is done in the handlers, where it depends on the path: integration keys (looked up in the database, with their own rate limit) for webhooks, the admin bearer token for RPCs, none for /healthz and CORS preflights. An API Gateway authorizer would add a Lambda call and a database lookup per request.",
    });
  }

  /** Every API Lambda (core first), for grants that all of them need. */
  get apiFunctions(): OncallFunction[] {
    return [this.apiFunction, ...Object.values(this.rpcFunctions)];
  }

  /** The API's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  get url(): string {
    return this.stage.url;
  }
}
