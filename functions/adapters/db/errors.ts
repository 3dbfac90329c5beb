/**
 * Failures that mean "the database cannot be reached right now" (as opposed to a bad query):
 * callers answer 503 / `unavailable` so that senders retry.
 */
const unavailableNetworkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE"]);
// SQLSTATE class 08 (connection exception) and 57P0x (admin shutdown, crash shutdown, cannot connect now).
const unavailableSqlStates = /^(08|57P0)/;
// RDS Data API: cluster pausing/resuming, throttling, transient service errors.
const unavailableAwsErrors = new Set([
  "DatabaseResumingException",
  "DatabaseUnavailableException",
  "DatabaseNotFoundException",
  "ServiceUnavailableError",
  "StatementTimeoutException",
  "ThrottlingException",
  "InternalServerErrorException",
]);

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
  if (/Connection terminated|timeout exceeded when trying to connect|PGlite is closed/i.test(e.message))
    return true;
  return err.cause !== undefined && err.cause !== err && isDatabaseUnavailable(err.cause);
}
