/**
 * The two use cases behind the escalation task handlers: run the due step of an alert's escalation,
 * and record a step that failed. Both are idempotent: the state machine may run them again (Retry,
 * a resumed execution, two executions racing after a manual escalation), and a step is recorded and
 * notified at most once because the store advances the state only from the position that was read.
 */
import type { Clock } from "../clock.ts";
import type {
  AlertStatus,
  EscalationPolicy,
  EscalationPosition,
  EscalationState,
  EscalationTarget,
  TargetResolution,
} from "./model.ts";
import { decide, failureRetryDelaySeconds, planStep, type StepPlan } from "./plan.ts";

export interface LoadedEscalation {
  readonly state: EscalationState;
  readonly alertStatus: AlertStatus;
  /** Undefined when the policy no longer exists. */
  readonly policy: EscalationPolicy | undefined;
}

/** What running a step needs from the outside world. */
export interface EscalationStepPorts {
  readonly clock: Clock;
  /** The alert's escalation state, its status and its policy; undefined when it has no escalation. */
  load(alertId: number): Promise<LoadedEscalation | undefined>;
  /** Who each target stands for at `at`, in the order of `targets`. */
  resolve(targets: readonly EscalationTarget[], at: Date): Promise<TargetResolution[]>;
  /**
   * Records the step (notifications, alert log) and moves to `plan.next`, atomically, only if the
   * escalation is still active at `from` and the alert still triggered. False when it was not.
   */
  commit(alertId: number, from: EscalationPosition, plan: StepPlan, now: Date): Promise<boolean>;
  /** Ends the escalation (`stopped` / `completed`) if it is still active at `from`. */
  finish(
    alertId: number,
    from: EscalationPosition,
    status: "stopped" | "completed",
    reason: string,
    now: Date,
  ): Promise<boolean>;
}

/** The task's answer to the state machine: end, or wait until `nextStepAt` and run again. */
export interface StepOutcome {
  readonly done: boolean;
  readonly nextStepAt: Date | null;
}

/** How often a run re-reads the state after losing a race to another run before giving up the turn. */
const maxAttempts = 3;

/**
 * Runs the due step of the alert's escalation, if any: re-checks the alert (an acknowledged or
 * resolved alert notifies no one, even when the stop of the workflow was lost), resolves the step's
 * targets at this moment, records the notifications or "no one to notify", and advances.
 *
 * @example const { done, nextStepAt } = await runEscalationStep(ports, 42);
 */
export async function runEscalationStep(ports: EscalationStepPorts, alertId: number): Promise<StepOutcome> {
  for (let attempt = 1; ; attempt++) {
    const loaded = await ports.load(alertId);
    if (!loaded?.policy) return { done: true, nextStepAt: null };
    const { state, alertStatus, policy } = loaded;
    const now = ports.clock.now();
    const decision = decide(policy, state, alertStatus, now);
    switch (decision.action) {
      case "done":
        return { done: true, nextStepAt: null };
      case "wait":
        return { done: false, nextStepAt: decision.until };
      case "finish":
        if (await ports.finish(alertId, state, decision.status, decision.reason, now)) {
          return { done: true, nextStepAt: null };
        }
        break;
      case "run": {
        const resolutions = await ports.resolve(decision.step.targets, now);
        const plan = planStep(policy, decision.position, resolutions, now);
        if (await ports.commit(alertId, state, plan, now)) {
          return { done: plan.next.status !== "active", nextStepAt: plan.next.nextStepAt };
        }
        break;
      }
    }
    // Another run moved the state between our read and our write: read it again.
    if (attempt >= maxAttempts) {
      const current = await ports.load(alertId);
      const active = current?.state.status === "active";
      return { done: !active, nextStepAt: active ? (current?.state.nextStepAt ?? now) : null };
    }
  }
}

/** What recording a failure needs. */
export interface EscalationFailurePorts {
  readonly clock: Clock;
  /**
   * Stores the error on the escalation and the alert log, if the escalation is still active and the
   * alert triggered; returns how many failures in a row there have been, or undefined when it is over.
   */
  recordFailure(
    alertId: number,
    error: { name: string; cause: string },
    now: Date,
  ): Promise<number | undefined>;
}

/**
 * A step failed after the workflow's retries: log it on the alert and answer when to try again, so
 * that the escalation keeps going instead of dying with the execution.
 */
export async function recordEscalationFailure(
  ports: EscalationFailurePorts,
  alertId: number,
  error: { name: string; cause: string },
): Promise<StepOutcome> {
  const now = ports.clock.now();
  const failures = await ports.recordFailure(alertId, error, now);
  if (failures === undefined) return { done: true, nextStepAt: null };
  return { done: false, nextStepAt: new Date(now.getTime() + failureRetryDelaySeconds(failures) * 1000) };
}
