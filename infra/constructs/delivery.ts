import { Arn, ArnFormat, Duration, Stack, Token, Validations } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { metricsNamespace } from "../../functions/adapters/observability.ts";
import type { EscalationDatabase } from "./escalation.ts";
import { OncallFunction } from "./function.ts";

/** The variable that tells a Lambda which queue announces due deliveries (functions/app/aws-context.ts). */
export const deliveryQueueUrlVariable = "DELIVERY_QUEUE_URL";

/** Secrets Manager names the outbound secret resolver may read (adapters/aws/secrets-manager-resolver.ts). */
const outboundSecretPrefix = "oncall/";

/** The database role of the sender (it reads alerts and templates, writes deliveries and alert events). */
const tasksLogin = "oncall_tasks";

export interface DeliveryProps {
  readonly database: EscalationDatabase;
  /**
   * The SES identity emails are sent from (a verified domain or address, e.g. "example.com"): the
   * sender may send as this identity only. @default no SES permission (email is not sent)
   */
  readonly sesIdentity?: string;
  /** The SES configuration set the sender names. @default none */
  readonly sesConfigurationSet?: string;
  /** Console URL for "Open" links in messages. @default none */
  readonly consoleUrl?: string;
}

/** How long one sender invocation may take: a batch of 10, each send bounded by its 10 s timeout. */
const senderTimeout = Duration.seconds(60);
/** Receives of one message before it is dead-lettered (each a failed invocation: the database down). */
const maxReceiveCount = 5;

/**
 * Delivery on AWS (issue 12): the deliveries table is the truth, an SQS queue announces each due
 * delivery (DelaySeconds up to 15 minutes as the rule delay or backoff), and the sender Lambda
 * (functions/handlers/delivery-sender.ts) claims, renders, sends and records them. Records that fail
 * (the database unavailable) come back after the visibility timeout and go to the dead-letter queue
 * after 5 receives; housekeeping announces overdue deliveries again. Alarms: messages in the DLQ, and
 * a delivery failure rate above 20% (EMF metrics DeliveriesFailed / DeliveriesSent).
 */
export class Delivery extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly senderFunction: OncallFunction;
  readonly alarms: Alarm[];

  private readonly props: DeliveryProps;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    this.props = props;

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, "Queue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda event sources: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(senderTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.senderFunction = new OncallFunction(this, "SenderHandler", {
      handler: "delivery-sender",
      description: "oncall delivery sender: sends due deliveries announced on the queue",
      timeout: senderTimeout,
      environment: {
        ...props.database.environmentFor(tasksLogin),
        ...(props.consoleUrl ? { ONCALL_CONSOLE_URL: props.consoleUrl } : {}),
      },
    });
    const sender = this.senderFunction.function;
    props.database.grantDataAccess(sender, tasksLogin);
    sender.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(0),
        reportBatchItemFailures: true,
      }),
    );
    // Retries and throttled messages are announced again by the sender itself.
    this.grantAnnounce(sender);

    this.grantSend(this.senderFunction);

    const period = Duration.minutes(5);
    const dlqDepth = new Alarm(this, "DeadLetters", {
      alarmDescription:
        "A delivery message reached the dead-letter queue: the sender failed on it 5 times (database unavailable?). The deliveries table still holds the delivery; housekeeping announces it again. See infra/README.md#alarms.",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: Stats.MAXIMUM,
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const sum = (name: string) =>
      `SUM(SEARCH('{${metricsNamespace},service} MetricName="${name}"', 'Sum', ${period.toSeconds()}))`;
    const failureRate = new Alarm(this, "DeliveryFailureRate", {
      alarmDescription:
        "More than 20% of deliveries failed for good over 5 minutes (at least 5): a provider refuses our messages or a destination is wrong. ListDeliveries with status FAILED shows the answers.",
      metric: new MathExpression({
        expression: `IF((${sum("DeliveriesSent")} + ${sum("DeliveriesFailed")}) >= 5, 100 * ${sum("DeliveriesFailed")} / (${sum("DeliveriesSent")} + ${sum("DeliveriesFailed")}), 0)`,
        usingMetrics: {},
        label: "failed deliveries %",
        period,
      }),
      threshold: 20,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarms = [dlqDepth, failureRate];
  }

  /**
   * Lets `fn` send messages itself through the providers: the sender, and the API (TestChannel,
   * TestContactMethod, verification codes). Email from ONCALL_EMAIL_FROM as the SES identity only,
   * SMS by SNS Publish, and the secrets channels name (Slack bot tokens, webhook signing secrets:
   * Secrets Manager secrets under `oncall/`, the only ones the resolver reads).
   */
  grantSend(target: OncallFunction): void {
    const fn = target.function;
    const { sesIdentity, sesConfigurationSet } = this.props;
    const stack = Stack.of(this);
    if (sesConfigurationSet) fn.addEnvironment("ONCALL_SES_CONFIGURATION_SET", sesConfigurationSet);
    if (sesIdentity) {
      // The provider registry sends email from ONCALL_EMAIL_FROM (an address of the SES identity).
      fn.addEnvironment(
        "ONCALL_EMAIL_FROM",
        sesIdentity.includes("@") ? sesIdentity : `oncall@${sesIdentity}`,
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["ses:SendEmail"],
          resources: [
            Arn.format({ service: "ses", resource: "identity", resourceName: sesIdentity }, stack),
            ...(sesConfigurationSet
              ? [
                  Arn.format(
                    { service: "ses", resource: "configuration-set", resourceName: sesConfigurationSet },
                    stack,
                  ),
                ]
              : []),
          ],
        }),
      );
    }
    fn.addToRolePolicy(new PolicyStatement({ actions: ["sns:Publish"], resources: ["*"] }));
    Validations.of(target.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "SMS is sent with SNS Publish to a phone number (PhoneNumber), which has no ARN: the action cannot be scoped to a resource. X-Ray tracing (xray:PutTraceSegments) also needs *.",
    });
    const secrets = Arn.format(
      {
        service: "secretsmanager",
        resource: "secret",
        resourceName: `${outboundSecretPrefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secrets] }),
    );
    Validations.of(target.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPart(stack.partition, "AWS::Partition")}:secretsmanager:${nagPart(stack.region, "AWS::Region")}:${nagPart(stack.account, "AWS::AccountId")}:secret:${outboundSecretPrefix}*]`,
      reason:
        "Channels name their secrets (Slack bot tokens, webhook signing secrets) by reference at run time; the resolver reads only secrets under oncall/, and the role may read nothing else.",
    });
  }

  /** Lets `fn` announce deliveries on the queue (whoever runs delivery effects: API, ingest, steps, housekeeping). */
  grantAnnounce(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(deliveryQueueUrlVariable, this.queue.queueUrl);
  }
}

/** How cdk-nag writes a part of an ARN in a finding: the value, or `<AWS::Region>` for a pseudo parameter. */
function nagPart(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}
