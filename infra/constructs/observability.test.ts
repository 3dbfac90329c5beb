import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { InlineCode, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, Pass, StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { describe, expect, it } from "vitest";
import { ingestRoutes } from "../../functions/adapters/http/ingest-routes.ts";
import { createTestApp } from "../testing.ts";
import { webhookPathPrefixes } from "./api.ts";
import { accessLogMetrics, Observability, type ObservabilityProps } from "./observability.ts";

// The construct around stand-ins (a bare HTTP API, inline Lambdas, a one-state machine): milliseconds.
function synth(props: Partial<ObservabilityProps> = {}) {
  const stack = new Stack(createTestApp(), "Test");
  const fn = (id: string) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: new InlineCode("export const handler = async () => {};"),
    });
  const observability = new Observability(stack, "Observability", {
    httpApi: new HttpApi(stack, "HttpApi"),
    accessLogs: new LogGroup(stack, "AccessLogs"),
    webhookPathPrefixes: [...webhookPathPrefixes],
    ingestSources: ingestRoutes.map((r) => r.source),
    functions: { api: fn("Api"), ingest: fn("Ingest") },
    stateMachine: new StateMachine(stack, "Machine", {
      definitionBody: DefinitionBody.fromChainable(new Pass(stack, "Pass")),
    }),
    ...props,
  });
  return { stack, observability, template: Template.fromStack(stack) };
}

type Alarm = { Properties: Record<string, unknown> };
const alarmsOf = (template: Template) =>
  Object.values(template.findResources("AWS::CloudWatch::Alarm")) as Alarm[];
const metricNames = (alarm: Alarm): string[] =>
  JSON.stringify(alarm.Properties).match(/"MetricName":"\w+"/g) ?? [];

const { stack, observability, template } = synth({ alarmEmails: ["ops@example.com"] });

describe("Observability", () => {
  it("sends every alarm and its recovery to an encrypted, TLS-only topic", () => {
    const topic = stack.resolve(observability.alarmTopic.topicArn);
    for (const alarm of alarmsOf(template)) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topic], OKActions: [topic] });
    }
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    // CloudWatch must be able to use the key, or the alarm's publish fails silently.
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
  });

  it("alarms on the API's 5xx rate, above a minimum of requests", () => {
    const [alarm] = alarmsOf(template).filter((a) => metricNames(a).includes('"MetricName":"5xx"'));
    expect(alarm?.Properties).toMatchObject({
      Threshold: 5,
      ComparisonOperator: "GreaterThanThreshold",
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: "IF(requests >= 10, 100 * errors / requests, 0)" }),
      ]),
    });
  });

  it("counts 429s from the stage's access log, webhooks apart from the rest, and alarms on each", () => {
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: '{ $.status = "429" && ($.path = "/v1/webhooks/*" || $.path = "/v2/*") }',
      MetricTransformations: [
        { MetricNamespace: "Oncall", MetricName: accessLogMetrics.webhooksThrottled, MetricValue: "1" },
      ],
    });
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: '{ $.status = "429" && $.path != "/v1/webhooks/*" && $.path != "/v2/*" }',
      MetricTransformations: [
        { MetricNamespace: "Oncall", MetricName: accessLogMetrics.otherThrottled, MetricValue: "1" },
      ],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: accessLogMetrics.webhooksThrottled,
      Threshold: 1,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: accessLogMetrics.otherThrottled,
      Threshold: 50,
    });
    const lambdaThrottles = alarmsOf(template).filter((a) =>
      metricNames(a).includes('"MetricName":"Throttles"'),
    );
    expect(lambdaThrottles).toHaveLength(1);
    expect(metricNames(lambdaThrottles[0]!)).toHaveLength(2); // api and ingest, summed
  });

  it("alarms on ingest rejections we caused: Reason internal and unavailable, with the EMF dimensions", () => {
    for (const reason of ["internal", "unavailable"]) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "Oncall",
        MetricName: "RequestsRejected",
        Dimensions: Match.arrayWith([
          { Name: "Reason", Value: reason },
          { Name: "service", Value: "oncall" },
        ]),
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("has the no-alerts heartbeat only when asked, over every webhook source, missing data breaching", () => {
    expect(alarmsOf(template).some((a) => metricNames(a).includes('"MetricName":"AlertsReceived"'))).toBe(
      false,
    );

    const withHeartbeat = synth({ noAlertsAlarmMinutes: 30 });
    const [heartbeat] = alarmsOf(withHeartbeat.template).filter((a) =>
      metricNames(a).includes('"MetricName":"AlertsReceived"'),
    );

    expect(heartbeat?.Properties).toMatchObject({
      EvaluationPeriods: 30,
      DatapointsToAlarm: 30,
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
    const sources = JSON.stringify(heartbeat?.Properties).match(/"Name":"Source","Value":"\w+"/g);
    expect(sources).toHaveLength(ingestRoutes.length);
    expect(() => synth({ noAlertsAlarmMinutes: 2 })).toThrow(/from 5 to 1440/);
  });
});
