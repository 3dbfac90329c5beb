import { type App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { InlineCode, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { createTestApp } from "../testing.ts";
import { Delivery, deliveryQueueUrlVariable } from "./delivery.ts";

// The delivery construct alone (Lambdas not bundled: a placeholder asset), with its cdk-nag findings.

function synth(props: { sesIdentity?: string; sesConfigurationSet?: string } = {}) {
  const app: App = createTestApp();
  const stack = new Stack(app, "Test", { env: { account: "123456789012", region: "eu-west-1" } });
  const delivery = new Delivery(stack, "Delivery", {
    database: {
      environmentFor: () => ({
        DATABASE_RESOURCE_ARN: "arn:aws:rds:eu-west-1:123456789012:cluster:oncall",
        DATABASE_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oncall",
        DATABASE_NAME: "oncall",
      }),
      grantDataAccess: () => {},
    },
    ...props,
  });
  const caller = new LambdaFunction(stack, "Caller", {
    runtime: Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: new InlineCode("export const handler = async () => {};"),
  });
  delivery.grantAnnounce(caller);
  return { app, stack, delivery, template: Template.fromStack(stack) };
}

describe("Delivery construct", () => {
  const { app, template, delivery, stack } = synth({
    sesIdentity: "example.com",
    sesConfigurationSet: "oncall",
  });

  it("has a queue with a dead-letter queue after 5 receives and a visibility timeout of 6 sender timeouts", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: 360,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties("AWS::SQS::Queue", { MessageRetentionPeriod: 14 * 86_400 });
  });

  it("feeds the sender Lambda in batches of 10 with partial batch failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("lets the sender send email as the configured SES identity only, and publish SMS through SNS", () => {
    const policies = Object.values(template.findResources("AWS::IAM::Policy")) as {
      Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
    }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const ses = statements.filter((s) => s.Action === "ses:SendEmail");
    expect(ses).toHaveLength(1);
    expect(JSON.stringify(ses[0]!.Resource)).toContain("identity/example.com");
    expect(JSON.stringify(ses[0]!.Resource)).toContain("configuration-set/oncall");
    const sns = statements.filter((s) => JSON.stringify(s.Action).includes("sns:Publish"));
    expect(sns.map((s) => s.Resource)).toEqual(["*"]);
  });

  it("lets the sender read the secrets channels name (under oncall/ only) and tells it the From address", () => {
    const statements = (
      Object.values(template.findResources("AWS::IAM::Policy")) as {
        Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
      }[]
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const secrets = statements.filter((s) => s.Action === "secretsmanager:GetSecretValue");
    expect(secrets.map((s) => JSON.stringify(s.Resource))).toEqual([
      expect.stringMatching(/:secret:oncall\/\*"$/),
    ]);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          ONCALL_EMAIL_FROM: "oncall@example.com",
          ONCALL_SES_CONFIGURATION_SET: "oncall",
        }),
      },
    });
  });

  it("gives the queue URL and send rights to those who announce deliveries", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [deliveryQueueUrlVariable]: Match.anyValue() }) },
    });
    const statements = (
      Object.values(template.findResources("AWS::IAM::Policy")) as {
        Properties: { PolicyDocument: { Statement: { Action: unknown }[] } };
      }[]
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.some((s) => JSON.stringify(s.Action).includes("sqs:SendMessage"))).toBe(true);
  });

  it("alarms on dead letters and on the failure rate", () => {
    expect(delivery.alarms).toHaveLength(2);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 0,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Threshold: 20,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp("DeliveriesFailed") }),
      ]),
    });
  });

  it("has no unacknowledged cdk-nag finding", () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const ours = report.violations.filter((v) =>
      v.violatingResources.some((r) => r.constructPath?.includes("/Delivery/")),
    );
    expect(ours.map((v) => `${v.ruleName}: ${v.violatingResources[0]?.constructPath}`)).toEqual([]);
    expect(stack.stackName).toBe("Test");
  });

  it("grants no SES permission without an identity", () => {
    const bare = synth().template;
    const statements = (
      Object.values(bare.findResources("AWS::IAM::Policy")) as {
        Properties: { PolicyDocument: { Statement: { Action: unknown }[] } };
      }[]
    ).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.some((s) => s.Action === "ses:SendEmail")).toBe(false);
  });
});
