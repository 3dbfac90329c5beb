import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import { loadEscalationPolicy } from "../adapters/db/stores/escalation-policies.ts";
import {
  commitStep,
  finishEscalation,
  loadEscalation,
  recordStepFailure,
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

/** The ports of runEscalationStep over the database. */
export function createEscalationStepPorts({ db, clock, notified }: EscalationTaskDeps): EscalationStepPorts {
  return {
    clock,
    async load(alertId) {
      const found = await loadEscalation(db, alertId);
      if (!found) return undefined;
      const { escalation, alertStatus } = found;
      return { state: escalation, alertStatus, policy: await loadEscalationPolicy(db, escalation.policyId) };
    },
    resolve: (targets, at) => resolveTargets(db, targets, at),
    async commit(alertId, from, plan, now) {
      const committed = await commitStep(db, { alertId, from, plan, now });
      // delivery (issue 12): plan the step's deliveries now rather than at housekeeping's sweep.
      if (committed && plan.notifications.length > 0) await notified?.([alertId]);
      return committed;
    },
    finish: (alertId, from, status, reason, now) =>
      finishEscalation(db, { alertId, from, status, reason, now }),
  };
}

/** The ports of recordEscalationFailure over the database. */
export function createEscalationFailurePorts({ db, clock }: EscalationTaskDeps): EscalationFailurePorts {
  return {
    clock,
    recordFailure: (alertId, error, now) => recordStepFailure(db, { alertId, error, now }),
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
