import { isDatabaseUnavailable } from "../adapters/db/errors.ts";
import { DomainError } from "../domain/errors.ts";
import {
  EscalationInputError,
  EXECUTION_NAME_PATTERN,
  type StepOutcome,
  TransientError,
} from "../domain/escalation/index.ts";

// The escalation tasks' contract with state-machines/escalation.asl.json: what they take, what they
// answer, and the error names the ASL retries or catches (listed in state-machines/README.md).

/**
 * RunStep's input: `{ "executionName": "cohort-10-3f2a9c1b" }`, the cohort the execution walks.
 * Executions started before cohorts existed pass `{ "alertId": 42 }` (a running execution keeps the
 * definition it started with): that is the cohort of that alert's escalation.
 */
export type StepTaskInput = { readonly executionName: string } | { readonly alertId: number };

/** RecordFailure's input: the cohort and the error the Catch put at `$.error`. */
export type FailureTaskInput = StepTaskInput & {
  readonly error: { readonly name: string; readonly cause: string };
};

/** Both tasks answer this; the ASL's Choice reads `done`, its Wait `nextStepAt` (ISO 8601, UTC). */
export interface TaskOutput {
  readonly done: boolean;
  readonly nextStepAt: string | null;
}

/**
 * @throws EscalationInputError unless `input` is `{ executionName: <execution name> }` (or the
 * one-alert shape `{ alertId: <positive safe integer> }` of executions started before cohorts).
 */
export function parseStepTaskInput(input: unknown): StepTaskInput {
  const { executionName, alertId } = (input ?? {}) as { executionName?: unknown; alertId?: unknown };
  if (executionName !== undefined) {
    if (typeof executionName !== "string" || !EXECUTION_NAME_PATTERN.test(executionName)) {
      throw new EscalationInputError(
        `executionName must be 1–80 letters, digits, - or _, got ${JSON.stringify(executionName)}`,
      );
    }
    return { executionName };
  }
  if (typeof alertId !== "number" || !Number.isSafeInteger(alertId) || alertId <= 0) {
    throw new EscalationInputError(
      `executionName must be an execution name (or alertId a positive integer), got ${JSON.stringify(input)}`,
    );
  }
  return { alertId };
}

/**
 * RecordFailure's input. The Catch puts Step Functions' error output (`{ Error, Cause }`) at `$.error`;
 * a missing or odd one is recorded as it is rather than refused: the failure must land on the alert.
 */
export function parseFailureTaskInput(input: unknown): FailureTaskInput {
  const cohort = parseStepTaskInput(input);
  const error = (input as { error?: { Error?: unknown; Cause?: unknown } }).error;
  return {
    ...cohort,
    error: {
      name: typeof error?.Error === "string" ? error.Error : "UnknownError",
      cause: causeMessage(error?.Cause),
    },
  };
}

/**
 * The message of a caught error. For a Lambda task, Step Functions' `Cause` is the Lambda's error as
 * JSON (`{ errorType, errorMessage, trace }`): keep the message, never the stack trace.
 */
function causeMessage(cause: unknown): string {
  if (typeof cause !== "string") return JSON.stringify(cause ?? null);
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // Not JSON: the message itself (the embedded runner passes error.message).
  }
  return cause;
}

export function toTaskOutput(outcome: StepOutcome): TaskOutput {
  return { done: outcome.done, nextStepAt: outcome.nextStepAt?.toISOString() ?? null };
}

/**
 * A statement that lost a lock race (deadlock detected, serialization failure): Postgres rolled it
 * back whole, and running it again a moment later succeeds. A cohort's step locks many alerts; a bulk
 * acknowledge locking the same alerts in another order can meet it.
 */
function isLockConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

/**
 * Runs a task body and rethrows its failures under the names the ASL knows: an unreachable database
 * (or any `unavailable` domain error) or a lock conflict becomes TransientError (retried);
 * EscalationInputError stays; anything else goes out as it is (caught by the ASL's `States.ALL`).
 */
export async function withTaskErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof TransientError || err instanceof EscalationInputError) throw err;
    if (
      isDatabaseUnavailable(err) ||
      isLockConflict(err) ||
      (err instanceof DomainError && err.code === "unavailable")
    ) {
      throw new TransientError((err as Error).message, { cause: err });
    }
    throw err;
  }
}
