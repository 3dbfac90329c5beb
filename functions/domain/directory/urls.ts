import { ValidationError } from "../errors.ts";

// Outbound URLs a contact method may point at. Its own module so that the configuration (loaded by
// every Lambda) can check ONCALL_DEMO_WEBHOOK_URL without the phone-number metadata of validate.ts.

export interface UrlPolicy {
  /** Embedded only: http://127.0.0.1, http://[::1] and http://localhost for local receivers. */
  readonly allowLoopbackHttp: boolean;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** An https URL (or, when allowed, a loopback http URL), without credentials in it. */
export function requireWebhookUrl(value: string, field: string, policy: UrlPolicy): string {
  const text = value.trim();
  if (!text) throw new ValidationError(field, "is required");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(field, `must be an https URL, got ${quote(text)}`);
  }
  const loopbackHttp = url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !(loopbackHttp && policy.allowLoopbackHttp)) {
    throw new ValidationError(
      field,
      policy.allowLoopbackHttp
        ? `must be an https URL (or http://127.0.0.1 for a local receiver), got ${quote(text)}`
        : `must be an https URL, got ${quote(text)}`,
    );
  }
  if (url.username || url.password) {
    throw new ValidationError(field, "must not carry a user name or password (secrets stay out of records)");
  }
  return url.toString();
}

function quote(text: string): string {
  return JSON.stringify(text.slice(0, 64));
}
