import { readFileSync } from "node:fs";
import path from "node:path";
import { Tags, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { ingestLambdaPaths } from "../functions/adapters/http/ingest-routes.ts";
import { readStackSettings } from "./context.ts";
import { OncallStack } from "./oncall-stack.ts";
import { createTestApp } from "./testing.ts";

// The app as infra/bin/app.ts composes it, bundled for real: built once for the whole file, because
// each esbuild run costs about a second. The synth runs the cdk-nag plugin and throws on a finding.
const app = createTestApp({ bundling: true });
const { stackName, props } = readStackSettings(app.node);
const stack = new OncallStack(app, stackName, props);
Tags.of(app).add("project", "oncall");
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

let assembly: CloudAssembly;
let template: Template;
beforeAll(() => {
  assembly = app.synth();
  template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
});

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const appFunctions = () => [
  stack.api.apiFunction.function,
  stack.api.ingestFunction.function,
  stack.migrations.migrateFunction.function,
  stack.escalation.stepFunction.function,
  stack.escalation.failureFunction.function,
  stack.escalation.housekeepingFunction.function,
];
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

describe("OncallStack", () => {
  it("has no unacknowledged cdk-nag (AwsSolutions) finding", () => {
    const report = new AwsSolutionsChecks().validateScope(app);

    expect(
      report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });

  it("runs the application Lambdas on Node.js 24, arm64, with active tracing", () => {
    const ours = appFunctions().map(logicalId);
    const functions = template.findResources("AWS::Lambda::Function") as Record<string, Resource>;

    for (const id of ours) {
      expect(functions[id]?.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogFormat: "JSON" },
      });
    }
  });

  it("bundles each handler as one minified ESM file with a source map and the require shim", () => {
    for (const fn of appFunctions()) {
      const code = functionsAssetDir(logicalId(fn));
      const bundle = readFileSync(path.join(code, "index.mjs"), "utf8");

      expect(bundle.startsWith('import { createRequire as __oncallCreateRequire } from "node:module";')).toBe(
        true,
      );
      expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(bundle).not.toMatch(/from\s*"@aws-lambda-powertools\//); // bundled, not external
      expect(readFileSync(path.join(code, "index.mjs.map"), "utf8")).toContain('"sources"');
    }
  });

  it("routes the webhook paths to the ingest Lambda and everything else ($default) to the API Lambda", () => {
    const integrationTo = (fn: Parameters<typeof logicalId>[0]) => {
      const found = template.findResources("AWS::ApiGatewayV2::Integration", {
        Properties: {
          IntegrationType: "AWS_PROXY",
          IntegrationUri: { "Fn::GetAtt": [logicalId(fn), "Arn"] },
        },
      });
      expect(Object.keys(found)).toHaveLength(1);
      return Object.keys(found)[0]!;
    };
    const apiIntegration = integrationTo(stack.api.apiFunction.function);
    const ingestIntegration = integrationTo(stack.api.ingestFunction.function);
    const routes = Object.values(
      template.findResources("AWS::ApiGatewayV2::Route") as Record<string, Resource>,
    ).map((r) => [
      r.Properties.RouteKey,
      (r.Properties.Target as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1][1],
    ]);

    expect(Object.fromEntries(routes)).toEqual({
      $default: { Ref: apiIntegration },
      ...Object.fromEntries(ingestLambdaPaths.map((path) => [`ANY ${path}`, { Ref: ingestIntegration }])),
    });
  });

  it("serves one $default stage with throttling and JSON access logs", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Stage", 1);
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: stack.resolve(stack.api.accessLogs.logGroupArn),
        Format: Match.stringLikeRegexp('"status":"\\$context.status"'),
      },
    });
    for (const fn of [stack.api.apiFunction.function, stack.api.ingestFunction.function]) {
      template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [logicalId(fn), "Arn"] },
        Principal: "apigateway.amazonaws.com",
      });
    }
  });

  it("gives every Lambda the DATABASE_* variables, and only the API Lambda the admin token's ARN", () => {
    const functions = template.findResources("AWS::Lambda::Function") as Record<string, Resource>;
    const env = (fn: Parameters<typeof logicalId>[0]) =>
      (functions[logicalId(fn)]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const databaseVariables = stack.resolve(stack.database.environment) as Record<string, unknown>;

    expect(Object.keys(databaseVariables).sort()).toEqual([
      "DATABASE_NAME",
      "DATABASE_RESOURCE_ARN",
      "DATABASE_SECRET_ARN",
    ]);
    expect(env(stack.api.apiFunction.function)).toMatchObject({
      ...databaseVariables,
      ADMIN_TOKEN_SECRET_ARN: stack.resolve(stack.api.adminTokenSecret.secretArn),
      ONCALL_CORS_ORIGINS: "*",
    });
    expect(env(stack.api.ingestFunction.function)).toMatchObject({
      ...databaseVariables,
      ONCALL_CORS_ORIGINS: "*",
    });
    expect(env(stack.api.ingestFunction.function)).not.toHaveProperty("ADMIN_TOKEN_SECRET_ARN");
    expect(env(stack.migrations.migrateFunction.function)).toMatchObject(databaseVariables);
  });

  it("lets only the API Lambda read the admin token", () => {
    const secret = stack.resolve(stack.api.adminTokenSecret.secretArn);
    const readers = Object.values(template.findResources("AWS::IAM::Policy") as Record<string, Resource>)
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(JSON.stringify(secret)))
      .flatMap((p) => p.Properties.Roles as unknown[]);

    expect(readers).toEqual([stack.resolve(stack.api.apiFunction.role.roleName)]);
  });

  it("runs the migrations on deploy after the database, before the API", () => {
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const triggers = template.findResources("Custom::Trigger") as Record<string, Resource>;
    expect(Object.keys(triggers)).toHaveLength(1);
    const [triggerId, trigger] = Object.entries(triggers)[0]!;

    expect(trigger.Properties).toMatchObject({
      HandlerArn: stack.resolve(stack.migrations.migrateFunction.function.currentVersion.functionArn),
      InvocationType: "RequestResponse",
    });
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([logicalId(stack.database.cluster)]));
    for (const dependent of [
      stack.api.apiFunction.function,
      stack.api.ingestFunction.function,
      stack.api.stage,
    ]) {
      expect(resources[logicalId(dependent)]?.DependsOn).toContain(triggerId);
    }
  });

  it("alarms on Lambda errors and failed escalations, all on one dashboard", () => {
    template.resourceCountIs("AWS::CloudWatch::Alarm", appFunctions().length + 1);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Namespace: "AWS/Lambda",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ExecutionsFailed",
      Namespace: "AWS/States",
    });
    const dashboards = template.findResources("AWS::CloudWatch::Dashboard") as Record<string, Resource>;
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);
    const emf = ["AlertsReceived", "AlertsCreated", "AlertsDeduplicated", "RequestsRejected"];
    for (const metric of [
      "4xx",
      "5xx",
      "Latency",
      "Errors",
      "Throttles",
      "Duration",
      "ExecutionsFailed",
      ...emf,
    ]) {
      expect(body).toContain(metric);
    }
  });

  it("outputs the API URL, the admin token secret, the state machine and the dashboard", () => {
    expect(Object.keys(template.findOutputs("*")).sort()).toEqual(
      ["AdminTokenSecretArn", "ApiUrl", "DashboardName", "EscalationStateMachineArn"].sort(),
    );
  });

  /** The folder of a function's bundle in the cloud assembly (its S3 key is `<asset hash>.zip`). */
  function functionsAssetDir(functionLogicalId: string): string {
    const code = (template.toJSON().Resources as Record<string, Resource>)[functionLogicalId]?.Properties
      .Code as {
      S3Key: string;
    };
    return path.join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
  }
});
