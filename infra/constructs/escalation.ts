import { readFileSync } from "node:fs";
import { RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { version } from "../../functions/adapters/version.ts";
import { stateMachineFile } from "../paths.ts";

/** The ASL file this construct deploys, as written (its placeholders are filled in by CloudFormation). */
export const escalationDefinitionFile = stateMachineFile("escalation");

/** Matches `${Anything}` in an ASL text; placeholder names must be PascalCase. */
const placeholderPattern = /\$\{([^}]*)\}/g;
const pascalName = /^[A-Z][A-Za-z0-9]*$/;

/** The distinct `${Name}` placeholders of an ASL text, sorted. */
export function placeholdersIn(asl: string): string[] {
  return [...new Set(Array.from(asl.matchAll(placeholderPattern), (m) => m[1] ?? ""))].sort();
}

/**
 * Throws unless every placeholder of `asl` is a PascalCase name with a value in `substitutions`, and
 * every substitution is used: a typo on either side fails the synth instead of the first execution.
 */
export function checkSubstitutions(asl: string, substitutions: Record<string, string>): void {
  const used = placeholdersIn(asl);
  const problems = [
    ...used.filter((name) => !pascalName.test(name)).map((name) => `\${${name}} is not a PascalCase name`),
    ...used.filter((name) => !(name in substitutions)).map((name) => `\${${name}} has no substitution`),
    ...Object.keys(substitutions)
      .filter((name) => !used.includes(name))
      .map((name) => `substitution ${name} is not used`),
  ];
  if (problems.length > 0) throw new Error(`state machine placeholders: ${problems.join("; ")}`);
}

/** The ASL text with its placeholders replaced, as Step Functions will see it. */
export function applySubstitutions(asl: string, substitutions: Record<string, string>): string {
  checkSubstitutions(asl, substitutions);
  return asl.replace(placeholderPattern, (_, name: string) => substitutions[name] ?? "");
}

export interface EscalationProps {
  /** @default one month */
  readonly logRetention?: RetentionDays;
}

/**
 * The escalation workflow: a STANDARD state machine (executions wait for minutes to hours) whose
 * definition is `state-machines/escalation.asl.json`, the same file the embedded runtime runs.
 * Logs every event (without payloads) to its own log group and traces with X-Ray.
 */
export class Escalation extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  /** Placeholder values, by name (see state-machines/README.md). */
  readonly definitionSubstitutions: Record<string, string>;

  constructor(scope: Construct, id: string, props: EscalationProps = {}) {
    super(scope, id);

    const asl = readFileSync(escalationDefinitionFile, "utf8");
    this.definitionSubstitutions = { OncallVersion: version };
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

    Validations.of(this.stateMachine.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray (xray:PutTraceSegments and friends) support no resource-level permissions (Resource must be *).",
    });
  }
}
