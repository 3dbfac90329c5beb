import { openAwsDatabase } from "../app/aws-context.ts";
import { createEscalationFailurePorts, type EscalationTaskDeps } from "../app/escalation-ports.ts";
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
 * The escalation state machine's RecordFailure task: `{ alertId, error: { Error, Cause } }` in (what
 * the Catch of RunStep caught); records it on the alert (`escalation_failed`, last_error) and answers
 * `{ done, nextStepAt }` with the time to try the step again, so the escalation keeps going.
 */
export function createEscalationFailureHandler(deps: EscalationTaskDeps): TaskHandler<unknown, TaskOutput> {
  const ports = createEscalationFailurePorts(deps);
  return async (input) => {
    const { alertId, error } = parseFailureTaskInput(input);
    return toTaskOutput(await withTaskErrors(() => recordEscalationFailure(ports, alertId, error)));
  };
}

/** The Lambda entry point (Aurora through the Data API). */
export const handler = taskLambda(async () => {
  const database = await openAwsDatabase();
  return createEscalationFailureHandler({ db: database.db, clock: systemClock });
});
