import type { SFNClient } from "@aws-sdk/client-sfn";
import { type EscalationRunner, executionInput } from "../../domain/escalation/index.ts";
import { type ClientSource, resolveClient } from "./lazy-client.ts";

export interface SfnEscalationRunnerOptions {
  /** The client, or a loader that creates it on the first start or stop (see lazy-client.ts). */
  readonly client: ClientSource<SFNClient>;
  /** `arn:aws:states:<region>:<account>:stateMachine:<name>` (ESCALATION_STATE_MACHINE_ARN). */
  readonly stateMachineArn: string;
}

/**
 * The EscalationRunner on AWS: one Step Functions execution per cohort of escalations, named after
 * it, input `{ executionName }` (and the time of its next step when its first is recorded: see
 * EscalationRunner.start). StartExecution is idempotent for a running execution with the same
 * name and input; a name whose execution already ended (ExecutionAlreadyExists) has run, so it is not
 * an error. StopExecution of an execution that does not exist is not an error either. Throttling
 * (`ThrottlingException`, `ExecutionLimitExceeded`) is an error after the SDK's own retries: the start
 * effect fails and the outbox runs it again later, with backoff.
 */
export function createSfnEscalationRunner({
  client,
  stateMachineArn,
}: SfnEscalationRunnerOptions): EscalationRunner {
  const executionArn = executionArnOf(stateMachineArn);
  // The package (commands) is loaded with the client: not at init, where most invocations never use it.
  const sfn = () => Promise.all([resolveClient(client), import("@aws-sdk/client-sfn")]);
  return {
    async start(executionName, options) {
      const [sfnClient, { StartExecutionCommand }] = await sfn();
      try {
        const out = await sfnClient.send(
          new StartExecutionCommand({
            stateMachineArn,
            name: executionName,
            input: JSON.stringify(executionInput(executionName, options)),
          }),
        );
        return out.executionArn ?? executionArn(executionName);
      } catch (err) {
        if ((err as Error).name === "ExecutionAlreadyExists") return executionArn(executionName);
        throw err;
      }
    },
    async stop(executionName) {
      const [sfnClient, { StopExecutionCommand }] = await sfn();
      try {
        await sfnClient.send(
          new StopExecutionCommand({
            executionArn: executionArn(executionName),
            error: "EscalationStopped",
            cause: "its alerts were acknowledged or resolved, or escalated by hand",
          }),
        );
      } catch (err) {
        if ((err as Error).name !== "ExecutionDoesNotExist") throw err;
      }
    },
  };
}

/**
 * Execution ARNs follow from the state machine's: `…:stateMachine:<machine>` →
 * `…:execution:<machine>:<execution name>`.
 */
export function executionArnOf(stateMachineArn: string): (executionName: string) => string {
  const parts = stateMachineArn.split(":");
  if (parts.length !== 7 || parts[0] !== "arn" || parts[2] !== "states" || parts[5] !== "stateMachine") {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  const prefix = [...parts.slice(0, 5), "execution", parts[6]].join(":");
  return (executionName) => `${prefix}:${executionName}`;
}
