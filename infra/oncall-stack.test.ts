import { readFileSync } from "node:fs";
import path from "node:path";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { databaseRoleNames } from "../functions/adapters/db/roles.ts";
import { ingestLambdaPaths } from "../functions/adapters/http/ingest-routes.ts";
import { serviceGroups } from "../functions/api/service-groups.ts";
import { addOncallStacks } from "./compose.ts";
import type { RpcGroupName } from "./constructs/api.ts";
import { createTestApp } from "./testing.ts";

// The app as infra/bin/app.ts composes it, bundled for real: built once for the whole file, because
// each esbuild run costs about a second. The synth runs the cdk-nag plugin and throws on a finding.
// A remote user directory is configured, so its wiring is checked too.
const directoryTokenSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:kneutral/token-AbCdEf";
const app = createTestApp({
  bundling: true,
  context: {
    "oncall:directoryUrl": "https://kneutral.example.com",
    "oncall:directoryTokenSecretArn": directoryTokenSecretArn,
  },
});
const { main: stack, edge } = addOncallStacks(app);

// At module level, not in a hook: six esbuild runs and cdk-nag take a while on a busy machine, and
// collecting a file has no time limit.
const assembly: CloudAssembly = app.synth();
const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const apiFunctions = () => stack.api.apiFunctions.map((f) => f.function);
const appFunctions = () => [
  ...apiFunctions(),
  stack.api.ingestFunction.function,
  stack.migrations.migrateFunction.function,
  stack.escalation.stepFunction.function,
  stack.escalation.failureFunction.function,
  stack.escalation.housekeepingFunction.function,
  stack.delivery.senderFunction.function,
];
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

describe("OncallStack", () => {
  it("tells every function that plans or sends deliveries where the remote directory is, and lets it read the token", () => {
    const asking = [
      stack.api.rpcFunctions.alerts.function,
      stack.api.rpcFunctions.contacts.function,
      stack.api.rpcFunctions.notifications.function,
      stack.api.ingestFunction.function,
      stack.escalation.stepFunction.function,
      stack.escalation.housekeepingFunction.function,
      stack.delivery.senderFunction.function,
    ];
    const functions = template.findResources("AWS::Lambda::Function") as Record<string, Resource>;
    for (const fn of asking) {
      const variables = (
        functions[logicalId(fn)]!.Properties.Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(variables).toMatchObject({
        ONCALL_DIRECTORY_URL: "https://kneutral.example.com",
        ONCALL_DIRECTORY_TOKEN_SECRET_ARN: directoryTokenSecretArn,
      });
    }
    const policies = Object.values(template.findResources("AWS::IAM::Policy")) as {
      Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
    }[];
    const readers = policies.filter((p) =>
      p.Properties.PolicyDocument.Statement.some(
        // CDK merges statements of one action: the ARN may be one of several resources.
        (s) =>
          JSON.stringify(s.Action).includes("secretsmanager:GetSecretValue") &&
          [s.Resource].flat().includes(directoryTokenSecretArn),
      ),
    );
    expect(readers).toHaveLength(asking.length);
  });

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

  it("routes the webhook paths to the ingest Lambda, each service group's RPCs to its Lambda and everything else ($default) to the core API Lambda", () => {
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
    const groupRoutes = (Object.keys(stack.api.rpcFunctions) as RpcGroupName[]).flatMap((group) => {
      const integration = integrationTo(stack.api.rpcFunctions[group].function);
      return serviceGroups[group].map((service) => [`ANY /${service}/{proxy+}`, { Ref: integration }]);
    });
    const routes = Object.values(
      template.findResources("AWS::ApiGatewayV2::Route") as Record<string, Resource>,
    ).map((r) => [
      r.Properties.RouteKey,
      (r.Properties.Target as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1][1],
    ]);

    expect(Object.fromEntries(routes)).toEqual({
      $default: { Ref: apiIntegration },
      ...Object.fromEntries(groupRoutes),
      ...Object.fromEntries(ingestLambdaPaths.map((path) => [`ANY ${path}`, { Ref: ingestIntegration }])),
    });
  });

  it("serves one $default stage with JSON access logs, throttling webhooks apart from the rest", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Stage", 1);
    const webhookLimits = { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 };
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: Object.fromEntries(ingestLambdaPaths.map((path) => [`ANY ${path}`, webhookLimits])),
      AccessLogSettings: {
        DestinationArn: stack.resolve(stack.api.accessLogs.logGroupArn),
        Format: Match.stringLikeRegexp('"status":"\\$context.status"'),
      },
    });
    for (const fn of [...apiFunctions(), stack.api.ingestFunction.function]) {
      template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [logicalId(fn), "Arn"] },
        Principal: "apigateway.amazonaws.com",
      });
    }
  });

  it("gives every Lambda the DATABASE_* variables of its own login, and only the API Lambdas the admin token's ARN", () => {
    const functions = template.findResources("AWS::Lambda::Function") as Record<string, Resource>;
    const env = (fn: Parameters<typeof logicalId>[0]) =>
      (functions[logicalId(fn)]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const variables = (login: Parameters<typeof stack.database.environmentFor>[0]) =>
      stack.resolve(stack.database.environmentFor(login)) as Record<string, unknown>;

    expect(Object.keys(variables("master")).sort()).toEqual([
      "DATABASE_NAME",
      "DATABASE_RESOURCE_ARN",
      "DATABASE_SECRET_ARN",
    ]);
    for (const fn of apiFunctions()) {
      expect(env(fn)).toMatchObject({
        ...variables("oncall_api"),
        ADMIN_TOKEN_SECRET_ARN: stack.resolve(stack.api.adminTokenSecret.secretArn),
        ONCALL_CORS_ORIGINS: "*",
      });
    }
    expect(env(stack.api.ingestFunction.function)).toMatchObject({
      ...variables("oncall_ingest"),
      ONCALL_CORS_ORIGINS: "*",
    });
    expect(env(stack.api.ingestFunction.function)).not.toHaveProperty("ADMIN_TOKEN_SECRET_ARN");
    for (const fn of Object.values(stack.escalation.functions)) {
      expect(env(fn)).toMatchObject(variables("oncall_tasks"));
    }
    expect(env(stack.migrations.migrateFunction.function)).toMatchObject(variables("master"));
    // The migration Lambda provisions every role from its secret (functions/handlers/migrate.ts).
    const roleSecrets = JSON.stringify(env(stack.migrations.migrateFunction.function).DATABASE_ROLE_SECRETS);
    for (const role of databaseRoleNames) {
      expect(roleSecrets).toContain(role);
      expect(roleSecrets).toContain(
        JSON.stringify(stack.resolve(stack.database.roleSecrets[role].secretArn)),
      );
    }
  });

  it("lets each Lambda read only its own database secret, and only the migrations the master", () => {
    const readersOf = (secretArn: string) => {
      const arn = JSON.stringify(stack.resolve(secretArn));
      return Object.values(template.findResources("AWS::IAM::Policy") as Record<string, Resource>)
        .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(arn))
        .flatMap((p) => p.Properties.Roles as unknown[]);
    };
    const roleOf = (fn: { role?: { roleName: string } }) => stack.resolve(fn.role!.roleName);
    const migrate = roleOf(stack.migrations.migrateFunction.function);

    expect(readersOf(stack.database.secret.secretArn)).toEqual([migrate]);
    expect(readersOf(stack.database.roleSecrets.oncall_api.secretArn).sort()).toEqual(
      [migrate, ...apiFunctions().map(roleOf)].sort(),
    );
    expect(readersOf(stack.database.roleSecrets.oncall_ingest.secretArn).sort()).toEqual(
      [migrate, roleOf(stack.api.ingestFunction.function)].sort(),
    );
    expect(readersOf(stack.database.roleSecrets.oncall_tasks.secretArn).sort()).toEqual(
      [
        migrate,
        ...Object.values(stack.escalation.functions).map(roleOf),
        roleOf(stack.delivery.senderFunction.function),
      ].sort(),
    );
    expect(Object.keys(stack.database.roleSecrets).sort()).toEqual([...databaseRoleNames].sort());
  });

  it("lets only the API Lambdas read the admin token", () => {
    const secret = stack.resolve(stack.api.adminTokenSecret.secretArn);
    const readers = Object.values(template.findResources("AWS::IAM::Policy") as Record<string, Resource>)
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(JSON.stringify(secret)))
      .flatMap((p) => p.Properties.Roles as unknown[]);

    expect(readers.sort()).toEqual(stack.api.apiFunctions.map((f) => stack.resolve(f.role.roleName)).sort());
  });

  it("grants each API Lambda only what its service group uses", () => {
    const actionsOf = (fn: { role?: { roleName: string } }) => {
      const role = JSON.stringify(stack.resolve(fn.role!.roleName));
      return new Set(
        Object.values(template.findResources("AWS::IAM::Policy") as Record<string, Resource>)
          .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
          .flatMap(
            (p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement,
          )
          .flatMap((st) => [st.Action].flat()),
      );
    };
    const { alerts, contacts, notifications } = stack.api.rpcFunctions;
    const may = (fn: { role?: { roleName: string } }, action: string) => actionsOf(fn).has(action);

    // Escalations are started and stopped by the alerts API only (escalate, acknowledge, resolve).
    expect(apiFunctions().filter((fn) => may(fn, "states:StartExecution"))).toEqual([alerts.function]);
    // Deliveries are announced by what plans them: alert effects and notification sends and retries.
    expect(apiFunctions().filter((fn) => may(fn, "sqs:SendMessage"))).toEqual([
      alerts.function,
      notifications.function,
    ]);
    // Test messages and verification codes are sent by the contacts API only.
    expect(apiFunctions().filter((fn) => may(fn, "sns:Publish"))).toEqual([contacts.function]);
    // The core API reads its database secret and the admin token, calls the Data API, writes logs and traces.
    expect(
      [...actionsOf(stack.api.apiFunction.function)].filter((a) => !/^(logs|xray|rds-data):/.test(a)).sort(),
    ).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
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
    for (const dependent of [...apiFunctions(), stack.api.ingestFunction.function, stack.api.stage]) {
      expect(resources[logicalId(dependent)]?.DependsOn).toContain(triggerId);
    }
  });

  it("alarms on Lambda errors, failed escalations and failing ingestion, all on one dashboard", () => {
    // + failed escalations, API 5xx rate, webhook / RPC 429s, Lambda throttles, rejections (2).
    // Per function, failed and re-driven escalations, 6 ingestion alarms, and delivery's dead letters
    // and failure rate.
    template.resourceCountIs("AWS::CloudWatch::Alarm", appFunctions().length + 2 + 6 + 2);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Namespace: "AWS/Lambda",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ExecutionsFailed",
      Namespace: "AWS/States",
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "EscalationsRedriven",
      Namespace: "Oncall",
      Dimensions: [{ Name: "service", Value: "oncall" }],
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

  it("puts the console and the API behind one CloudFront distribution with the edge stack's web ACL", () => {
    template.resourceCountIs("AWS::CloudFront::Distribution", 1);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        WebACLId: stack.resolve(stack.console.webAclArn),
        CacheBehaviors: Match.arrayWith([Match.objectLike({ PathPattern: "/oncall.v1.*" })]),
      }),
    });
    expect(edge?.region).toBe("us-east-1");
    expect(stack.dependencies).toContain(edge);
    const edgeTemplate = Template.fromJSON(assembly.getStackByName(edge!.stackName).template);
    edgeTemplate.resourceCountIs("AWS::WAFv2::WebACL", 1);
  });

  it("outputs the URLs, the admin token secret, the alarm topic, the state machine and the dashboard", () => {
    expect(Object.keys(template.findOutputs("*")).sort()).toEqual(
      [
        "AdminTokenSecretArn",
        "AlarmTopicArn",
        "ApiUrl",
        "ConsoleUrl",
        "DashboardName",
        "DeliveryDeadLetterQueueUrl",
        "EscalationStateMachineArn",
      ].sort(),
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
