import type { ProviderOutcome } from "../../domain/notifications/model.ts";
import { excerpt } from "./http-outcome.ts";

/** AWS error names that mean "slow down" or "try later". */
const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "LimitExceededException",
  "RequestLimitExceeded",
  "KMSThrottlingException",
  "InternalErrorException",
  "InternalFailure",
  "ServiceUnavailable",
]);

/**
 * The outcome of an AWS SDK error: throttling, 5xx, an SDK-retryable error, a timeout or a
 * connection that never got an answer retry; other 4xx (MessageRejected, InvalidParameter,
 * OptedOut…) fail with the error's name and message.
 */
export function outcomeOfAwsError(err: unknown, service: string): ProviderOutcome {
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const name = e.name ?? "Error";
  const reason = `${service} answered ${name}${e.message ? `: ${excerpt(e.message)}` : ""}`;
  const status = e.$metadata?.httpStatusCode;
  if (name === "AbortError" || name === "TimeoutError")
    return { status: "retry", reason: `${service}: ${name}` };
  if (THROTTLING.has(name) || e.$retryable || status === undefined || status === 429 || status >= 500) {
    return { status: "retry", reason };
  }
  return { status: "failed", reason };
}
