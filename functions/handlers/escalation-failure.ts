import { openAwsDatabase } from "../app/aws-database.ts";
import {
  createEscalationFailurePorts,
  type EscalationTaskDeps,
  executionNameOfTask,
} from "../app/escalation-ports.ts";
import { systemClock } from "../domain/clock.ts";
import { recordEscalationFailure } from "../domain/escalation/index.ts";
import {
  parseFailureTaskInput,
  type TaskOutput,
  toTaskOutput,
  withTaskErrors,
} from "./escalation-task-io.ts";
import { type TaskHandler, taskLambda } from "./middleware/task-lambda.ts";

/**
 * The escalation state machine's RecordFailure task: `{ executionName, error: { Error, Cause } }` in
 * (what the Catch of RunStep caught); records it on the cohort's alerts (`escalation_failed`,
 * last_error) and answers `{ done, nextStepAt }` with the time to try the step again, so the
 * escalation keeps going.
 */
export function createEscalationFailureHandler(deps: EscalationTaskDeps): TaskHandler<unknown, TaskOutput> {
  const ports = createEscalationFailurePorts(deps);
  return async (input) => {
    const { error, ...task } = parseFailureTaskInput(input);
    return toTaskOutput(
      await withTaskErrors(async () => {
        const executionName = await executionNameOfTask(deps, task);
        return executionName === undefined
          ? { done: true, nextStepAt: null }
          : recordEscalationFailure(ports, executionName, error);
      }),
    );
  };
}

/** The Lambda entry point (Aurora through the Data API). */
export const handler = taskLambda(async () => {
  const database = await openAwsDatabase();
  return createEscalationFailureHandler({ db: database.db, clock: systemClock });
});
