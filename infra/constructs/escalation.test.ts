import { readFileSync } from "node:fs";
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
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

// One synth for the file: the construct has no Lambda, so this takes milliseconds.
const app = createTestApp();
const stack = new Stack(app, "Test");
const escalation = new Escalation(stack, "Escalation");
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

  it("is valid ASL that the embedded runtime's runner executes", async () => {
    const local = new LocalStateMachine(
      JSON.parse(applySubstitutions(asl, escalation.definitionSubstitutions)),
    );

    const result = await local.run({ alertId: "alert-1", delaySeconds: 0 }).result;

    expect(result).toEqual({
      alertId: "alert-1",
      startedBy: escalation.definitionSubstitutions.OncallVersion,
    });
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
