import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import {
  commitCohortStep,
  executionNameOf,
  finishCohortMembers,
  loadCohort,
  recordCohortFailure,
} from "../adapters/db/stores/escalations.ts";
import { getRotation } from "../adapters/db/stores/rotations.ts";
import { loadOnCallContext } from "../adapters/db/stores/schedules.ts";
import type { Clock } from "../domain/clock.ts";
import { DomainError } from "../domain/errors.ts";
import type {
  EscalationFailurePorts,
  EscalationStepPorts,
  EscalationTarget,
  TargetResolution,
} from "../domain/escalation/index.ts";
import { onCallAt, rotationShiftAt } from "../domain/schedules/index.ts";

/** What the escalation tasks need: the database and the time. A subset of AppContext. */
export interface EscalationTaskDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /**
   * delivery (issue 12): called after a step recorded notifications for these alerts, to plan their
   * deliveries at once (the `notifications.deliver` effect the step wrote); never throws.
   */
  readonly notified?: ((alertIds: readonly number[]) => Promise<void>) | undefined;
}

/** The ports of runEscalationStep over the database: a cohort's turn costs O(1) statements. */
export function createEscalationStepPorts({ db, clock, notified }: EscalationTaskDeps): EscalationStepPorts {
  return {
    clock,
    // One statement: the members and their policy (one start, one policy).
    load: (executionName) => loadCohort(db, executionName),
    resolve: (targets, at) => resolveTargets(db, targets, at),
    async commit(groups, now) {
      const advanced = await commitCohortStep(db, { groups, now });
      // delivery (issue 12): plan the turn's deliveries now rather than at housekeeping's sweep.
      const notifiedIds = groups
        .filter(({ plan }) => plan.notifications.length > 0)
        .flatMap(({ members }) => members.map((m) => m.alertId))
        .filter((id) => advanced.has(id));
      if (notifiedIds.length > 0) await notified?.(notifiedIds);
      return advanced;
    },
    finish: (members, now) => finishCohortMembers(db, { members, now }),
  };
}

/**
 * The execution a task input names: `{ executionName }` itself; the one-alert shape `{ alertId }` of
 * executions started before cohorts names its alert's execution (undefined: the alert has none).
 */
export async function executionNameOfTask(
  { db }: EscalationTaskDeps,
  input: { readonly executionName: string } | { readonly alertId: number },
): Promise<string | undefined> {
  return "executionName" in input ? input.executionName : executionNameOf(db, input.alertId);
}

/** The ports of recordEscalationFailure over the database. */
export function createEscalationFailurePorts({ db, clock }: EscalationTaskDeps): EscalationFailurePorts {
  return {
    clock,
    recordFailure: (executionName, error, now) => recordCohortFailure(db, { executionName, error, now }),
  };
}

/**
 * Who each target stands for at `at`: a user or a channel is itself; a schedule is whoever is on call
 * (rules and overrides); a rotation is its current participant. A target that cannot give anyone says
 * why (`problem`) instead of failing the step; only database errors propagate (they are transient).
 * Schedules and rotations load concurrently.
 */
export function resolveTargets(
  db: Kysely<Database>,
  targets: readonly EscalationTarget[],
  at: Date,
): Promise<TargetResolution[]> {
  return Promise.all(targets.map((target) => resolveTarget(db, target, at)));
}

async function resolveTarget(
  db: Kysely<Database>,
  target: EscalationTarget,
  at: Date,
): Promise<TargetResolution> {
  switch (target.kind) {
    case "user":
      return { target, recipients: [{ kind: "user", id: target.id }] };
    case "channel":
      return { target, recipients: [{ kind: "channel", id: target.id }] };
    case "schedule": {
      const context = await loadOnCallContext(db, target.id, at, new Date(at.getTime() + 1));
      if (!context) return { target, recipients: [], problem: "not_found" };
      return computed(target, () => {
        const users = onCallAt(context.schedule, context.rotations, context.overrides, at);
        return users.length > 0
          ? { target, recipients: users.map((u) => ({ kind: "user" as const, id: u.userId })) }
          : { target, recipients: [], problem: "no_one_on_call" };
      });
    }
    case "rotation": {
      const rotation = await getRotation(db, target.id);
      if (!rotation) return { target, recipients: [], problem: "not_found" };
      return computed(target, () => {
        const shift = rotationShiftAt(rotation, at);
        return shift
          ? { target, recipients: [{ kind: "user", id: shift.userId }] }
          : { target, recipients: [], problem: "rotation_not_started" };
      });
    }
    default:
      return {
        target,
        recipients: [],
        problem: "error",
        detail: `unknown target kind ${String(target.kind)}`,
      };
  }
}

/** A stored schedule or rotation the domain refuses (invalid data) gives no one, and says why. */
function computed(target: EscalationTarget, compute: () => TargetResolution): TargetResolution {
  try {
    return compute();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { target, recipients: [], problem: "error", detail: err.message };
  }
}
