import path from "node:path";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { nodejsBundling } from "../bundling.ts";
import { handlerEntry, repoRoot } from "../paths.ts";

/** The service name the Powertools logger, tracer and metrics report under (functions/adapters/observability.ts). */
export const powertoolsServiceName = "oncall";

/** Powertools Tracer settings: no response or error content in X-Ray metadata (issue 9, row 5). */
export const tracerCaptureOff = {
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
  POWERTOOLS_TRACER_CAPTURE_ERROR: "false",
} as const;

export interface OncallFunctionProps {
  /** The handler file under `functions/handlers/`, without `.ts`: `"api"` bundles `functions/handlers/api.ts`. */
  readonly handler: string;
  readonly description: string;
  /** @default 1024 — more memory is also more CPU, which shortens cold starts. */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** Added to the defaults (POWERTOOLS_SERVICE_NAME, NODE_OPTIONS). */
  readonly environment?: Record<string, string>;
  /** @default one month */
  readonly logRetention?: RetentionDays;
}

/**
 * A Lambda built from one file of `functions/handlers/`, with the project's defaults held here once:
 * Node.js 24 on arm64, an ESM bundle made by the local esbuild (minified, with a source map), active
 * X-Ray tracing, JSON logs in its own log group, and a role that may write only to that log group.
 *
 * @example
 * const fn = new OncallFunction(this, "Api", { handler: "api", description: "HTTP API", timeout: Duration.seconds(29) });
 * fn.function.addEnvironment("KEY", "value");
 */
export class OncallFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: OncallFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of the AWSLambdaBasicExecutionRole managed policy: writes to this log group only.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description} (Lambda execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: handlerEntry(props.handler),
      handler: "handler",
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: {
        POWERTOOLS_SERVICE_NAME: powertoolsServiceName,
        // Stack traces in the logs point at functions/*.ts instead of the minified bundle.
        NODE_OPTIONS: "--enable-source-maps",
        // Responses and error texts carry one-time secrets and alert content: X-Ray records neither
        // (the handlers' middleware does the same in code, functions/handlers/middleware/observability.ts).
        ...tracerCaptureOff,
        ...props.environment,
      },
      projectRoot: repoRoot,
      depsLockFilePath: path.join(repoRoot, "package-lock.json"),
      // One set of esbuild options (infra/bundling.ts), also used by the bundle-size test and bench.
      bundling: {
        ...nodejsBundling(),
        // The default message templates (templates/, ~40 KB) travel beside index.mjs, where
        // functions/adapters/templates/default-templates.ts looks first: AWS renders the same files.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => [
            `cp -R "${path.join(inputDir, "templates")}" "${path.join(outputDir, "templates")}"`,
          ],
        },
      },
    });

    Validations.of(this.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions (Resource must be *).",
    });
  }
}
