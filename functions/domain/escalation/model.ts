/**
 * The escalation model: a policy (ordered steps, each with targets and a delay, repeated
 * `repeatCount` more times) walked by one escalation per alert. The walk's position lives in the
 * database; the pure functions in ./plan.ts decide what one step does.
 */

/** Whom a step notifies: a user, whoever is on call in a schedule, a rotation's current participant, a channel. */
export interface EscalationTarget {
  readonly kind: "user" | "schedule" | "rotation" | "channel";
  readonly id: string;
}

export interface EscalationStep {
  /** Seconds to wait after this step notifies, before the next step. */
  readonly delaySeconds: number;
  readonly targets: readonly EscalationTarget[];
}

export interface EscalationPolicy {
  readonly id: string;
  /** How many more passes over the steps after the first (0 = once through). */
  readonly repeatCount: number;
  readonly steps: readonly EscalationStep[];
}

export type EscalationStatus = "active" | "stopped" | "completed" | "failed";

export type { AlertStatus } from "../alerts/lifecycle.ts";

/** Where an escalation stands: the step to run next, in which pass over the policy. */
export interface EscalationPosition {
  /** 0-based; `steps.length` once the walk has completed. */
  readonly stepIndex: number;
  /** 0-based pass over the policy. */
  readonly repeatCycle: number;
}

export interface EscalationState extends EscalationPosition {
  readonly status: EscalationStatus;
  /** When the step at `stepIndex` is due; null once the escalation is over. */
  readonly nextStepAt: Date | null;
}

/** Someone (or something) a notification goes to: users by their kneutral-api id, channels by id. */
export interface Recipient {
  readonly kind: "user" | "channel";
  readonly id: string;
}

/** Why a target gave no one to notify. */
export type TargetProblem =
  /** The schedule or rotation no longer exists. */
  | "not_found"
  /** The schedule has no one on call at the step's time. */
  | "no_one_on_call"
  /** The rotation has not started yet (or has no participant). */
  | "rotation_not_started"
  /** Resolving the target failed for a reason that retrying will not fix; `detail` says which. */
  | "error";

/** What one target of a step stood for when the step ran. */
export interface TargetResolution {
  readonly target: EscalationTarget;
  readonly recipients: readonly Recipient[];
  readonly problem?: TargetProblem;
  readonly detail?: string;
}

export interface StartOptions {
  /** When the cohort's next step is due (its first step is recorded already). */
  readonly waitUntil?: Date | undefined;
}

/** The input of an escalation execution (state-machines/escalation.asl.json). */
export function executionInput(executionName: string, options?: StartOptions) {
  return options?.waitUntil
    ? { executionName, step: { done: false, nextStepAt: options.waitUntil.toISOString() } }
    : { executionName };
}

/**
 * Starts and stops the workflows that walk escalations (Step Functions on AWS, the same ASL run
 * in-process by the embedded runtime). One execution walks a **cohort**: the escalations that share
 * its name (alerts of one service started together along one policy); their state stays per alert in
 * the database. Executions are named: starting a name that is already running does nothing, stopping
 * a name that is not running does nothing.
 */
export interface EscalationRunner {
  /**
   * Starts the execution `executionName` (input `{ executionName }`); resolves with its id (an ARN on
   * AWS). With `waitUntil` its first step is recorded already (by the statement that opened the
   * cohort): input `{ executionName, step: { done: false, nextStepAt } }`, and the execution begins by
   * waiting until then instead of running a step.
   */
  start(executionName: string, options?: StartOptions): Promise<string>;
  stop(executionName: string): Promise<void>;
}
