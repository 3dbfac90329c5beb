import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { createAlertUseCases } from "../app/alerts.ts";
import { createAwsContext } from "../app/aws-context.ts";
import type { AppContext } from "../app/context.ts";
import { announceOverdue, deliveryPlanningDepsOf } from "../app/delivery-planning.ts";
import { effectDepsOf } from "../app/effect-registry.ts";
import { purgeEffects, sweepEffects } from "../app/effects.ts";
import { redriveStrandedEscalations } from "../app/escalations.ts";
import { createMaintenanceCheck, releaseEndedMaintenance } from "../app/maintenance.ts";
import { UnavailableError } from "../domain/errors.ts";
import { type TaskHandler, taskLambda } from "./middleware/task-lambda.ts";

export interface HousekeepingResult {
  /** Effects of alert changes run by this sweep (left by a crash, or failed before). */
  effectsRun: number;
  alertsAutoResolved: number;
  /** Open alerts routed again because the maintenance window that suppressed them ended. */
  alertsReleasedFromMaintenance: number;
  /** Alerts whose escalation nothing walked any more, walking again under a new execution. */
  escalationsRedriven: number;
}

/** Alerts auto-resolved per run at most; the next run (a minute later) takes the rest. */
const autoResolveBatch = 1000;
/** Effects swept per run at most. */
const effectBatch = 500;
/** Alerts released from ended maintenance windows per run at most; the next run takes the rest. */
const maintenanceReleaseBatch = 500;

/**
 * Runs every minute (EventBridge on AWS, a timer in the embedded runtime):
 * - runs the effects of alert changes that are still owed (a process died between the change and its
 *   effect, or the effect failed and no retry of its sender repaired it), so that no alert with a
 *   policy goes unescalated;
 * - with `autoResolveAfterDays` set (ONCALL_AUTO_RESOLVE_AFTER_DAYS), resolves open alerts not seen
 *   for that many days (their escalations stop);
 * - routes again the open alerts suppressed by maintenance windows that have ended (they escalate now);
 * - starts again, under a new execution, the escalations nothing walks any more (an execution that
 *   failed without recording it, a start given up): their step overdue by STRANDED_AFTER_MS;
 * - forgets effects finished more than a day ago.
 * Fails (and so alarms) when something owed still cannot run.
 */
export function createHousekeeping(
  ctx: Pick<
    AppContext,
    | "database"
    | "clock"
    | "escalations"
    | "maintenance"
    | "directory"
    | "delivery"
    | "autoResolveAfterDays"
    | "ingestRateLimitPerMinute"
    | "ingestAlertLimitPerMinute"
  >,
): TaskHandler<unknown, HousekeepingResult> {
  const effects = effectDepsOf(ctx);
  const alerts = createAlertUseCases(ctx, effects);
  return async () => {
    const swept = await sweepEffects(effects, { limit: effectBatch });
    if (swept.ran > 0) logger.warn("effects run by housekeeping", { ran: swept.ran });

    const { released } = await releaseEndedMaintenance({ ...ctx, effects }, maintenanceReleaseBatch);
    const redriven = await redriveStrandedEscalations(
      { db: ctx.database.db, clock: ctx.clock, effects },
      effectBatch,
    );

    let resolved: number[] = [];
    if (ctx.autoResolveAfterDays !== undefined) {
      resolved = await alerts.autoResolveStale(ctx.autoResolveAfterDays, autoResolveBatch);
      if (resolved.length > 0) logger.info("alerts auto-resolved", { count: resolved.length });
    }
    await purgeEffects(effects, effectBatch);
    // Deliveries whose queue message was lost (or whose sender died mid-send) are announced again.
    const reannounced = await announceOverdue(deliveryPlanningDepsOf(ctx), effectBatch);
    if (reannounced > 0) logger.warn("overdue deliveries announced again", { count: reannounced });

    metrics.addMetric("EffectsRunByHousekeeping", MetricUnit.Count, swept.ran);
    metrics.addMetric("EffectsFailed", MetricUnit.Count, swept.failed);
    metrics.addMetric("AlertsAutoResolved", MetricUnit.Count, resolved.length);
    metrics.addMetric("AlertsReleasedFromMaintenance", MetricUnit.Count, released);
    metrics.addMetric("DeliveriesReannounced", MetricUnit.Count, reannounced);
    metrics.addMetric("EscalationsRedriven", MetricUnit.Count, redriven.length);
    metrics.publishStoredMetrics();
    if (swept.failed > 0) {
      throw new UnavailableError(`${swept.failed} effect(s) failed again; the next run retries`);
    }
    return {
      effectsRun: swept.ran,
      alertsAutoResolved: resolved.length,
      alertsReleasedFromMaintenance: released,
      escalationsRedriven: redriven.length,
    };
  };
}

/** The Lambda entry point (scheduled). */
export const handler = taskLambda(async () =>
  createHousekeeping(
    await createAwsContext({
      adminToken: false,
      connectRemoteDirectory,
      maintenanceCheck: createMaintenanceCheck,
    }),
  ),
);
