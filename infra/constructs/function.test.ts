import { Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, it } from "vitest";
import { createTestApp } from "../testing.ts";
import { OncallFunction, powertoolsServiceName } from "./function.ts";

// Bundling is off here (a placeholder asset): the defaults are what is under test. The stack test
// bundles the real handlers once.
const stack = new Stack(createTestApp(), "Test");
new OncallFunction(stack, "Fn", {
  handler: "api",
  description: "test function",
  timeout: Duration.seconds(3),
  environment: { EXTRA: "1" },
});
const template = Template.fromStack(stack);

describe("OncallFunction", () => {
  it("runs Node.js 24 on arm64 with active tracing and JSON logs", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 1024,
      Timeout: 3,
      TracingConfig: { Mode: "Active" },
      LoggingConfig: Match.objectLike({
        LogFormat: "JSON",
        ApplicationLogLevel: "INFO",
        SystemLogLevel: "WARN",
      }),
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: powertoolsServiceName,
          NODE_OPTIONS: "--enable-source-maps",
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
          POWERTOOLS_TRACER_CAPTURE_ERROR: "false",
          EXTRA: "1",
        },
      },
    });
  });

  it("logs to its own log group with a retention", () => {
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    template.hasResourceProperties("AWS::Lambda::Function", {
      LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.stringLikeRegexp("^FnLogs") } }),
    });
  });

  it("has a role with no managed policy, allowed to write to that log group", () => {
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: "lambda.amazonaws.com" } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^FnLogs"), "Arn"] },
          }),
        ]),
      },
    });
  });
});
