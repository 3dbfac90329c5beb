/**
 * What one run of the escalation task does, as pure functions of the policy, the stored state, the
 * alert's status and the time. `decide` says whether a step is due; `planStep` turns the resolved
 * targets of the due step into what to record (notifications or "no one to notify", the alert log
 * entry) and the state that follows.
 *
 * Timing: a step's delay is the wait after it, before the next step. After the last step the walk
 * starts over at step 0 while passes remain (`repeatCount` extra passes), waiting the last step's
 * delay first; after the last step of the last pass it completes at once. The next step is timed from
 * when a step actually ran, so a step that runs late (a restart) does not shorten the next wait.
 */
import type {
  AlertStatus,
  EscalationPolicy,
  EscalationPosition,
  EscalationState,
  EscalationStep,
  Recipient,
  TargetResolution,
} from "./model.ts";

/**
 * The longest a not-yet-due run waits before looking again. A later `nextStepAt` is reached in
 * pieces: timers (Node's setTimeout, about 24.8 days at most) stay in range and a changed state is
 * picked up at least weekly.
 */
export const MAX_WAIT_MS = 7 * 24 * 3600 * 1000;

/**
 * Recipients one step notifies at most (targets × who they resolve to: a schedule with many
 * overrides can name hundreds). Those past the cap are not notified, and the alert log says how many.
 */
export const MAX_RECIPIENTS_PER_STEP = 100;

/** Longest pause before a failed step is tried again; the first retry comes after 30 s, doubling. */
export const MAX_FAILURE_RETRY_SECONDS = 300;

export type StepDecision =
  /** Nothing to do or write: the escalation is already over. */
  | { readonly action: "done" }
  /** End the escalation without notifying anyone. */
  | {
      readonly action: "finish";
      readonly status: "stopped" | "completed";
      readonly reason: "alert_acknowledged" | "alert_resolved" | "policy_exhausted";
    }
  /** The step is not due yet (an execution woke early, e.g. resumed after a restart). */
  | { readonly action: "wait"; readonly until: Date }
  /** Run `step`, which stands at `position` (the stored position, normalised to the policy as it is now). */
  | { readonly action: "run"; readonly position: EscalationPosition; readonly step: EscalationStep };

/**
 * Whether a step is due now, and which one.
 *
 * @example
 * const d = decide(policy, state, "triggered", clock.now());
 * if (d.action === "run") resolve(d.step.targets);
 */
export function decide(
  policy: EscalationPolicy,
  state: EscalationState,
  alertStatus: AlertStatus,
  now: Date,
): StepDecision {
  if (state.status !== "active") return { action: "done" };
  if (alertStatus !== "triggered") {
    return {
      action: "finish",
      status: "stopped",
      reason: alertStatus === "acknowledged" ? "alert_acknowledged" : "alert_resolved",
    };
  }
  if (state.nextStepAt && now.getTime() < state.nextStepAt.getTime()) {
    return {
      action: "wait",
      until: new Date(Math.min(state.nextStepAt.getTime(), now.getTime() + MAX_WAIT_MS)),
    };
  }
  const { steps } = policy;
  // A policy without steps still leaves a trace: its one "step" has no one to notify.
  if (steps.length === 0) {
    return state.stepIndex === 0
      ? { action: "run", position: state, step: { delaySeconds: 0, targets: [] } }
      : { action: "finish", status: "completed", reason: "policy_exhausted" };
  }
  // The policy may have lost steps since the last one ran: past its end means the pass is over.
  if (state.stepIndex < steps.length) {
    return { action: "run", position: state, step: steps[state.stepIndex]! };
  }
  if (state.repeatCycle < policy.repeatCount) {
    return { action: "run", position: { stepIndex: 0, repeatCycle: state.repeatCycle + 1 }, step: steps[0]! };
  }
  return { action: "finish", status: "completed", reason: "policy_exhausted" };
}

/** Why a recipient is notified: every target of the step that named them. */
export interface NotificationReason {
  readonly stepIndex: number;
  readonly repeatCycle: number;
  readonly via: readonly { readonly kind: string; readonly id: string }[];
}

export interface PlannedNotification {
  readonly recipient: Recipient;
  readonly reason: NotificationReason;
}

/** An alert log entry. `type` is `escalated` or `no_one_to_notify`. */
export interface StepEvent {
  readonly type: "escalated" | "no_one_to_notify";
  readonly message: string;
  readonly data: {
    /**
     * The policy walked (a first step taken as the escalation opens has no `escalation_started`
     * entry before it to name it).
     */
    readonly policyId: string;
    readonly stepIndex: number;
    readonly repeatCycle: number;
    readonly notified: readonly Recipient[];
    /** Targets that gave no one, and why. */
    readonly unresolved: readonly { kind: string; id: string; problem: string; detail?: string }[];
    /** Set when the step resolved to more than MAX_RECIPIENTS_PER_STEP: how many were left out. */
    readonly overCap?: { readonly limit: number; readonly notNotified: number };
  };
}

export interface StepPlan {
  /** The step that runs. */
  readonly position: EscalationPosition;
  /** One per distinct recipient, in the order the targets name them. Empty: no one to notify. */
  readonly notifications: readonly PlannedNotification[];
  readonly event: StepEvent;
  /** The state after this step. */
  readonly next: EscalationState;
}

/**
 * The record of running the step at `position` with its targets resolved at `now`, and the state
 * that follows. A step whose targets give no one is recorded as `no_one_to_notify`, never skipped
 * silently; the walk goes on to the next step either way.
 *
 * @example
 * const plan = planStep(policy, { stepIndex: 0, repeatCycle: 0 }, resolutions, now);
 * plan.next.nextStepAt; // now + steps[0].delaySeconds
 */
export function planStep(
  policy: EscalationPolicy,
  position: EscalationPosition,
  resolutions: readonly TargetResolution[],
  now: Date,
): StepPlan {
  const { stepIndex, repeatCycle } = position;
  const byRecipient = new Map<string, { recipient: Recipient; via: { kind: string; id: string }[] }>();
  const unresolved: StepEvent["data"]["unresolved"][number][] = [];
  for (const r of resolutions) {
    const via = { kind: r.target.kind, id: r.target.id };
    if (r.recipients.length === 0) {
      unresolved.push({
        ...via,
        problem: r.problem ?? "no_one_on_call",
        ...(r.detail ? { detail: r.detail } : {}),
      });
    }
    for (const recipient of r.recipients) {
      const key = `${recipient.kind}\u0000${recipient.id}`;
      const entry = byRecipient.get(key);
      if (!entry) byRecipient.set(key, { recipient: { kind: recipient.kind, id: recipient.id }, via: [via] });
      else if (!entry.via.some((v) => v.kind === via.kind && v.id === via.id)) entry.via.push(via);
    }
  }
  const everyone = [...byRecipient.values()];
  const notifications = everyone.slice(0, MAX_RECIPIENTS_PER_STEP).map(({ recipient, via }) => ({
    recipient,
    reason: { stepIndex, repeatCycle, via },
  }));
  const notified = notifications.map((n) => n.recipient);
  const notNotified = everyone.length - notifications.length;
  const overCap = notNotified > 0 ? { overCap: { limit: MAX_RECIPIENTS_PER_STEP, notNotified } } : {};

  const stepCount = Math.max(policy.steps.length, 1);
  const where = `Step ${stepIndex + 1} of ${stepCount}, pass ${repeatCycle + 1} of ${policy.repeatCount + 1}`;
  const event: StepEvent =
    notified.length > 0
      ? {
          type: "escalated",
          message: `${where}: notified ${notified.map(describe).join(", ")}${
            notNotified > 0
              ? `; ${notNotified} more recipient${notNotified === 1 ? "" : "s"} not notified (at most ${MAX_RECIPIENTS_PER_STEP} per step)`
              : ""
          }`,
          data: { policyId: policy.id, stepIndex, repeatCycle, notified, unresolved, ...overCap },
        }
      : {
          type: "no_one_to_notify",
          message: `${where}: no one to notify (${
            unresolved.length === 0
              ? "the step has no targets"
              : unresolved.map((u) => `${u.kind} ${u.id}: ${u.problem.replaceAll("_", " ")}`).join("; ")
          })`,
          data: { policyId: policy.id, stepIndex, repeatCycle, notified, unresolved },
        };

  const delayMs = (policy.steps[stepIndex]?.delaySeconds ?? 0) * 1000;
  const after = new Date(now.getTime() + delayMs);
  let next: EscalationState;
  if (stepIndex + 1 < policy.steps.length) {
    next = { status: "active", stepIndex: stepIndex + 1, repeatCycle, nextStepAt: after };
  } else if (repeatCycle < policy.repeatCount && policy.steps.length > 0) {
    next = { status: "active", stepIndex: 0, repeatCycle: repeatCycle + 1, nextStepAt: after };
  } else {
    next = { status: "completed", stepIndex: stepCount, repeatCycle, nextStepAt: null };
  }
  return { position, notifications, event, next };
}

function describe(r: Recipient): string {
  return `${r.kind} ${r.id}`;
}

/**
 * Seconds before a step that failed (after the workflow's own retries) is tried again: 30 s after the
 * first failure in a row, doubling, at most {@link MAX_FAILURE_RETRY_SECONDS}. Paging must go on, so
 * the escalation never gives up on its own.
 */
export function failureRetryDelaySeconds(consecutiveFailures: number): number {
  const n = Math.max(1, Math.floor(consecutiveFailures));
  return Math.min(MAX_FAILURE_RETRY_SECONDS, 30 * 2 ** Math.min(n - 1, 10));
}
