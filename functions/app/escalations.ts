import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import {
  type EscalateNowOutcome,
  escalateNow,
  findUnstartedEscalations,
  markStarted,
  type PendingStart,
  startEscalations,
  stopEscalations,
} from "../adapters/db/stores/escalations.ts";
import { logger } from "../adapters/observability.ts";
import type { Clock } from "../domain/clock.ts";
import { UnavailableError } from "../domain/errors.ts";
import type { EscalationRunner } from "../domain/escalation/index.ts";

// What ingest and AlertService do to escalations when alerts change: open and start them for new
// alerts, stop them for acknowledged or resolved ones, and escalate by hand. The database state is
// written first; the workflow follows. A lost stop is harmless (every step re-checks the alert); a
// failed start is reported as `unavailable` so the sender retries, and the retry starts it (the
// escalation stays "start owed" until markStarted).

export interface EscalationLifecycleDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly runner: EscalationRunner;
}

/** Workflow starts in flight at once for one request (Step Functions allows bursts of a few hundred). */
const startConcurrency = 8;

/**
 * After alerts were created (or deduplicated: a retried request repairs a start that failed): opens
 * an escalation for each triggered alert whose service has a policy and starts its workflow.
 *
 * @throws UnavailableError when a workflow could not be started; calling again starts the rest.
 */
export async function startAlertEscalations(
  deps: EscalationLifecycleDeps,
  alertIds: readonly number[],
): Promise<void> {
  if (alertIds.length === 0) return;
  const pending = await startEscalations(deps.db, { alertIds, now: deps.clock.now() });
  const failed = await startWorkflows(deps, pending);
  if (failed.length > 0) {
    throw new UnavailableError(
      `the escalation of alert ${failed.map((f) => f.alertId).join(", ")} could not be started; retry the request`,
    );
  }
}

/** How long a start may stay unconfirmed before the sweeper takes it over (the request's own start is done by then). */
export const unstartedGraceMs = 60_000;

/**
 * The safety net for "never silently stops": starts every escalation whose workflow start failed
 * and was not retried by its sender. Run every minute (a scheduled Lambda on AWS, a timer embedded).
 *
 * @returns how many were started and how many failed again (they are tried on the next sweep).
 */
export async function startUnstartedEscalations(
  deps: EscalationLifecycleDeps,
): Promise<{ started: number; failed: number }> {
  const pending = await findUnstartedEscalations(deps.db, {
    openedBefore: new Date(deps.clock.now().getTime() - unstartedGraceMs),
  });
  const failed = await startWorkflows(deps, pending);
  return { started: pending.length - failed.length, failed: failed.length };
}

/** Starts the workflows of `pending` (a few at a time) and notes each start; returns those that failed, logged. */
async function startWorkflows(
  deps: EscalationLifecycleDeps,
  pending: readonly PendingStart[],
): Promise<PendingStart[]> {
  const failed: { start: PendingStart; error: unknown }[] = [];
  for (let i = 0; i < pending.length; i += startConcurrency) {
    await Promise.all(
      pending.slice(i, i + startConcurrency).map(async (start) => {
        try {
          const executionArn = await deps.runner.start(start.alertId, start.executionName);
          await markStarted(deps.db, { ...start, executionArn, now: deps.clock.now() });
        } catch (error) {
          failed.push({ start, error });
        }
      }),
    );
  }
  for (const { start, error } of failed) {
    logger.error("escalation start failed", {
      alertId: start.alertId,
      executionName: start.executionName,
      error: error as Error,
    });
  }
  return failed.map((f) => f.start);
}

/** What happened to an alert in a request (ingest's SignalResult, AlertService's outcomes). */
export interface AlertOutcome {
  readonly alertId: number | null;
  readonly outcome: string;
}

/**
 * Follows a request's outcomes: escalations start for `created` (and `deduplicated`, to repair a start
 * that failed before) alerts, and stop for `acknowledged` and `resolved` ones.
 *
 * @example await followAlertOutcomes(deps, result.results); // after ingestWebhook
 */
export async function followAlertOutcomes(
  deps: EscalationLifecycleDeps,
  outcomes: readonly AlertOutcome[],
  options: { serviceEscalates?: boolean } = {},
): Promise<void> {
  const ids = (...kinds: string[]) =>
    outcomes.filter((o) => o.alertId !== null && kinds.includes(o.outcome)).map((o) => o.alertId as number);
  await stopAlertEscalations(deps, ids("acknowledged", "resolved"));
  // A caller that already knows the service has no policy saves the round trip that would find
  // nothing to start (stops above still run: a policy may have been detached mid-escalation).
  if (options.serviceEscalates === false) return;
  await startAlertEscalations(deps, ids("created", "deduplicated"));
}

/** The lifecycle's dependencies from an AppContext. */
export function escalationLifecycleOf(ctx: {
  database: { db: Kysely<Database> };
  clock: Clock;
  escalations: EscalationRunner;
}): EscalationLifecycleDeps {
  return { db: ctx.database.db, clock: ctx.clock, runner: ctx.escalations };
}

/**
 * After alerts were acknowledged or resolved: marks their escalations stopped and stops the
 * workflows. A workflow that cannot be stopped is only logged: its next step sees the alert and ends.
 */
export async function stopAlertEscalations(
  deps: EscalationLifecycleDeps,
  alertIds: readonly number[],
): Promise<void> {
  if (alertIds.length === 0) return;
  const stopped = await stopEscalations(deps.db, { alertIds, now: deps.clock.now() });
  await Promise.all(stopped.map((s) => stopQuietly(deps.runner, s)));
}

/**
 * A manual escalation: the pending step runs now, in a new execution that replaces the waiting one.
 *
 * @throws UnavailableError when the new workflow could not be started (the step is due: a retry or,
 *   on the embedded runtime, the next start runs it).
 */
export async function escalateAlertNow(
  deps: EscalationLifecycleDeps,
  input: { alertId: number; actor: string },
): Promise<EscalateNowOutcome> {
  const outcome = await escalateNow(deps.db, { ...input, now: deps.clock.now() });
  if (outcome.outcome !== "escalated") return outcome;
  const { previousExecutionName: previous, executionName } = outcome;
  if (previous && previous !== executionName)
    await stopQuietly(deps.runner, { alertId: input.alertId, executionName: previous });
  try {
    const executionArn = await deps.runner.start(input.alertId, executionName);
    await markStarted(deps.db, {
      alertId: input.alertId,
      executionName,
      executionArn,
      now: deps.clock.now(),
    });
  } catch (error) {
    logger.error("escalation start failed", { alertId: input.alertId, executionName, error: error as Error });
    throw new UnavailableError(`the escalation of alert ${input.alertId} could not be started; retry`, {
      cause: error,
    });
  }
  return outcome;
}

async function stopQuietly(runner: EscalationRunner, execution: PendingStart): Promise<void> {
  try {
    await runner.stop(execution.executionName);
  } catch (error) {
    logger.warn("escalation stop failed; its next step will see the alert and end", {
      ...execution,
      error: error as Error,
    });
  }
}
