import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { createAwsContext } from "../adapters/aws/aws-context.ts";
import { autoResolveOlderThan } from "../adapters/db/stores/alerts.ts";
import { logger, metrics } from "../adapters/observability.ts";
import type { AppContext } from "../app/context.ts";
import {
  escalationLifecycleOf,
  startUnstartedEscalations,
  stopAlertEscalations,
} from "../app/escalations.ts";
import { UnavailableError } from "../domain/errors.ts";
import { type TaskHandler, taskLambda } from "./middleware/task-lambda.ts";

export interface HousekeepingResult {
  escalationsStarted: number;
  alertsAutoResolved: number;
}

/** Alerts auto-resolved per run at most; the next run (a minute later) takes the rest. */
const autoResolveBatch = 1000;

/**
 * Runs every minute (EventBridge on AWS, a timer in the embedded runtime):
 * - starts the escalations whose workflow start failed and that no sender retry repaired, so that
 *   no alert with a policy goes unescalated (fails, and so alarms, when some still cannot start);
 * - with `autoResolveAfterDays` set (ONCALL_AUTO_RESOLVE_AFTER_DAYS), resolves open alerts not seen
 *   for that many days and stops their escalations.
 */
export function createHousekeeping(
  ctx: Pick<AppContext, "database" | "clock" | "escalations" | "autoResolveAfterDays">,
): TaskHandler<unknown, HousekeepingResult> {
  const lifecycle = escalationLifecycleOf(ctx);
  return async () => {
    const { started, failed } = await startUnstartedEscalations(lifecycle);
    if (started > 0) logger.warn("escalations started by housekeeping", { started });

    let resolved: number[] = [];
    if (ctx.autoResolveAfterDays !== undefined) {
      resolved = await autoResolveOlderThan(ctx.database.db, ctx.autoResolveAfterDays, ctx.clock.now(), {
        limit: autoResolveBatch,
      });
      await stopAlertEscalations(lifecycle, resolved);
      if (resolved.length > 0) logger.info("alerts auto-resolved", { count: resolved.length });
    }

    metrics.addMetric("EscalationsStartedByHousekeeping", MetricUnit.Count, started);
    metrics.addMetric("AlertsAutoResolved", MetricUnit.Count, resolved.length);
    metrics.publishStoredMetrics();
    if (failed > 0)
      throw new UnavailableError(`${failed} escalation start(s) failed again; the next run retries`);
    return { escalationsStarted: started, alertsAutoResolved: resolved.length };
  };
}

/** The Lambda entry point (scheduled). */
export const handler = taskLambda(async () =>
  createHousekeeping(await createAwsContext({ adminToken: false })),
);
