import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidName,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createSfnEscalationRunner, executionArnOf } from "./sfn-escalation-runner.ts";

const stateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:Oncall-Escalation";
const executionArn = "arn:aws:states:eu-west-1:123456789012:execution:Oncall-Escalation:alert-42";

const sfn = mockClient(SFNClient);
const runner = createSfnEscalationRunner({ client: new SFNClient({ region: "eu-west-1" }), stateMachineArn });

beforeEach(() => {
  sfn.reset();
});

describe("createSfnEscalationRunner", () => {
  it("starts an execution named after the cohort, with its name as input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });

    expect(await runner.start("alert-42")).toBe(executionArn);
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn, name: "alert-42", input: '{"executionName":"alert-42"}' },
    ]);
  });

  it("starts a cohort whose first step is recorded with the time of its next step (it waits first)", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });

    await runner.start("alert-42", { waitUntil: new Date("2026-11-27T13:00:00Z") });
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input!.input!))).toEqual([
      { executionName: "alert-42", step: { done: false, nextStepAt: "2026-11-27T13:00:00.000Z" } },
    ]);
  });

  it("takes a name whose execution already ran as started", async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));

    expect(await runner.start("alert-42")).toBe(executionArn);
  });

  it("lets other start errors through", async () => {
    sfn.on(StartExecutionCommand).rejects(new InvalidName({ message: "bad name", $metadata: {} }));

    await expect(runner.start("alert 42")).rejects.toThrow("bad name");
  });

  it("stops the execution by its ARN", async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });

    await runner.stop("alert-42");

    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      {
        executionArn,
        error: "EscalationStopped",
        cause: "its alerts were acknowledged or resolved, or escalated by hand",
      },
    ]);
  });

  it("ignores a stop of an execution that does not exist", async () => {
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "gone", $metadata: {} }));

    await expect(runner.stop("alert-42")).resolves.toBeUndefined();
  });

  it("lets other stop errors through", async () => {
    sfn.on(StopExecutionCommand).rejects(new Error("throttled"));

    await expect(runner.stop("alert-42")).rejects.toThrow("throttled");
  });
});

describe("executionArnOf", () => {
  it.each([
    "arn:aws:lambda:eu-west-1:1:function:f",
    "not an arn",
    "arn:aws:states:eu-west-1:1:execution:m:e",
  ])("refuses %s", (arn) => {
    expect(() => executionArnOf(arn)).toThrow(/not a state machine ARN/);
  });

  it("works in other partitions", () => {
    expect(executionArnOf("arn:aws-cn:states:cn-north-1:1:stateMachine:m")("x")).toBe(
      "arn:aws-cn:states:cn-north-1:1:execution:m:x",
    );
  });
});
