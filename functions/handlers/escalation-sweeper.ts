import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { AppContext } from "../adapters/app-context.ts";
import { createAwsContext } from "../adapters/aws/aws-context.ts";
import { escalationLifecycleOf, startUnstartedEscalations } from "../adapters/escalation/lifecycle.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { UnavailableError } from "../domain/errors.ts";
import { type TaskHandler, taskLambda } from "./middleware/task-lambda.ts";

/**
 * Runs every minute (EventBridge on AWS, a timer in the embedded runtime): starts the escalations
 * whose workflow start failed and that no sender retry repaired, so that no alert with a policy
 * goes unescalated. Fails (and so alarms) when some still cannot be started.
 */
export function createEscalationSweeper(
  ctx: Pick<AppContext, "database" | "clock" | "escalations">,
): TaskHandler<unknown, { started: number }> {
  const lifecycle = escalationLifecycleOf(ctx);
  return async () => {
    const { started, failed } = await startUnstartedEscalations(lifecycle);
    if (started > 0) logger.warn("escalations started by the sweeper", { started });
    metrics.addMetric("EscalationsStartedBySweeper", MetricUnit.Count, started);
    metrics.publishStoredMetrics();
    if (failed > 0)
      throw new UnavailableError(`${failed} escalation start(s) failed again; next sweep retries`);
    return { started };
  };
}

/** The Lambda entry point (scheduled). */
export const handler = taskLambda(async () =>
  createEscalationSweeper(await createAwsContext({ adminToken: false })),
);
