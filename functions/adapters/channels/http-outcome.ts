import type { ProviderOutcome } from "../../domain/notifications/model.ts";
import { redactSecrets, SecretUnavailableError } from "../../domain/notifications/secrets.ts";
import { OutboundUrlRefusedError } from "../http/outbound-guard.ts";
import { type HttpAnswer, OutboundHttpError } from "../http/outbound-http.ts";

/**
 * The status rules every HTTP provider shares: 2xx sent; 408, 429 and 5xx retry (after
 * `Retry-After` when given); other answers failed with the reason. Reasons name the host, the
 * status and a short excerpt of the answer, never the URL's path (Slack and Teams keep their token
 * there) nor a secret value (redacted if an answer echoes one).
 */

/** Characters of a provider's answer kept in a reason. */
const EXCERPT_CHARS = 200;
/** Longest wait honoured from a `Retry-After` (a day; a provider asking for more is broken). */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * Milliseconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3);
 * undefined when absent or unreadable.
 *
 * @example retryAfterMs("2", now) // 2000
 */
export function retryAfterMs(header: string | string[] | undefined, now: Date): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_MS);
}

export function excerpt(text: string, secrets: readonly string[] = []): string {
  const flat = redactSecrets(text, secrets).replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** The outcome of an HTTP answer by its status. */
export function outcomeOfAnswer(
  answer: HttpAnswer,
  input: { host: string; now: Date; secrets?: readonly string[] },
): ProviderOutcome {
  const { status } = answer;
  const body = excerpt(answer.body, input.secrets);
  const reason = `${input.host} answered HTTP ${status}${body ? `: ${body}` : ""}`;
  if (status >= 200 && status < 300) return { status: "sent", ...(body ? { detail: body } : {}) };
  if (status === 429 || status === 408 || status >= 500) {
    const after = retryAfterMs(answer.headers["retry-after"], input.now);
    return { status: "retry", reason, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  return { status: "failed", reason };
}

/**
 * The outcome of a send that got no answer or never started: a refused URL or a missing secret
 * fails (retrying will not help), a timeout, abort, network error or a secret store outage retries.
 * Anything else is a programming error and is rethrown.
 */
export function outcomeOfError(err: unknown): ProviderOutcome {
  if (err instanceof OutboundUrlRefusedError) return { status: "failed", reason: `refused: ${err.message}` };
  if (err instanceof OutboundHttpError) return { status: "retry", reason: err.message };
  if (err instanceof SecretUnavailableError) {
    return err.transient
      ? { status: "retry", reason: err.message }
      : { status: "failed", reason: err.message };
  }
  throw err;
}

/** A part that must be JSON, parsed; undefined when absent or not JSON. */
export function jsonPart(parts: Readonly<Record<string, string>>, name: string): unknown {
  const source = parts[name];
  if (source === undefined || source.trim() === "") return undefined;
  try {
    return JSON.parse(source);
  } catch {
    return undefined;
  }
}
