/**
 * The two use cases behind the escalation task handlers: run the due step of a cohort's escalations
 * (the alerts that share one execution), and record a step that failed. Both are idempotent: the
 * state machine may run them again (Retry, a resumed execution, two executions racing after a manual
 * escalation), and a step is recorded and notified at most once per alert because the store advances
 * each alert's state only from the position that was read.
 */
import type { Clock } from "../clock.ts";
import type {
  AlertStatus,
  EscalationPolicy,
  EscalationPosition,
  EscalationState,
  EscalationStep,
  EscalationTarget,
  TargetResolution,
} from "./model.ts";
import { decide, failureRetryDelaySeconds, planStep, type StepPlan } from "./plan.ts";

/** One active escalation of a cohort, as loaded: the alert's state, its status and its policy's id. */
export interface CohortMember {
  readonly alertId: number;
  readonly policyId: string;
  readonly state: EscalationState;
  readonly alertStatus: AlertStatus;
}

export interface LoadedCohort {
  /** The cohort's active escalations (at most a page: see `truncated`), soonest due first. */
  readonly members: readonly CohortMember[];
  /** The members' policies by id; a policy that no longer exists is missing. */
  readonly policies: ReadonlyMap<string, EscalationPolicy>;
  /** More active members exist than were loaded: run again at once after this turn. */
  readonly truncated: boolean;
}

/** Alerts that run the same step (same policy and position): one plan, one set of resolved targets. */
export interface CohortStepGroup {
  readonly plan: StepPlan;
  /** Each alert with the position it was read at (the compare-and-set). */
  readonly members: readonly { readonly alertId: number; readonly from: EscalationPosition }[];
}

/** An escalation to end without notifying anyone. */
export interface CohortFinish {
  readonly alertId: number;
  readonly from: EscalationPosition;
  readonly status: "stopped" | "completed";
  readonly reason: string;
}

/** What running a step needs from the outside world. */
export interface EscalationStepPorts {
  readonly clock: Clock;
  /** The active escalations named `executionName`, with their alerts' status and their policies. */
  load(executionName: string): Promise<LoadedCohort>;
  /** Who each target stands for at `at`, in the order of `targets`. */
  resolve(targets: readonly EscalationTarget[], at: Date): Promise<TargetResolution[]>;
  /**
   * Records every group's step for its members (notifications, alert log) and moves each to its
   * plan's `next`, atomically, each only if it is still active at its `from` and its alert still
   * triggered. Answers the alerts that advanced.
   */
  commit(groups: readonly CohortStepGroup[], now: Date): Promise<ReadonlySet<number>>;
  /** Ends each escalation (`stopped` / `completed`) if it is still active at its `from`; answers those ended. */
  finish(members: readonly CohortFinish[], now: Date): Promise<ReadonlySet<number>>;
}

/** The task's answer to the state machine: end, or wait until `nextStepAt` and run again. */
export interface StepOutcome {
  readonly done: boolean;
  readonly nextStepAt: Date | null;
}

/** A step due for some members of a cohort: the step to run and who runs it. */
export interface DueStep {
  readonly policy: EscalationPolicy;
  readonly position: EscalationPosition;
  readonly step: EscalationStep;
  readonly members: readonly { readonly alertId: number; readonly from: EscalationPosition }[];
}

/** What a turn of a cohort does, decided per member by `decide`. */
export interface CohortDecision {
  /** Steps due now, one per (policy, position): targets are resolved once per entry. */
  readonly due: readonly DueStep[];
  readonly finishes: readonly CohortFinish[];
  /** When the members that are not due yet are due (capped like `decide`'s waits). */
  readonly waits: readonly Date[];
}

/**
 * Decides a cohort's turn: each member by `decide`; members due at the same position of the same
 * policy share one entry of `due` (the same step, targets resolved once). A member whose policy no
 * longer exists is left alone (its escalation goes with the policy).
 */
export function decideCohort(
  members: readonly CohortMember[],
  policies: ReadonlyMap<string, EscalationPolicy>,
  now: Date,
): CohortDecision {
  const due = new Map<string, DueStep & { members: { alertId: number; from: EscalationPosition }[] }>();
  const finishes: CohortFinish[] = [];
  const waits: Date[] = [];
  for (const member of members) {
    const policy = policies.get(member.policyId);
    if (!policy) continue;
    const decision = decide(policy, member.state, member.alertStatus, now);
    const from = { stepIndex: member.state.stepIndex, repeatCycle: member.state.repeatCycle };
    switch (decision.action) {
      case "done":
        break;
      case "wait":
        waits.push(decision.until);
        break;
      case "finish":
        finishes.push({ alertId: member.alertId, from, status: decision.status, reason: decision.reason });
        break;
      case "run": {
        const key = `${policy.id}\u0000${decision.position.repeatCycle}\u0000${decision.position.stepIndex}`;
        const entry = due.get(key);
        if (entry) entry.members.push({ alertId: member.alertId, from });
        else
          due.set(key, {
            policy,
            position: decision.position,
            step: decision.step,
            members: [{ alertId: member.alertId, from }],
          });
        break;
      }
    }
  }
  return { due: [...due.values()], finishes, waits };
}

/** How often a run re-reads the state after losing a race to another run before giving up the turn. */
const maxAttempts = 3;

/**
 * Runs the due step of every escalation of the cohort `executionName`: re-checks each alert (an
 * acknowledged or resolved one notifies no one, even when the stop of the workflow was lost),
 * resolves each due step's targets once at this moment, records every member's notifications or "no
 * one to notify" and advances them, in one commit. Answers when the next member is due; done when no
 * member is active any more.
 *
 * @example const { done, nextStepAt } = await runEscalationStep(ports, "cohort-10-3f2a9c1b");
 */
export async function runEscalationStep(
  ports: EscalationStepPorts,
  executionName: string,
): Promise<StepOutcome> {
  for (let attempt = 1; ; attempt++) {
    const { members, policies, truncated } = await ports.load(executionName);
    const now = ports.clock.now();
    const { due, finishes, waits } = decideCohort(members, policies, now);
    const groups = await Promise.all(
      due.map(async ({ policy, position, step, members }) => ({
        plan: planStep(policy, position, await ports.resolve(step.targets, now), now),
        members,
      })),
    );
    const [advanced, finished] = await Promise.all([
      groups.length > 0 ? ports.commit(groups, now) : new Set<number>(),
      finishes.length > 0 ? ports.finish(finishes, now) : new Set<number>(),
    ]);
    const raced =
      groups.some((g) => g.members.some((m) => !advanced.has(m.alertId))) ||
      finishes.some((f) => !finished.has(f.alertId));
    if (!raced) {
      const next = [...waits];
      for (const { plan } of groups) if (plan.next.status === "active") next.push(plan.next.nextStepAt!);
      // More members than a page: the next page may be due now.
      if (truncated) {
        return {
          done: false,
          nextStepAt: groups.length + finishes.length > 0 ? now : (earliest(next) ?? now),
        };
      }
      return next.length > 0 ? { done: false, nextStepAt: earliest(next) } : { done: true, nextStepAt: null };
    }
    // Another run (or an acknowledge) moved some member between our read and our write: read again.
    if (attempt >= maxAttempts) {
      const current = await ports.load(executionName);
      if (current.members.length === 0) return { done: true, nextStepAt: null };
      return {
        done: false,
        nextStepAt: earliest(current.members.map((m) => m.state.nextStepAt ?? now)) ?? now,
      };
    }
  }
}

function earliest(dates: readonly Date[]): Date | null {
  let min: Date | null = null;
  for (const d of dates) if (min === null || d.getTime() < min.getTime()) min = d;
  return min;
}

/** What recording a failure needs. */
export interface EscalationFailurePorts {
  readonly clock: Clock;
  /**
   * Stores the error on the cohort's active escalations and their alerts' logs (alerts still
   * triggered); returns how many failures in a row there have been (the most of any member), or
   * undefined when none is active any more.
   */
  recordFailure(
    executionName: string,
    error: { name: string; cause: string },
    now: Date,
  ): Promise<number | undefined>;
}

/**
 * A step failed after the workflow's retries: log it on the alerts and answer when to try again, so
 * that the escalation keeps going instead of dying with the execution.
 */
export async function recordEscalationFailure(
  ports: EscalationFailurePorts,
  executionName: string,
  error: { name: string; cause: string },
): Promise<StepOutcome> {
  const now = ports.clock.now();
  const failures = await ports.recordFailure(executionName, error, now);
  if (failures === undefined) return { done: true, nextStepAt: null };
  return { done: false, nextStepAt: new Date(now.getTime() + failureRetryDelaySeconds(failures) * 1000) };
}
