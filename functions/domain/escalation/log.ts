import type { AlertEventType } from "../alerts/lifecycle.ts";
import type { AlertStatus, EscalationPosition, EscalationState } from "./model.ts";

/** An entry the escalation writes in the alert's log. */
export interface EscalationLogEntry {
  readonly type: AlertEventType;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

export function escalationStarted(policyId: string): EscalationLogEntry {
  return { type: "escalation_started", message: "Escalation started", data: { policyId } };
}

export function escalationCompleted(position: EscalationPosition, reason?: string): EscalationLogEntry {
  return {
    type: "escalation_completed",
    message: "Escalation completed: the policy has no further steps",
    data: reason === undefined ? { ...position } : { ...position, reason },
  };
}

export function escalationFailed(error: { name: string; cause: string }): EscalationLogEntry {
  const lastError = `${error.name}: ${error.cause}`.slice(0, 4000);
  return {
    type: "escalation_failed",
    message: `Escalation step failed: ${lastError}`.slice(0, 4000),
    data: { error: error.name, cause: error.cause.slice(0, 4000) },
  };
}

/** What an alert's escalation looks like when someone asks to escalate it by hand. */
export interface ManualEscalationContext {
  readonly alertStatus: AlertStatus;
  /** The alert's escalation, if it has one. */
  readonly current:
    | (EscalationState & { readonly policyId: string; readonly executionName: string })
    | undefined;
  /** The policy a new escalation would follow (today the service's; routing will decide), or null. */
  readonly policyId: string | null;
}

export type ManualEscalation =
  | {
      readonly outcome: "escalated";
      readonly policyId: string;
      /** The step that runs now. */
      readonly position: EscalationPosition;
      readonly executionName: string;
      /** The execution that was waiting, to stop, or null. */
      readonly previousExecutionName: string | null;
      readonly log: EscalationLogEntry;
    }
  | { readonly outcome: "not_triggered"; readonly alertStatus: AlertStatus }
  /** The alert has no escalation and no policy to start one. */
  | { readonly outcome: "no_policy" };

/**
 * A manual escalation: the pending step becomes due now, under a new execution name (asking twice
 * before the step ran names the same execution, so the second start is harmless). A completed
 * escalation starts one more pass at step 0; an alert without one starts at step 0 of `policyId`.
 */
export function planManualEscalation(alertId: number, context: ManualEscalationContext): ManualEscalation {
  if (context.alertStatus !== "triggered")
    return { outcome: "not_triggered", alertStatus: context.alertStatus };
  const { current } = context;
  const policyId = current?.policyId ?? context.policyId;
  if (!policyId) return { outcome: "no_policy" };
  const position: EscalationPosition =
    current === undefined
      ? { stepIndex: 0, repeatCycle: 0 }
      : current.status === "completed"
        ? { stepIndex: 0, repeatCycle: current.repeatCycle + 1 }
        : { stepIndex: current.stepIndex, repeatCycle: current.repeatCycle };
  return {
    outcome: "escalated",
    policyId,
    position,
    executionName: current === undefined ? executionNameFor(alertId) : executionNameFor(alertId, position),
    previousExecutionName: current?.executionName ?? null,
    log: {
      type: "escalated_manually",
      message: `Escalated by hand: step ${position.stepIndex + 1}, pass ${position.repeatCycle + 1} runs now`,
      data: { ...position },
    },
  };
}

/**
 * The execution name of an alert's escalation: `alert-<id>` for the first, `alert-<id>-c<pass>-s<step>`
 * for one started by hand at that position. Starting a name twice starts it once.
 */
export function executionNameFor(alertId: number, position?: EscalationPosition): string {
  return position === undefined
    ? `alert-${alertId}`
    : `alert-${alertId}-c${position.repeatCycle}-s${position.stepIndex}`;
}

/**
 * The execution name of a cohort: the escalations opened together for `alertIds` (one start of one
 * service's new alerts along one policy) share one execution. A cohort of one alert keeps the name it
 * always had (`alert-<id>`); a larger one is `cohort-<lowest id>-<nonce>`: the nonce (random, from
 * the caller) keeps two cohorts that raced for the same alerts apart, so a name never names an
 * execution that already ended (Step Functions would refuse to start it again).
 *
 * @example cohortExecutionName([12, 10, 11], "3f2a9c1b") // "cohort-10-3f2a9c1b"
 */
export function cohortExecutionName(alertIds: readonly number[], nonce: string): string {
  if (alertIds.length === 1) return executionNameFor(alertIds[0]!);
  return `cohort-${Math.min(...alertIds)}-${nonce}`;
}

/** Step Functions execution names: 1–80 characters; ours use only letters, digits, `-` and `_`. */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
