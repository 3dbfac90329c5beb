/**
 * Errors the escalation task handlers throw to the state machine. Their `name`s are a contract with
 * `state-machines/escalation.asl.json` (Retry / Catch match on them) and are listed in
 * `state-machines/README.md`: never rename one.
 */

/** A dependency (the database) is unavailable; the same call will likely succeed shortly. Retried. */
export class TransientError extends Error {
  override readonly name = "TransientError";
}

/** The task input is not `{ executionName }` (nor the older `{ alertId }`); retrying cannot help. */
export class EscalationInputError extends Error {
  override readonly name = "EscalationInputError";
}
