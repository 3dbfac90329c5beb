import { ValidationError } from "../errors.ts";

/**
 * What an escalation policy may ask for, checked when it is saved so that nothing is silently
 * dropped later. Field names are the API's (snake_case, `steps[1].delay_seconds`), prefixed by the
 * caller (`policy.` in UpdateEscalationPolicy).
 */

/** Times the whole policy may run again after its last step. */
export const MAX_REPEAT_COUNT = 20;
/** Steps in one policy. */
export const MAX_STEPS = 20;
/** Targets in one step. */
export const MAX_TARGETS = 50;
/** Longest wait after a step: one week (Step Functions would allow a year; no pager needs it). */
export const MAX_DELAY_SECONDS = 7 * 24 * 3600;
/**
 * Shortest wait after each step of a policy that repeats (GoAlert: one minute): with no wait, a
 * repeating policy pages everyone on it over and over within seconds.
 */
export const MIN_REPEAT_DELAY_SECONDS = 60;
/**
 * Targets one alert may page over the whole walk: targets of every step × passes. Bounds the
 * notifications of one alert together with the per-step recipient cap at run time.
 */
export const MAX_TARGET_PAGES_PER_ALERT = 500;

export interface PolicyShape {
  readonly repeatCount: number;
  readonly steps: readonly { readonly delaySeconds: number; readonly targets: readonly unknown[] }[];
}

/** `repeat_count` on its own: 0…MAX_REPEAT_COUNT. */
export function checkRepeatCount(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_REPEAT_COUNT) {
    throw new ValidationError(field, `must be from 0 to ${MAX_REPEAT_COUNT}`);
  }
  return value;
}

/** The steps on their own: count, delays and target counts. */
export function checkSteps(steps: PolicyShape["steps"], prefix: string): void {
  if (steps.length > MAX_STEPS)
    throw new ValidationError(`${prefix}steps`, `a policy has at most ${MAX_STEPS} steps`);
  steps.forEach((step, i) => {
    const f = `${prefix}steps[${i}]`;
    if (
      !Number.isInteger(step.delaySeconds) ||
      step.delaySeconds < 0 ||
      step.delaySeconds > MAX_DELAY_SECONDS
    ) {
      throw new ValidationError(`${f}.delay_seconds`, `must be from 0 to ${MAX_DELAY_SECONDS} seconds`);
    }
    if (step.targets.length === 0) {
      throw new ValidationError(
        `${f}.targets`,
        "a step needs at least one target (a user, schedule, rotation or channel)",
      );
    }
    if (step.targets.length > MAX_TARGETS) {
      throw new ValidationError(`${f}.targets`, `a step has at most ${MAX_TARGETS} targets`);
    }
  });
}

/**
 * The rules that tie repeat_count and the steps together: a repeating policy waits at least
 * MIN_REPEAT_DELAY_SECONDS after every step, and one alert pages at most MAX_TARGET_PAGES_PER_ALERT
 * targets. `changed` says which of the two the request set, so that the error names that field
 * (the stored other half was valid on its own).
 */
export function checkPolicy(policy: PolicyShape, prefix: string, changed: "steps" | "repeat_count"): void {
  if (policy.repeatCount > 0) {
    const quick = policy.steps.findIndex((s) => s.delaySeconds < MIN_REPEAT_DELAY_SECONDS);
    if (quick >= 0) {
      const rule = `a policy that repeats waits at least ${MIN_REPEAT_DELAY_SECONDS} seconds after every step`;
      if (changed === "steps") {
        throw new ValidationError(
          `${prefix}steps[${quick}].delay_seconds`,
          `${rule} (repeat_count is ${policy.repeatCount})`,
        );
      }
      throw new ValidationError(
        `${prefix}repeat_count`,
        `${rule}; steps[${quick}] waits ${policy.steps[quick]!.delaySeconds} seconds`,
      );
    }
  }
  const targets = policy.steps.reduce((n, s) => n + s.targets.length, 0);
  const pages = targets * (policy.repeatCount + 1);
  if (pages > MAX_TARGET_PAGES_PER_ALERT) {
    throw new ValidationError(
      `${prefix}${changed}`,
      `one alert would page ${pages} targets (${targets} targets × ${policy.repeatCount + 1} passes); at most ${MAX_TARGET_PAGES_PER_ALERT}`,
    );
  }
}
