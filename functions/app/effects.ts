import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import {
  claimDueEffects,
  completeEffects,
  EFFECT_GRACE_MS,
  pendingEffectsOfAlerts,
  purgeFinishedEffects,
  recordEffectFailure,
} from "../adapters/db/stores/alert-effects.ts";
import { logger } from "../adapters/observability.ts";
import type { EffectKind, OwedEffect } from "../domain/alerts/lifecycle.ts";
import type { Clock } from "../domain/clock.ts";
import { UnavailableError } from "../domain/errors.ts";

// The effects outbox at run time. A statement that changes alerts writes the effects it owes in the
// same transaction (see adapters/db/stores/alert-effects.ts); the use case that ran it dispatches them
// right after the commit; housekeeping sweeps those a crash or a failure left pending. Every handler
// is idempotent: an effect may run more than once (a sweep racing a slow request, a retried request
// picking up an owed effect), and its result happens once.

/** Runs one kind of effect, for a batch of effects of that kind. */
export interface EffectHandler {
  /**
   * May return effects it wrote itself (routing writes the escalation starts it chose): they run
   * right after, as effects of their own (a failure is theirs, retried on its own; this one is done).
   */
  run(effects: readonly OwedEffect[]): Promise<void | readonly OwedEffect[]>;
  /** The handler marks its effects done itself (in the statement that does its work: one round trip less). */
  readonly completesItself?: boolean;
  /**
   * Whether the request that owes it fails (503, the sender retries) when it cannot run: a start of
   * an escalation must not be silently late; a stop is only logged (every step re-checks the alert).
   */
  readonly critical: boolean;
}

/**
 * Thrown by a handler that ran its batch effect by effect and failed only some of them (the others
 * ran, and are marked done unless the handler completes its effects itself): only those are recorded
 * as failed, counted by the sweep and named in the 503.
 */
export class EffectsPartlyFailed extends UnavailableError {
  /** Ids of the effects of the batch that failed (still pending). */
  readonly effectIds: ReadonlySet<number>;
  constructor(message: string, effectIds: ReadonlySet<number>) {
    super(message);
    this.effectIds = effectIds;
  }
}

/** One handler per effect kind: a Record, so a new kind does not compile until it has one. */
export type EffectRegistry = Readonly<Record<EffectKind, EffectHandler>>;

export interface EffectDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly registry: EffectRegistry;
}

/** How long a sweep holds the effects it took before another sweep may take them. */
const sweepLeaseMs = 120_000;
/** Failed runs after which an effect is given up (`failed`, kept for an operator): about a day. */
const maxEffectAttempts = 300;

/** Seconds before a failed effect is tried again: 5 s doubling per attempt, at most 5 minutes. */
export function effectRetryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.min(attempts, 10), 300_000);
}

/**
 * Runs `effects` (grouped by kind, kinds one after the other in registry order) and marks those
 * that ran done. A failure is recorded on its effects (retried later by a request of the same
 * service or by housekeeping).
 *
 * @throws UnavailableError when a critical effect could not run (the caller answers 503).
 */
export async function dispatchEffects(deps: EffectDeps, effects: readonly OwedEffect[]): Promise<void> {
  if (effects.length === 0) return;
  const failed = await runEffects(deps, effects);
  const critical = failed.filter((f) => deps.registry[f.kind].critical);
  if (critical.length > 0) {
    throw new UnavailableError(
      `the reaction to alert ${critical.flatMap((f) => f.alertIds).join(", ")} could not run; retry the request`,
    );
  }
}

/**
 * Housekeeping: runs pending effects that are due (left by a crash, or failed before), at most
 * `limit`. `everything` takes all pending ones at once (the embedded runtime at start, when no other
 * process can be running them).
 */
export async function sweepEffects(
  deps: EffectDeps,
  options: { limit: number; everything?: boolean },
): Promise<{ ran: number; failed: number }> {
  const now = deps.clock.now();
  const claimed = await claimDueEffects(deps.db, {
    now: options.everything ? new Date(now.getTime() + EFFECT_GRACE_MS + 86_400_000) : now,
    leaseMs: sweepLeaseMs,
    limit: options.limit,
  });
  const failed = await runEffects(deps, claimed);
  const failedIds = new Set(failed.map((f) => f.id));
  return { ran: claimed.filter((c) => !failedIds.has(c.id)).length, failed: failed.length };
}

/**
 * Runs the pending effects of `kind` owed for `alertIds` now (a task that wrote them runs them at once
 * instead of leaving them to the sweep). Never throws: what fails stays pending for housekeeping.
 */
export async function runOwedEffectsOfAlerts(
  deps: EffectDeps,
  kind: EffectKind,
  alertIds: readonly number[],
): Promise<void> {
  try {
    const owed = await pendingEffectsOfAlerts(deps.db, { kind, alertIds, limit: 100 });
    await runEffects(deps, owed);
  } catch (error) {
    logger.warn("owed effects could not run now; housekeeping runs them", {
      kind,
      alertIds,
      error: error as Error,
    });
  }
}

/** Deletes effects that finished more than a day ago (bounded per call). */
export function purgeEffects(deps: EffectDeps, limit: number): Promise<number> {
  return purgeFinishedEffects(deps.db, { before: new Date(deps.clock.now().getTime() - 86_400_000), limit });
}

/**
 * Runs `effects` and the effects they wrote in turn; returns those that failed (follow-ups included).
 * What ran is marked done in one statement after every kind ran (an escalating request owes a start
 * and a delivery: one round trip, not two); a crash before it leaves them pending, to run again
 * (every handler is idempotent).
 */
async function runEffects(deps: EffectDeps, effects: readonly OwedEffect[]): Promise<OwedEffect[]> {
  const failed: OwedEffect[] = [];
  const followUps: OwedEffect[] = [];
  const ran: number[] = [];
  for (const kind of Object.keys(deps.registry) as EffectKind[]) {
    const batch = effects.filter((e) => e.kind === kind);
    if (batch.length === 0) continue;
    const handler = deps.registry[kind];
    try {
      const written = await handler.run(batch);
      if (!handler.completesItself) ran.push(...batch.map((e) => e.id));
      if (written) followUps.push(...written);
    } catch (error) {
      const partly = error instanceof EffectsPartlyFailed;
      const failedOnes = partly ? batch.filter((e) => error.effectIds.has(e.id)) : batch;
      if (partly && !handler.completesItself) {
        ran.push(...batch.filter((e) => !error.effectIds.has(e.id)).map((e) => e.id));
      }
      failed.push(...failedOnes);
      await recordFailure(deps, failedOnes, error);
    }
  }
  if (ran.length > 0) await completeTogether(deps.db, ran, deps.clock.now());
  if (followUps.length > 0) failed.push(...(await runEffects(deps, followUps)));
  return failed;
}

/** Completions waiting for the statement in flight to finish, per database. */
const completions = new WeakMap<Kysely<Database>, { waiting: Completion[]; running: boolean }>();

interface Completion {
  readonly ids: readonly number[];
  readonly now: Date;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Marks effects done, together with the completions of other requests that arrive while one is
 * being written (issue 10): concurrent requests that each started an escalation share one
 * statement (and one commit) instead of queueing one each behind the ingest statements. The first
 * runs at once; each caller returns once its own ids are marked, or gets the statement's error.
 */
function completeTogether(db: Kysely<Database>, ids: readonly number[], now: Date): Promise<void> {
  let queue = completions.get(db);
  if (!queue) {
    queue = { waiting: [], running: false };
    completions.set(db, queue);
  }
  const pending = new Promise<void>((resolve, reject) => queue.waiting.push({ ids, now, resolve, reject }));
  if (!queue.running) void writeCompletions(db, queue);
  return pending;
}

async function writeCompletions(db: Kysely<Database>, queue: { waiting: Completion[]; running: boolean }) {
  queue.running = true;
  try {
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0);
      const now = new Date(Math.max(...batch.map((c) => c.now.getTime())));
      try {
        await completeEffects(db, { ids: batch.flatMap((c) => c.ids), now });
        for (const c of batch) c.resolve();
      } catch (error) {
        for (const c of batch) c.reject(error);
      }
    }
  } finally {
    queue.running = false;
  }
}

async function recordFailure(deps: EffectDeps, batch: readonly OwedEffect[], error: unknown): Promise<void> {
  if (batch.length === 0) return;
  const now = deps.clock.now();
  const attempts = Math.max(...batch.map((e) => e.attempts));
  logger.error("effect failed; it is tried again later", {
    kind: batch[0]?.kind,
    effectIds: batch.map((e) => e.id),
    attempts: attempts + 1,
    error: error as Error,
  });
  try {
    await recordEffectFailure(deps.db, {
      ids: batch.map((e) => e.id),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      now,
      retryAt: new Date(now.getTime() + effectRetryDelayMs(attempts)),
      maxAttempts: maxEffectAttempts,
    });
  } catch (recordError) {
    // The effect stays pending as it was: housekeeping takes it when it is due.
    logger.error("could not record an effect failure", { error: recordError as Error });
  }
}
