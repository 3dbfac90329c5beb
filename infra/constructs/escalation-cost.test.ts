import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { StateMachine as LocalStateMachine } from "aws-local-stepfunctions";
import { expect, it } from "vitest";
import { createTestApp } from "../testing.ts";
import { applySubstitutions, Escalation } from "./escalation.ts";

// What escalation costs on AWS per million alerts, computed from the synthesized state machine: the
// deployed definition runs on the local ASL interpreter for one cohort walking a 2-step policy (step
// 1 recorded with the alerts, wait, step 2, done), and its state transitions and task invocations are counted. One execution
// per alert (the design before cohorts, and a cohort of one today) against cohorts of 100 (one
// Alertmanager request of 100 new alerts). Prices: us-east-1, 2026 list prices.
const pricePerTransition = 0.025 / 1000; // Step Functions Standard
const pricePerLambdaRequest = 0.2 / 1e6;
const pricePerGbSecond = 0.0000166667; // x86
/** Billed time of one RunStep invocation: a fixed part and a part per alert of the cohort (assumed from the embedded measurements: 100 alerts in 30–60 ms on PGlite). */
const runStepMs = (cohortSize: number) => 40 + 0.5 * cohortSize;
/** Step Functions' default StartExecution bucket (us-east-1: 1,300 burst, 300 per second refill). */
const startExecutionBurst = 1300;

const app = createTestApp();
const stack = new Stack(app, "Cost");
const escalation = new Escalation(stack, "Escalation", {
  database: {
    environmentFor: () => ({
      DATABASE_RESOURCE_ARN: "arn:aws:rds:us-east-1:123456789012:cluster:oncall",
      DATABASE_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:oncall",
      DATABASE_NAME: "oncall",
    }),
    grantDataAccess: () => undefined,
  },
  autoResolveAfterDays: 14,
});
const template = Template.fromStack(stack);
const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine")) as {
  Properties: { DefinitionString: string; DefinitionSubstitutions: Record<string, unknown> };
}[];
const stepFunctionMemoryMb = (
  template.toJSON().Resources[stack.getLogicalId(escalation.stepFunction.function.node.defaultChild as never)]
    .Properties as { MemorySize: number }
).MemorySize;

/**
 * Runs the synthesized definition for one cohort through a 2-step policy; counts what AWS bills.
 * `firstStepRecorded`: the ingest statement recorded step 1 with the alerts (the usual start since
 * issue 10's last change); else the execution runs step 1 itself (a resume, a retried start).
 */
async function cohortRun(
  firstStepRecorded: boolean,
): Promise<{ transitions: number; taskInvocations: number }> {
  const arn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  const definition = applySubstitutions(
    machine!.Properties.DefinitionString,
    Object.fromEntries(Object.keys(machine!.Properties.DefinitionSubstitutions).map((k) => [k, arn(k)])),
  );
  let taskInvocations = 0;
  const step2Due = new Date().toISOString(); // a past time: no real wait
  const answers = [
    ...(firstStepRecorded ? [] : [{ done: false, nextStepAt: step2Due }]), // step 1 ran; step 2 due
    { done: true, nextStepAt: null }, // step 2 ran: the policy is exhausted
  ];
  const run = new LocalStateMachine(JSON.parse(definition)).run(
    firstStepRecorded
      ? { executionName: "cohort-1-0a1b2c3d", step: { done: false, nextStepAt: step2Due } }
      : { executionName: "cohort-1-0a1b2c3d" },
    {
      overrides: {
        taskResourceLocalHandlers: {
          RunStep: async () => answers[taskInvocations++]!,
          RecordFailure: async () => ({ done: true, nextStepAt: null }),
        },
      },
    },
  );
  let transitions = 0;
  for await (const event of run.eventLogs) if (event.type === "StateEntered") transitions++;
  await run.result;
  return { transitions, taskInvocations };
}

it("escalation costs per million alerts, one execution per alert against cohorts of 100", async () => {
  const { transitions, taskInvocations } = await cohortRun(true);
  const stepOneByTask = await cohortRun(false);
  const perMillion = (cohortSize: number) => {
    const executions = 1e6 / cohortSize;
    const stepFunctions = executions * transitions * pricePerTransition;
    const lambdaRequests = executions * taskInvocations;
    const lambda =
      lambdaRequests * pricePerLambdaRequest +
      lambdaRequests * (runStepMs(cohortSize) / 1000) * (stepFunctionMemoryMb / 1024) * pricePerGbSecond;
    return { executions, stepFunctions, lambdaRequests, lambda, total: stepFunctions + lambda };
  };
  const perAlert = perMillion(1);
  const cohorts = perMillion(100);
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const count = (n: number) => n.toLocaleString("en-US");
  console.info(
    [
      `escalation cost per million alerts (2-step policy; ${transitions} state transitions and ${taskInvocations} RunStep invocations per execution; RunStep ${stepFunctionMemoryMb} MB):`,
      "  | | executions (StartExecution calls) | state transitions | Step Functions | Lambda invocations | Lambda | total |",
      ...(
        [
          ["one execution per alert (before; a cohort of 1 today)", perAlert],
          ["cohorts of 100 (one Alertmanager request of 100)", cohorts],
        ] as const
      ).map(
        ([label, c]) =>
          `  | ${label} | ${count(c.executions)} | ${count(c.executions * transitions)} | ${usd(c.stepFunctions)} | ${count(c.lambdaRequests)} | ${usd(c.lambda)} | ${usd(c.total)} |`,
      ),
      `  (the issue's estimate for one execution per alert: ~$125, at ~5 transitions per alert; this definition bills ${transitions}, or ${stepOneByTask.transitions} and ${stepOneByTask.taskInvocations} RunStep invocations when the execution runs step 1 itself: a resume, a retried start)`,
      `  a 10,000-alert storm of 100-alert requests: ${10_000 / 100} StartExecution calls (before: 10,000), within the default bucket of ${startExecutionBurst}`,
    ].join("\n"),
  );

  expect(transitions).toBe(5); // FirstStepRecorded, WaitForNextStep, RunStep, IsDone, Done
  expect(taskInvocations).toBe(1);
  // FirstStepRecorded, RunStep, IsDone, WaitForNextStep, RunStep, IsDone, Done
  expect(stepOneByTask).toEqual({ transitions: 7, taskInvocations: 2 });
  // The issue's ~$125 per million was one execution per alert at ~5 transitions; this definition bills 5.
  expect(perAlert.stepFunctions).toBeCloseTo(125, 0);
  expect(cohorts.total).toBeLessThan(perAlert.total / 50);
  expect(cohorts.total).toBeLessThan(10); // the whole system's goal is ≤ $10 per million alerts
});
