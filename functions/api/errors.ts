import { Code, ConnectError } from "@connectrpc/connect";
import { isDatabaseUnavailable } from "../adapters/db/errors.ts";
import { DomainError, type ErrorCode, RateLimitedError, ValidationError } from "../domain/errors.ts";

/** The single place where domain error codes become Connect codes. */
const connectCodeOf: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  resource_exhausted: Code.ResourceExhausted,
  // Connect has no "too large": invalid_argument is what connect-go answers for an oversize message.
  payload_too_large: Code.InvalidArgument,
  unsupported_media_type: Code.InvalidArgument,
  unavailable: Code.Unavailable,
};

/** HTTP statuses for the plain-HTTP routes (webhooks, healthz); they follow Connect's own mapping. */
const httpStatusOf: Record<ErrorCode | "internal", number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
};

/** `Retry-After` on every 503: long enough for a failover or a reconnect, short for a pager. */
export const unavailableRetryAfterSeconds = 5;

export interface ErrorReport {
  code: ErrorCode | "internal";
  message: string;
  field?: string;
  retryAfterSeconds?: number;
  /** True when the error was not expected (a bug or an unknown failure): log it with its stack. */
  unexpected: boolean;
}

/**
 * Classifies any thrown value. Unknown errors become `internal` with a fixed message, so no
 * stack trace or driver text ever reaches a client.
 */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof DomainError) {
    return {
      code: err.code,
      message: err.message,
      unexpected: false,
      ...(err instanceof ValidationError ? { field: err.field } : {}),
      ...(err instanceof RateLimitedError ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
      ...(err.code === "unavailable" ? { retryAfterSeconds: unavailableRetryAfterSeconds } : {}),
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      code: "unavailable",
      message: "database unavailable, retry later",
      retryAfterSeconds: unavailableRetryAfterSeconds,
      unexpected: false,
    };
  }
  return { code: "internal", message: "internal error", unexpected: true };
}

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const report = describeError(err);
  const code = report.code === "internal" ? Code.Internal : connectCodeOf[report.code];
  return new ConnectError(report.message, code, undefined, undefined, err);
}

export function httpStatusFor(report: ErrorReport): number {
  return httpStatusOf[report.code];
}
