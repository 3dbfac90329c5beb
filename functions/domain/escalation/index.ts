/**
 * Escalation: walking an alert along its policy's steps until someone acknowledges it. Pure: the
 * decisions (./plan.ts) take the time as an argument; the use cases (./run-step.ts) reach the world
 * through ports. The workflow engine behind `EscalationRunner` only waits and calls the task again.
 */
export { EscalationInputError, TransientError } from "./errors.ts";
export {
  cohortExecutionName,
  type EscalationLogEntry,
  EXECUTION_NAME_PATTERN,
  escalationCompleted,
  escalationFailed,
  escalationStarted,
  executionNameFor,
  type ManualEscalation,
  type ManualEscalationContext,
  planManualEscalation,
} from "./log.ts";
export type {
  AlertStatus,
  EscalationPolicy,
  EscalationPosition,
  EscalationRunner,
  EscalationState,
  EscalationStatus,
  EscalationStep,
  EscalationTarget,
  Recipient,
  StartOptions,
  TargetProblem,
  TargetResolution,
} from "./model.ts";
export { executionInput } from "./model.ts";
export {
  decide,
  failureRetryDelaySeconds,
  MAX_FAILURE_RETRY_SECONDS,
  MAX_WAIT_MS,
  type NotificationReason,
  type PlannedNotification,
  planStep,
  type StepDecision,
  type StepEvent,
  type StepPlan,
} from "./plan.ts";
export {
  type CohortDecision,
  type CohortFinish,
  type CohortMember,
  type CohortStepGroup,
  type DueStep,
  decideCohort,
  type EscalationFailurePorts,
  type EscalationStepPorts,
  type LoadedCohort,
  recordEscalationFailure,
  runEscalationStep,
  type StepOutcome,
} from "./run-step.ts";
