import { readFileSync } from "node:fs";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction as LambdaTarget } from "aws-cdk-lib/aws-events-targets";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { checkSubstitutions, escalationTaskPlaceholders } from "../../functions/adapters/state-machines.ts";
import { stateMachineFile } from "../paths.ts";
import type { DatabaseEnvironment, DatabaseLogin } from "./database.ts";
import { OncallFunction } from "./function.ts";

// The placeholder helpers live with the runtime (the embedded runner substitutes the same file).
export {
  applySubstitutions,
  checkSubstitutions,
  placeholdersIn,
} from "../../functions/adapters/state-machines.ts";

/** The ASL file this construct deploys, as written (its placeholders are filled in by CloudFormation). */
export const escalationDefinitionFile = stateMachineFile("escalation");

/** The environment variable that tells the API and ingest Lambdas which state machine to start. */
export const escalationStateMachineArnVariable = "ESCALATION_STATE_MACHINE_ARN";

/** What the task Lambdas need of the database: `DATABASE_*` variables and Data API rights, as a login. */
export interface EscalationDatabase {
  environmentFor(login: DatabaseLogin): DatabaseEnvironment;
  grantDataAccess(grantee: IGrantable, login: DatabaseLogin): void;
}

/** The database role of the escalation and housekeeping Lambdas. */
const tasksLogin = "oncall_tasks";

export interface EscalationProps {
  readonly database: EscalationDatabase;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** Resolve open alerts not seen for this many days. @default never */
  readonly autoResolveAfterDays?: number;
}

/**
 * The escalation workflow: a STANDARD state machine (executions wait for minutes to hours) whose
 * definition is `state-machines/escalation.asl.json`, the same file the embedded runtime runs, and
 * its two task Lambdas (RunStep: functions/handlers/escalation-step.ts; RecordFailure:
 * functions/handlers/escalation-failure.ts), substituted into the definition by ARN. Logs every
 * event (without payloads) to its own log group and traces with X-Ray.
 */
export class Escalation extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  /** RunStep's Lambda. */
  readonly stepFunction: OncallFunction;
  /** RecordFailure's Lambda. */
  readonly failureFunction: OncallFunction;
  /**
   * Every minute (functions/handlers/housekeeping.ts): starts escalations whose workflow start failed,
   * and auto-resolves alerts not seen for `autoResolveAfterDays` when set.
   */
  readonly housekeepingFunction: OncallFunction;
  /** Placeholder values, by name (see state-machines/README.md). */
  readonly definitionSubstitutions: Record<string, string>;

  constructor(scope: Construct, id: string, props: EscalationProps) {
    super(scope, id);

    // A step resolves a few schedules and writes one statement; 30 s covers an Aurora resume (~15 s).
    const taskDefaults = {
      timeout: Duration.seconds(30),
      environment: { ...props.database.environmentFor(tasksLogin) },
    };
    this.stepFunction = new OncallFunction(this, "StepHandler", {
      handler: "escalation-step",
      description: "oncall escalation RunStep: runs the due step of an alert's escalation",
      ...taskDefaults,
    });
    this.failureFunction = new OncallFunction(this, "FailureHandler", {
      handler: "escalation-failure",
      description: "oncall escalation RecordFailure: logs a failed step on the alert, answers when to retry",
      ...taskDefaults,
    });
    for (const fn of [this.stepFunction, this.failureFunction]) {
      props.database.grantDataAccess(fn.function, tasksLogin);
    }

    const asl = readFileSync(escalationDefinitionFile, "utf8");
    this.definitionSubstitutions = {
      [escalationTaskPlaceholders.runStep]: this.stepFunction.function.functionArn,
      [escalationTaskPlaceholders.recordFailure]: this.failureFunction.function.functionArn,
    };
    checkSubstitutions(asl, this.definitionSubstitutions);

    // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' account-wide resource policy small.
    this.logGroup = new LogGroup(this, "Logs", {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-escalation`,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, "StateMachine", {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(asl),
      definitionSubstitutions: this.definitionSubstitutions,
      // Payloads (alert labels) stay out of the logs; the execution history keeps them for 90 days.
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The definition is a file, so CDK cannot see the Task resources: grant them by exact ARN (the ASL
    // invokes the unqualified functions, so no `:*` versions).
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [this.stepFunction.function.functionArn, this.failureFunction.function.functionArn],
      }),
    );

    this.housekeepingFunction = new OncallFunction(this, "HousekeepingHandler", {
      handler: "housekeeping",
      description: "oncall housekeeping: starts escalations whose start failed; auto-resolves stale alerts",
      ...taskDefaults,
      environment: {
        ...taskDefaults.environment,
        ...(props.autoResolveAfterDays !== undefined
          ? { ONCALL_AUTO_RESOLVE_AFTER_DAYS: String(props.autoResolveAfterDays) }
          : {}),
      },
      timeout: Duration.seconds(55),
    });
    props.database.grantDataAccess(this.housekeepingFunction.function, tasksLogin);
    this.grantStartStop(this.housekeepingFunction.function);
    new Rule(this, "HousekeepingSchedule", {
      description: "oncall housekeeping: unstarted escalations, stale alerts",
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaTarget(this.housekeepingFunction.function, { retryAttempts: 0 })],
    });

    Validations.of(this.stateMachine.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray (xray:PutTraceSegments and friends) support no resource-level permissions (Resource must be *).",
    });
  }

  /** The task Lambdas, by a short display name (for the dashboard and the error alarms). */
  get functions(): Record<string, LambdaFunction> {
    return {
      escalationStep: this.stepFunction.function,
      escalationFailure: this.failureFunction.function,
      housekeeping: this.housekeepingFunction.function,
    };
  }

  /**
   * Lets `fn` start and stop escalation executions (functions/adapters/aws/sfn-escalation-runner.ts)
   * and tells it which state machine (ESCALATION_STATE_MACHINE_ARN).
   */
  grantStartStop(fn: LambdaFunction): void {
    this.stateMachine.grantStartExecution(fn);
    this.stateMachine.grantExecution(fn, "states:StopExecution");
    fn.addEnvironment(escalationStateMachineArnVariable, this.stateMachine.stateMachineArn);
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as never)}"}]}]}:*]`,
        reason:
          "StopExecution takes an execution ARN; executions are named per alert at run time, so the grant covers this state machine's executions (execution:<machine>:*) and nothing else.",
      });
    }
  }
}
