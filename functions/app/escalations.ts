import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import { loadPolicyDefinitions } from "../adapters/db/stores/escalation-policies.ts";
import {
  applyManualEscalation,
  countActiveMembers,
  type FirstStep,
  findStrandedEscalations,
  loadManualEscalationContext,
  openEscalations,
  type PendingStart,
  rehomeStrandedEscalations,
  stopEscalations,
} from "../adapters/db/stores/escalations.ts";
import { logger } from "../adapters/observability.ts";
import type { OwedEffect } from "../domain/alerts/lifecycle.ts";
import type { Clock } from "../domain/clock.ts";
import { UnavailableError, ValidationError } from "../domain/errors.ts";
import {
  cohortExecutionName,
  decide,
  type EscalationPolicy,
  type EscalationRunner,
  planManualEscalation,
  planStep,
} from "../domain/escalation/index.ts";
import { dispatchEffects, type EffectDeps, type EffectHandler, EffectsPartlyFailed } from "./effects.ts";
import { resolveTargets } from "./escalation-ports.ts";

// What happens to escalations when alerts change, as effect handlers of the outbox: open and start
// them for new alerts (`escalation.start`), stop them for acknowledged or resolved ones
// (`escalation.stop`); and escalation by hand. The alerts of one start form a cohort: one execution
// walks all of them (their state stays per alert), so a request of N new alerts costs one statement
// and one StartExecution. The database state is written first; the workflow follows. A lost stop is
// harmless (every step re-checks the alert); a failed start (Step Functions throttling included)
// leaves its effect pending (the sender's retry or housekeeping runs it again, with backoff): a
// start is owed exactly while its `escalation.start` effect is pending. Nothing is noted on the
// escalation rows when it starts (an execution's id follows from its name), and starting an
// execution that runs or ran already is a no-op, so a start run twice is harmless.

export interface EscalationLifecycleDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly runner: EscalationRunner;
}

/** Workflow starts in flight at once (a start names a cohort: normally one per effect). */
const startConcurrency = 8;

/** The outbox handlers of the escalation effects. */
export function escalationEffectHandlers(deps: EscalationLifecycleDeps): {
  "escalation.start": EffectHandler;
  "escalation.stop": EffectHandler;
} {
  return {
    "escalation.start": {
      critical: true,
      // Effects whose starts all succeeded are marked done by the outbox (with the request's other
      // effects, one statement); those with a failed start stay pending (EffectsPartlyFailed).
      async run(effects) {
        const failed: number[] = [];
        const failedEffects = new Set<number>();
        for (const effect of effects) {
          const opened = openedExecutionOf(effect);
          // Opened by the statement that wrote this effect: start the execution it named (waiting
          // for the second step first when that statement recorded the first).
          const failedAlertIds = opened
            ? (
                await startWorkflows(deps, [
                  {
                    executionName: opened.executionName,
                    alertIds: effect.alertIds,
                    waitUntil: opened.waitUntil,
                  },
                ])
              ).flatMap((f) => f.alertIds)
            : (await startEscalations(deps, { alertIds: effect.alertIds, policyId: policyOfStart(effect) }))
                .failedAlertIds;
          if (failedAlertIds.length > 0) failedEffects.add(effect.id);
          failed.push(...failedAlertIds);
        }
        if (failed.length > 0) {
          const some =
            failed.length > 10
              ? `${failed.slice(0, 10).join(", ")}… (${failed.length} alerts)`
              : failed.join(", ");
          // Only the effects whose start failed are failed (the others are done, counted as run).
          throw new EffectsPartlyFailed(
            `the escalation of alert ${some} could not be started`,
            failedEffects,
          );
        }
      },
    },
    "escalation.stop": {
      critical: false,
      run: (effects) => stopAlertEscalations(deps, [...new Set(effects.flatMap((e) => e.alertIds))]),
    },
  };
}

/**
 * The execution a fresh `escalation.start` effect names when the statement that wrote it also
 * opened its escalations (adapters/db/stores/escalations.ts openEscalationsWithAlerts). A retried
 * effect goes through openEscalations instead, which opens what is missing and starts (again, a
 * no-op where it ran) the execution of each of its alerts' active escalations.
 */
function openedExecutionOf(effect: OwedEffect): { executionName: string; waitUntil?: Date } | undefined {
  const payload = effect.payload as { executionName?: unknown; nextStepAt?: unknown } | null;
  const name = payload?.executionName;
  if (effect.attempts !== 0 || typeof name !== "string") return undefined;
  const next = typeof payload?.nextStepAt === "string" ? new Date(payload.nextStepAt) : undefined;
  return next && !Number.isNaN(next.getTime())
    ? { executionName: name, waitUntil: next }
    : { executionName: name };
}

/** The policy an `escalation.start` effect names (written with the alerts it starts). */
function policyOfStart(effect: OwedEffect): string {
  const policyId = (effect.payload as { policyId?: unknown } | null)?.policyId;
  if (typeof policyId !== "string") {
    throw new ValidationError("payload.policyId", `effect ${effect.id} names no escalation policy`);
  }
  return policyId;
}

/**
 * Starts escalations along `policyId` for the alerts of `alertIds` that are triggered and have none
 * yet, as one cohort (one execution), and starts again the execution of every other active
 * escalation of these alerts (a no-op for one that runs or ran). Idempotent. Answers the alerts
 * whose execution could not be started (logged; the caller retries, e.g. the outbox with backoff).
 *
 * @example await startEscalations(deps, { alertIds: [10, 11, 12], policyId });
 */
export async function startEscalations(
  deps: EscalationLifecycleDeps,
  input: { alertIds: readonly number[]; policyId: string },
): Promise<{ failedAlertIds: number[] }> {
  if (input.alertIds.length === 0) return { failedAlertIds: [] };
  const pending = await openEscalations(deps.db, {
    alertIds: input.alertIds,
    policyId: input.policyId,
    executionName: cohortExecutionName(input.alertIds, randomUUID().slice(0, 8)),
    now: deps.clock.now(),
  });
  const failed = await startWorkflows(deps, pending);
  return { failedAlertIds: failed.flatMap((p) => p.alertIds) };
}

/** Starts the workflows of `pending` (a few at a time); returns those that failed, logged. */
async function startWorkflows(
  deps: EscalationLifecycleDeps,
  pending: readonly (PendingStart & { readonly waitUntil?: Date | undefined })[],
): Promise<PendingStart[]> {
  const failed: { start: PendingStart; error: unknown }[] = [];
  for (let i = 0; i < pending.length; i += startConcurrency) {
    await Promise.all(
      pending.slice(i, i + startConcurrency).map(async (start) => {
        try {
          await deps.runner.start(start.executionName, { waitUntil: start.waitUntil });
        } catch (error) {
          failed.push({ start, error });
        }
      }),
    );
  }
  for (const { start, error } of failed) {
    logger.error("escalation start failed", {
      executionName: start.executionName,
      alertIds: start.alertIds,
      error: error as Error,
    });
  }
  return failed.map((f) => f.start);
}

/** Policy definitions a process keeps for planning first steps (a bound: cleared when full). */
const maxRememberedPolicies = 1_000;

/**
 * Plans the first step of new escalations before the statement that opens them (issue 10): step 0
 * is due the moment an escalation opens, so the ingest statement records it with the alerts
 * (adapters/db/stores/escalations.ts openEscalationsWithAlerts) instead of an execution running it
 * a moment later (a read and a write of every alert of the cohort, on PGlite's one connection the
 * most of an escalating request). Targets are resolved now, as RunStep would resolve them. Policy
 * definitions are remembered; the statement checks each is still the one planned (else the
 * execution runs the step, as before) and `forget` drops one that changed.
 */
export function createFirstStepPlanner(db: Kysely<Database>) {
  const definitions = new Map<string, Omit<EscalationPolicy, "id">>();
  return {
    async plan(policyIds: readonly string[], now: Date): Promise<FirstStep[]> {
      const ids = [...new Set(policyIds)];
      const missing = ids.filter((id) => !definitions.has(id));
      if (missing.length > 0) {
        if (definitions.size + missing.length > maxRememberedPolicies) definitions.clear();
        for (const [id, definition] of await loadPolicyDefinitions(db, missing))
          definitions.set(id, definition);
      }
      const planned: FirstStep[] = [];
      for (const policyId of ids) {
        const definition = definitions.get(policyId);
        if (!definition) continue;
        const policy: EscalationPolicy = { id: policyId, ...definition };
        const decision = decide(
          policy,
          { status: "active", stepIndex: 0, repeatCycle: 0, nextStepAt: now },
          "triggered",
          now,
        );
        if (decision.action !== "run") continue;
        const position = {
          stepIndex: decision.position.stepIndex,
          repeatCycle: decision.position.repeatCycle,
        };
        const resolutions = await resolveTargets(db, decision.step.targets, now);
        planned.push({ policyId, definition, plan: planStep(policy, position, resolutions, now) });
      }
      return planned;
    },
    /** The statement found the policy changed: read it again next time. */
    forget(policyId: string): void {
      definitions.delete(policyId);
    },
  };
}

export type FirstStepPlanner = ReturnType<typeof createFirstStepPlanner>;

/**
 * The planned first steps the statement did not record (their policy changed since it was read):
 * the fresh `escalation.start` effects of those policies carry no `nextStepAt`.
 */
export function unrecordedFirstSteps(
  planned: readonly FirstStep[],
  effects: readonly OwedEffect[],
): string[] {
  const plannedIds = new Set(planned.map((f) => f.policyId));
  return effects.flatMap((effect) => {
    if (effect.kind !== "escalation.start" || effect.attempts !== 0) return [];
    const payload = effect.payload as { policyId?: unknown; nextStepAt?: unknown } | null;
    const policyId = payload?.policyId;
    return typeof policyId === "string" && plannedIds.has(policyId) && payload?.nextStepAt === undefined
      ? [policyId]
      : [];
  });
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
 * workflows left with no active escalation (a cohort's execution goes on for its other alerts). A
 * workflow that cannot be stopped is only logged: its next step sees the alerts and ends.
 */
export async function stopAlertEscalations(
  deps: EscalationLifecycleDeps,
  alertIds: readonly number[],
): Promise<void> {
  if (alertIds.length === 0) return;
  const stopped = await stopEscalations(deps.db, { alertIds, now: deps.clock.now() });
  await Promise.all(stopped.map((s) => stopQuietly(deps.runner, s)));
}

export type EscalateNowOutcome =
  | {
      readonly outcome: "escalated";
      readonly stepIndex: number;
      readonly repeatCycle: number;
      /** The start of the new execution, owed: the caller runs it (dispatchEffects). */
      readonly effects: readonly OwedEffect[];
    }
  | { readonly outcome: "not_found" }
  | { readonly outcome: "not_triggered"; readonly alertStatus: string }
  | { readonly outcome: "no_policy" };

/** Tries of a manual escalation that lost a race (a step or an acknowledge) before giving up. */
const manualAttempts = 3;

/**
 * A manual escalation: the pending step runs now, in a new execution of the alert alone (it leaves
 * its cohort; planManualEscalation decides which step and names the execution; the write is
 * compare-and-set and owes the start of the new execution, which the caller dispatches).
 */
export async function escalateAlertNow(
  deps: EscalationLifecycleDeps,
  input: { alertId: number; actor: string },
): Promise<EscalateNowOutcome> {
  for (let attempt = 1; ; attempt++) {
    const context = await loadManualEscalationContext(deps.db, input.alertId);
    if (!context) return { outcome: "not_found" };
    const plan = planManualEscalation(input.alertId, context);
    if (plan.outcome !== "escalated") return plan;
    const { current } = context;
    const effects = await applyManualEscalation(deps.db, {
      alertId: input.alertId,
      expected: current && { status: current.status, position: current },
      plan,
      actor: input.actor,
      now: deps.clock.now(),
    });
    if (!effects) {
      if (attempt < manualAttempts) continue;
      throw new UnavailableError(`alert ${input.alertId} changed while escalating it; retry`);
    }
    // The alert left its cohort: the old execution stops only if it walks no other alert.
    const { previousExecutionName: previous, executionName } = plan;
    if (previous && previous !== executionName && (await countActiveMembers(deps.db, previous)) === 0) {
      await stopQuietly(deps.runner, { executionName: previous, alertIds: [input.alertId] });
    }
    return { outcome: "escalated", ...plan.position, effects };
  }
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

/**
 * How late a step may be before its escalation counts as stranded: beyond what a live execution's
 * retries of RunStep take (state-machines/escalation.asl.json: 8 attempts, at most 5 minutes apart,
 * about 15 minutes plus the Lambda's own timeouts).
 */
export const STRANDED_AFTER_MS = 30 * 60_000;

/**
 * Escalations nothing walks any more (their execution failed and the failure could not be
 * recorded, or their start was given up after a day of retries) walk again: each stranded cohort
 * moves to a fresh execution, whose start the outbox owes and runs now. A step is never paged twice
 * by this: each step's write checks the position it started from, and a notification is unique per
 * alert, pass, step and target. Answers the alerts moved.
 */
export async function redriveStrandedEscalations(
  deps: { readonly db: Kysely<Database>; readonly clock: Clock; readonly effects: EffectDeps },
  limit: number,
): Promise<number[]> {
  const now = deps.clock.now();
  const dueBefore = new Date(now.getTime() - STRANDED_AFTER_MS);
  const moved: number[] = [];
  for (const stranded of await findStrandedEscalations(deps.db, { dueBefore, limit })) {
    const to = `redrive-${Math.min(...stranded.alertIds)}-${randomUUID().slice(0, 8)}`;
    const { alertIds, effects } = await rehomeStrandedEscalations(deps.db, { stranded, to, dueBefore, now });
    if (alertIds.length === 0) continue;
    logger.error("stranded escalations walk again under a new execution", {
      from: stranded.executionName,
      to,
      alertIds,
    });
    moved.push(...alertIds);
    // A failed start stays owed (pending): the sweep retries it with backoff.
    await dispatchEffects(deps.effects, effects).catch(() => undefined);
  }
  return moved;
}
