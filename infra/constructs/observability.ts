import { Duration, Stack } from "aws-cdk-lib";
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
  type Metric,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { metricsNamespace } from "../../functions/adapters/observability.ts";

const period = Duration.minutes(5);

export interface ObservabilityProps {
  readonly httpApi: IHttpApi;
  /** The Lambdas to chart and alarm on, by a short display name ("api", "migrate"). */
  readonly functions: Record<string, IFunction>;
  readonly stateMachine: IStateMachine;
  /** Where alarms go (e.g. an SNS topic action). @default none: alarms show on the dashboard only */
  readonly alarmActions?: IAlarmAction[];
}

/**
 * The operations view: one CloudWatch dashboard (API traffic, errors and latency; Lambda errors,
 * throttles and duration; escalation executions) and the alarms an operator must act on: any Lambda
 * error, any failed escalation execution.
 */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const functions = Object.entries(props.functions);

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
    this.alarms = [...functionErrorAlarms, failedEscalations];
    for (const alarm of this.alarms) alarm.addAlarmAction(...(props.alarmActions ?? []));

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
