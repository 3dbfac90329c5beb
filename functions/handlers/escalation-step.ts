import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { createAwsContext } from "../app/aws-context.ts";
import { effectDepsOf } from "../app/effect-registry.ts";
import { runOwedEffectsOfAlerts } from "../app/effects.ts";
import {
  createEscalationStepPorts,
  type EscalationTaskDeps,
  executionNameOfTask,
} from "../app/escalation-ports.ts";
import { createMaintenanceCheck } from "../app/maintenance.ts";
import { systemClock } from "../domain/clock.ts";
import { runEscalationStep } from "../domain/escalation/index.ts";
import { parseStepTaskInput, type TaskOutput, toTaskOutput, withTaskErrors } from "./escalation-task-io.ts";
import { type TaskHandler, taskLambda } from "./middleware/task-lambda.ts";

/**
 * The escalation state machine's RunStep task: `{ executionName }` in; runs the due step of every
 * escalation of that cohort (if due: a resumed execution may come early) and answers
 * `{ done, nextStepAt }`. Errors by name: TransientError (database unavailable: retried),
 * EscalationInputError.
 */
export function createEscalationStepHandler(deps: EscalationTaskDeps): TaskHandler<unknown, TaskOutput> {
  const ports = createEscalationStepPorts(deps);
  return async (input) => {
    const task = parseStepTaskInput(input);
    return toTaskOutput(
      await withTaskErrors(async () => {
        const executionName = await executionNameOfTask(deps, task);
        return executionName === undefined
          ? { done: true, nextStepAt: null }
          : runEscalationStep(ports, executionName);
      }),
    );
  };
}

/** The Lambda entry point (Aurora through the Data API). */
export const handler = taskLambda(async () => {
  const ctx = await createAwsContext({
    adminToken: false,
    connectRemoteDirectory,
    maintenanceCheck: createMaintenanceCheck,
  });
  return createEscalationStepHandler({
    db: ctx.database.db,
    clock: systemClock,
    // delivery (issue 12): the step's notifications are planned (and announced) before the task answers.
    notified: (alertIds) => runOwedEffectsOfAlerts(effectDepsOf(ctx), "notifications.deliver", alertIds),
  });
});
