import { readFileSync } from "node:fs";
import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { InlineCode, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { StateMachine as LocalStateMachine } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { createTestApp } from "../testing.ts";
import {
  applySubstitutions,
  checkSubstitutions,
  Escalation,
  escalationDefinitionFile,
  placeholdersIn,
} from "./escalation.ts";

const asl = readFileSync(escalationDefinitionFile, "utf8");

// One synth for the file; the task Lambdas are not bundled (a placeholder asset), so this takes milliseconds.
const app = createTestApp();
const stack = new Stack(app, "Test");
const databaseEnvironment = {
  DATABASE_RESOURCE_ARN: "arn:aws:rds:eu-west-1:123456789012:cluster:oncall",
  DATABASE_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oncall",
  DATABASE_NAME: "oncall",
};
const dataAccessGrantees: unknown[] = [];
const logins: string[] = [];
const escalation = new Escalation(stack, "Escalation", {
  database: {
    environmentFor: (login) => {
      logins.push(login);
      return databaseEnvironment;
    },
    grantDataAccess: (grantee, login) => void dataAccessGrantees.push([grantee, login]),
  },
  autoResolveAfterDays: 14,
});
const caller = new LambdaFunction(stack, "Caller", {
  runtime: Runtime.NODEJS_24_X,
  handler: "index.handler",
  code: new InlineCode("export const handler = async () => {};"),
});
escalation.grantStartStop(caller);
const template = Template.fromStack(stack);
const [stateMachine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine")) as {
  Properties: { DefinitionString: unknown; DefinitionSubstitutions?: Record<string, unknown> };
}[];

/** Substitution values as text; a CloudFormation intrinsic (an ARN to come) becomes its JSON, quotes swapped. */
function comparable(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      typeof value === "string" ? value : JSON.stringify(value).replaceAll('"', "'"),
    ]),
  );
}

/** `${Name}`, spelled so that it is not read as a template literal placeholder. */
function ph(name: string): string {
  return `$\{${name}}`;
}

describe("placeholders", () => {
  it.each([
    ["none", "{}", []],
    ["one, used twice", `{"a":"${ph("TaskArn")}","b":"${ph("TaskArn")}"}`, ["TaskArn"]],
    ["sorted", `{"a":"${ph("Zed")}","b":"${ph("Alpha")}"}`, ["Alpha", "Zed"]],
  ])("placeholdersIn finds %s", (_, text, expected) => {
    expect(placeholdersIn(text)).toEqual(expected);
  });

  it.each([
    [`{"a":"${ph("Missing")}"}`, {}, /\$\{Missing\} has no substitution/],
    ["{}", { Unused: "x" }, /substitution Unused is not used/],
    [`{"a":"${ph("lowerCase")}"}`, { lowerCase: "x" }, /not a PascalCase name/],
  ])("checkSubstitutions rejects %s with %j", (text, values, message) => {
    expect(() => checkSubstitutions(text, values)).toThrow(message);
  });

  it("every placeholder of the ASL file has a substitution, and every substitution is used", () => {
    expect(placeholdersIn(asl)).toEqual(Object.keys(escalation.definitionSubstitutions).sort());
    expect(Object.keys(stateMachine?.Properties.DefinitionSubstitutions ?? {}).sort()).toEqual(
      placeholdersIn(asl),
    );
  });
});

describe("Escalation", () => {
  it("deploys the ASL file: the synthesized definition, substituted, equals the file, substituted", () => {
    const props = stateMachine!.Properties;
    expect(typeof props.DefinitionString).toBe("string"); // the file as is, no tokens spliced in
    const synthesized = applySubstitutions(
      props.DefinitionString as string,
      comparable(props.DefinitionSubstitutions ?? {}),
    );

    const expected = applySubstitutions(asl, comparable(stack.resolve(escalation.definitionSubstitutions)));
    expect(JSON.parse(synthesized)).toEqual(JSON.parse(expected));
  });

  it("is a JSONPath definition with a Comment (the local runner ignores JSONata)", () => {
    const definition = JSON.parse(asl) as { Comment?: string; QueryLanguage?: string };

    expect(definition.Comment).toMatch(/\w/);
    expect(definition.QueryLanguage ?? "JSONPath").toBe("JSONPath");
  });

  it("is valid ASL that the embedded runtime's runner executes, with its task resources as Lambda ARNs", async () => {
    const lambdaArn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;
    const local = new LocalStateMachine(
      JSON.parse(
        applySubstitutions(asl, {
          RunEscalationStepFunctionArn: lambdaArn("step"),
          RecordEscalationFailureFunctionArn: lambdaArn("failure"),
        }),
      ),
    );
    const inputs: unknown[] = [];

    const result = await local.run(
      { executionName: "cohort-1-0a1b2c3d" },
      {
        overrides: {
          taskResourceLocalHandlers: {
            RunStep: async (input) => {
              inputs.push(input);
              return { done: true, nextStepAt: null };
            },
          },
        },
      },
    ).result;

    expect(inputs).toEqual([{ executionName: "cohort-1-0a1b2c3d" }]);
    expect(result).toEqual({ executionName: "cohort-1-0a1b2c3d", step: { done: true, nextStepAt: null } });
  });

  it("runs its two tasks and housekeeping on their own Lambdas with the database variables and Data API access", () => {
    for (const fn of [escalation.stepFunction, escalation.failureFunction, escalation.housekeepingFunction]) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        FunctionName: Match.absent(),
        Runtime: "nodejs24.x",
        TracingConfig: { Mode: "Active" },
        Environment: { Variables: Match.objectLike(databaseEnvironment) },
        Role: stack.resolve(fn.role.roleArn),
      });
    }
    // All three log in as the tasks role (functions/adapters/db/roles.ts), never as the master.
    expect(dataAccessGrantees).toEqual([
      [escalation.stepFunction.function, "oncall_tasks"],
      [escalation.failureFunction.function, "oncall_tasks"],
      [escalation.housekeepingFunction.function, "oncall_tasks"],
    ]);
    expect(new Set(logins)).toEqual(new Set(["oncall_tasks"]));
    expect(stack.resolve(escalation.definitionSubstitutions)).toEqual({
      RunEscalationStepFunctionArn: stack.resolve(escalation.stepFunction.function.functionArn),
      RecordEscalationFailureFunctionArn: stack.resolve(escalation.failureFunction.function.functionArn),
    });
  });

  it("runs housekeeping every minute, allowed to start and stop executions", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      Targets: [
        Match.objectLike({ Arn: stack.resolve(escalation.housekeepingFunction.function.functionArn) }),
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: stack.resolve(escalation.housekeepingFunction.role.roleArn),
      Environment: {
        Variables: Match.objectLike({
          ESCALATION_STATE_MACHINE_ARN: stack.resolve(escalation.stateMachine.stateMachineArn),
          ONCALL_AUTO_RESOLVE_AFTER_DAYS: "14",
        }),
      },
    });
  });

  it("may invoke exactly its two task Lambdas", () => {
    const invokes = Object.values(template.findResources("AWS::IAM::Policy"))
      .filter(
        (p) =>
          JSON.stringify(p.Properties.Roles) ===
          JSON.stringify([stack.resolve(escalation.stateMachine.role.roleName)]),
      )
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[])
      .filter((s) => s.Action === "lambda:InvokeFunction");

    expect(invokes).toHaveLength(1);
    expect(invokes[0]!.Resource).toEqual(
      expect.arrayContaining([
        stack.resolve(escalation.stepFunction.function.functionArn),
        stack.resolve(escalation.failureFunction.function.functionArn),
      ]),
    );
    expect(invokes[0]!.Resource).toHaveLength(2);
  });

  it("lets a caller start and stop executions of this state machine only, and tells it the ARN", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Role: stack.resolve(caller.role!.roleArn),
      Environment: {
        Variables: { ESCALATION_STATE_MACHINE_ARN: stack.resolve(escalation.stateMachine.stateMachineArn) },
      },
    });
    const statements = Object.values(template.findResources("AWS::IAM::Policy"))
      .filter(
        (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([stack.resolve(caller.role!.roleName)]),
      )
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string }[]);
    expect(statements.map((s) => s.Action).sort()).toEqual(["states:StartExecution", "states:StopExecution"]);
  });

  it("is a STANDARD workflow with X-Ray tracing and every event logged to its log group", () => {
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: false,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: stack.resolve(escalation.logGroup.logGroupArn) } },
        ],
      },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: "/aws/vendedlogs/states/Test-escalation",
      RetentionInDays: 30,
    });
  });
});
