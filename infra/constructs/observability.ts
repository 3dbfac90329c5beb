import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, type ILogGroup, MetricFilter } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { metricsNamespace } from "../../functions/adapters/observability.ts";
import { powertoolsServiceName } from "./function.ts";

const period = Duration.minutes(5);

/** Metrics the stage's access log is turned into (namespace `Oncall`), by a metric filter each. */
export const accessLogMetrics = {
  /** 429 on a webhook path: the route's throttle or the integration key's own limit refused an alert. */
  webhooksThrottled: "WebhookRequestsThrottled",
  /** 429 on any other path (RPCs, /healthz): the `$default` route's throttle. */
  otherThrottled: "ApiRequestsThrottled",
} as const;

/** The reasons of `RequestsRejected` (functions/handlers/ingest.ts) that mean "we failed", not "you did". */
export const rejectionAlarmReasons = ["internal", "unavailable"] as const;

export interface ObservabilityProps {
  readonly httpApi: IHttpApi;
  /** The stage's JSON access log (infra/constructs/api.ts): its 429s become the throttle metrics. */
  readonly accessLogs: ILogGroup;
  /** Path prefixes of the webhook routes, e.g. `/v1/webhooks/` (their 429s alarm separately). */
  readonly webhookPathPrefixes: string[];
  /** The `Source` dimension values of the ingest metrics (`AlertsReceived`). */
  readonly ingestSources: string[];
  /** The Lambdas to chart and alarm on, by a short display name ("api", "migrate"). */
  readonly functions: Record<string, IFunction>;
  readonly stateMachine: IStateMachine;
  /**
   * Alarm when no alert at all was ingested for this many minutes (5–1440): for deployments whose
   * senders always send something (an Alertmanager Watchdog alert, a Grafana heartbeat). @default off
   */
  readonly noAlertsAlarmMinutes?: number;
  /** Email addresses subscribed to the alarm topic (each confirms by mail). @default none */
  readonly alarmEmails?: string[];
  /** Further alarm actions, besides the alarm topic. @default none */
  readonly alarmActions?: IAlarmAction[];
}

/**
 * The operations view: one CloudWatch dashboard (API traffic, errors and latency; Lambda errors,
 * throttles and duration; escalation executions) and the alarms an operator must act on (listed with
 * what to do in infra/README.md). Every alarm, and its return to OK, goes to `alarmTopic`: an SNS
 * topic outside oncall's own delivery, so that "oncall is down" still reaches someone.
 */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[];
  /** The out-of-band topic: subscribe email, SMS, or another paging service's HTTPS endpoint. */
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const functions = Object.entries(props.functions);

    // A customer managed key: CloudWatch cannot publish to a topic under the AWS managed SNS key.
    const topicKey = new Key(this, "AlarmTopicKey", {
      description: "oncall alarm topic encryption",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.grant(new ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
    this.alarmTopic = new Topic(this, "AlarmTopic", {
      displayName: `${Stack.of(this).stackName} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    for (const email of props.alarmEmails ?? []) {
      this.alarmTopic.addSubscription(new EmailSubscription(email));
    }

    const functionErrorAlarms = functions.map(
      ([name, fn]) =>
        new Alarm(this, `${pascal(name)}Errors`, {
          alarmDescription: `The ${name} Lambda reported errors (see its log group).`,
          metric: fn.metricErrors({ period, statistic: Stats.SUM }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
    );
    const failedEscalations = new Alarm(this, "EscalationFailures", {
      alarmDescription:
        "Escalation executions failed: pages may not have gone out. Inspect and redrive them.",
      metric: props.stateMachine.metricFailed({ period, statistic: Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // Housekeeping walked escalations again whose workflow was lost (state-machines/README.md).
    const redrivenEscalations = new Alarm(this, "EscalationsRedriven", {
      alarmDescription:
        "Escalations were overdue with no workflow walking them; housekeeping started them again. Find why their execution was lost.",
      metric: new Metric({
        namespace: metricsNamespace,
        metricName: "EscalationsRedriven",
        dimensionsMap: { service: powertoolsServiceName },
        period,
        statistic: Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const { alarms: ingestAlarms, throttled } = this.ingestAlarms(props);
    this.alarms = [...ingestAlarms, ...functionErrorAlarms, failedEscalations, redrivenEscalations];
    const actions = [new SnsAction(this.alarmTopic), ...(props.alarmActions ?? [])];
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(...actions);
      alarm.addOkAction(...actions);
    }

    const perFunction = (metric: (fn: IFunction) => Metric): IMetric[] =>
      functions.map(([name, fn]) => withLabel(metric(fn), name));
    const api = props.httpApi;

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
      widgets: [
        [new AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24, height: 3 })],
        [
          graph("API requests", [withLabel(api.metricCount({ period, statistic: Stats.SUM }), "requests")]),
          graph("API errors", [
            withLabel(api.metricClientError({ period, statistic: Stats.SUM }), "4xx"),
            withLabel(api.metricServerError({ period, statistic: Stats.SUM }), "5xx"),
          ]),
          graph(
            "API latency (ms)",
            [Stats.p(50), Stats.p(90), Stats.p(99)].map((statistic) =>
              withLabel(api.metricLatency({ period, statistic }), statistic),
            ),
          ),
        ],
        [
          graph(
            "Lambda errors",
            perFunction((fn) => fn.metricErrors({ period, statistic: Stats.SUM })),
          ),
          graph(
            "Lambda throttles",
            perFunction((fn) => fn.metricThrottles({ period, statistic: Stats.SUM })),
          ),
          graph(
            "Lambda duration p99 (ms)",
            perFunction((fn) => fn.metricDuration({ period, statistic: Stats.p(99) })),
          ),
        ],
        [
          graph(
            "Alerts (all sources)",
            ["AlertsReceived", "AlertsCreated", "AlertsDeduplicated", "AlertsResolved"].map((name) =>
              emfSum(
                `SUM(SEARCH('{${metricsNamespace},Source,service} MetricName="${name}"', 'Sum', ${period.toSeconds()}))`,
                name,
              ),
            ),
            12,
          ),
          graph("API 429s (access log)", throttled, 12),
        ],
        [
          graph(
            "Webhook requests rejected, by reason",
            [
              emfSum(
                `SEARCH('{${metricsNamespace},Reason,service} MetricName="RequestsRejected"', 'Sum', ${period.toSeconds()})`,
                "",
              ),
            ],
            12,
          ),
        ],
        [
          graph(
            "Escalation executions",
            [
              withLabel(props.stateMachine.metricStarted({ period, statistic: Stats.SUM }), "started"),
              withLabel(props.stateMachine.metricSucceeded({ period, statistic: Stats.SUM }), "succeeded"),
            ],
            12,
          ),
          graph(
            "Escalation failures",
            [
              withLabel(props.stateMachine.metricFailed({ period, statistic: Stats.SUM }), "failed"),
              withLabel(props.stateMachine.metricTimedOut({ period, statistic: Stats.SUM }), "timed out"),
              withLabel(props.stateMachine.metricAborted({ period, statistic: Stats.SUM }), "aborted"),
            ],
            12,
          ),
        ],
      ],
    });
  }

  /** "We stopped accepting alerts": API 5xx, throttles, ingest rejections we caused, and the heartbeat. */
  private ingestAlarms(props: ObservabilityProps): { alarms: Alarm[]; throttled: IMetric[] } {
    const api = props.httpApi;
    const namespace = metricsNamespace;

    const serverErrorRate = new Alarm(this, "Api5xxRate", {
      alarmDescription:
        "More than 5% of API requests (webhooks and RPCs) answered 5xx over 5 minutes (at least 10 requests). See infra/README.md#alarms.",
      metric: new MathExpression({
        expression: "IF(requests >= 10, 100 * errors / requests, 0)",
        usingMetrics: {
          requests: api.metricCount({ period, statistic: Stats.SUM }),
          errors: api.metricServerError({ period, statistic: Stats.SUM }),
        },
        label: "5xx %",
        period,
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // HTTP APIs publish no 429 metric: count the stage's own access log lines instead.
    const webhookPath = props.webhookPathPrefixes.map((p) => `$.path = "${p}*"`).join(" || ");
    const throttled = (id: string, metricName: string, pattern: string) =>
      new MetricFilter(this, id, {
        logGroup: props.accessLogs,
        metricNamespace: namespace,
        metricName,
        filterPattern: FilterPattern.literal(pattern),
        metricValue: "1",
      }).metric({ period, statistic: Stats.SUM });
    const webhooksThrottled = new Alarm(this, "WebhooksThrottled", {
      alarmDescription:
        "Webhook requests answered 429: a sender exceeded its integration key's limit or the webhook route's throttle, and alerts are being refused (senders retry). See infra/README.md#alarms.",
      metric: throttled(
        "WebhooksThrottledFilter",
        accessLogMetrics.webhooksThrottled,
        `{ $.status = "429" && (${webhookPath}) }`,
      ),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const otherPath = props.webhookPathPrefixes.map((p) => `$.path != "${p}*"`).join(" && ");
    const apiThrottled = new Alarm(this, "ApiThrottled", {
      alarmDescription:
        "50 or more RPC requests answered 429 in 5 minutes: the RPC route's throttle is reached (a busy script, or junk traffic). Webhooks have their own limit. See infra/README.md#alarms.",
      metric: throttled(
        "ApiThrottledFilter",
        accessLogMetrics.otherThrottled,
        `{ $.status = "429" && ${otherPath} }`,
      ),
      threshold: 50,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const lambdaThrottles = new Alarm(this, "LambdaThrottles", {
      alarmDescription:
        "A Lambda was throttled (the account's or the function's concurrency is exhausted): requests fail with 503 and escalation steps are retried. See infra/README.md#alarms.",
      metric: new MathExpression({
        expression: "SUM(METRICS())",
        usingMetrics: Object.fromEntries(
          Object.entries(props.functions).map(([name, fn], i) => [
            `t${i}`,
            withLabel(fn.metricThrottles({ period, statistic: Stats.SUM }), name),
          ]),
        ),
        label: "throttles",
        period,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const rejected = rejectionAlarmReasons.map(
      (reason) =>
        new Alarm(this, `RequestsRejected${pascal(reason)}`, {
          alarmDescription:
            reason === "internal"
              ? "Webhook requests failed with 500 internal: a bug or a misconfiguration refused alerts (see the ingest Lambda's log). See infra/README.md#alarms."
              : "Webhook requests answered 503 unavailable: the database could not be reached and alerts are being refused (senders retry). See infra/README.md#alarms.",
          metric: new Metric({
            namespace,
            metricName: "RequestsRejected",
            dimensionsMap: { service: powertoolsServiceName, Reason: reason },
            period,
            statistic: Stats.SUM,
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
    );

    const alarms = [serverErrorRate, webhooksThrottled, apiThrottled, lambdaThrottles, ...rejected];
    if (props.noAlertsAlarmMinutes !== undefined) {
      const minutes = props.noAlertsAlarmMinutes;
      if (!Number.isInteger(minutes) || minutes < 5 || minutes > 1440) {
        throw new Error(`noAlertsAlarmMinutes: expected a whole number from 5 to 1440, got ${minutes}`);
      }
      const minute = Duration.minutes(1);
      alarms.push(
        new Alarm(this, "NoAlertsIngested", {
          alarmDescription: `No alert was received on any webhook for ${minutes} minutes: senders may be failing to reach oncall. See infra/README.md#alarms.`,
          // One-minute points, every one of the last N empty: fires N minutes after the last alert.
          metric: new MathExpression({
            expression: "SUM(METRICS())",
            usingMetrics: Object.fromEntries(
              props.ingestSources.map((source, i) => [
                `s${i}`,
                new Metric({
                  namespace,
                  metricName: "AlertsReceived",
                  dimensionsMap: { service: powertoolsServiceName, Source: source },
                  period: minute,
                  statistic: Stats.SUM,
                }),
              ]),
            ),
            label: "alerts received",
            period: minute,
          }),
          threshold: 1,
          evaluationPeriods: minutes,
          datapointsToAlarm: minutes,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );
    }
    return {
      alarms,
      throttled: [
        withLabel(webhooksThrottled.metric as Metric, "webhooks"),
        withLabel(apiThrottled.metric as Metric, "RPCs and other"),
      ],
    };
  }
}

function graph(title: string, left: IMetric[], width = 8): GraphWidget {
  return new GraphWidget({ title, left, width, height: 6 });
}

/** A dashboard line over the Lambdas' EMF metrics (functions/adapters/observability.ts), summed across dimensions. */
function emfSum(expression: string, label: string): MathExpression {
  return new MathExpression({ expression, label, period, usingMetrics: {} });
}

function withLabel(metric: Metric, label: string): Metric {
  return metric.with({ label });
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
