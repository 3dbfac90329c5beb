/**
 * Failures that mean "the database cannot be reached right now" (as opposed to a bad query):
 * callers answer 503 / `unavailable` so that senders retry.
 */
const unavailableNetworkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
/**
 * SQLSTATEs that mean the database is not there to serve us, whatever the statement:
 * - class 08 (connection exception), 57P0x (admin shutdown, crash shutdown, cannot connect now,
 *   database dropped), 57014 (canceled: our statement_timeout), 53300 (too many connections);
 * - 3D000: the database does not exist (dropped);
 * - 42P01 / 3F000: our table or schema does not exist (the database was recreated empty). Every
 *   statement we send names only our own tables, so a missing one is a missing schema, not a typo
 *   a test would not have caught.
 */
const unavailableSqlStates = /^(08|57P0|57014$|53300$|3D000$|42P01$|3F000$)/;
// RDS Data API: cluster pausing/resuming, throttling, transient service errors, timeouts.
const unavailableAwsErrors = new Set([
  "DatabaseResumingException",
  "DatabaseUnavailableException",
  "DatabaseNotFoundException",
  "ServiceUnavailableError",
  "StatementTimeoutException",
  "ThrottlingException",
  "InternalServerErrorException",
  // The SDK's own request timeout, and AbortSignal.timeout().
  "TimeoutError",
  "RequestTimeout",
  // Our client-side statement timeout (database.ts).
  "DatabaseTimeoutError",
]);
/** Data API `BadRequestException`s that are about the cluster, not the statement. */
const unavailableDataApiMessages =
  /Communications link failure|is resuming after being auto-paused|Database is not available|database .* does not exist/i;

/** A statement or connection that took longer than its configured bound. */
export class DatabaseTimeoutError extends Error {
  override readonly name = "DatabaseTimeoutError";
}

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown };
  if (
    typeof e.code === "string" &&
    (unavailableNetworkCodes.has(e.code) || unavailableSqlStates.test(e.code))
  ) {
    return true;
  }
  if (unavailableAwsErrors.has(e.name)) return true;
  if (e.name === "BadRequestException" && unavailableDataApiMessages.test(e.message)) return true;
  if (
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|PGlite is closed/i.test(
      e.message,
    )
  )
    return true;
  return err.cause !== undefined && err.cause !== err && isDatabaseUnavailable(err.cause);
}

/** True when the error says our schema is not there (tables missing: a database recreated empty). */
export function isSchemaMissing(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  if (code === "42P01" || code === "3F000") return true;
  return err.cause !== undefined && err.cause !== err && isSchemaMissing(err.cause);
}

/**
 * True for a foreign key violation (SQLSTATE 23503): from pg and PGlite as `code`, from the Data API
 * as text in the message (data-api-dialect.ts turns most into `code`; both are read).
 */
export function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e; ) {
    if (e.code === "23503" || (typeof e.message === "string" && e.message.includes("SQLState: 23503"))) {
      return true;
    }
    e = e.cause === e ? undefined : (e.cause as typeof e);
  }
  return false;
}
