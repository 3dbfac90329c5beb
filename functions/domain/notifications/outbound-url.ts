import { ValidationError } from "../errors.ts";

/**
 * The form of a URL this system will POST to (Slack/Teams webhooks, generic webhooks): https, no
 * credentials in it, bounded. Plain http is allowed only to this machine (localhost, 127.0.0.0/8,
 * ::1) and only where local URLs are allowed (the embedded runtime, for local receivers). Where the
 * host's addresses may point (private, loopback, link-local…) is the adapter's check
 * (adapters/http/outbound-guard.ts), at save and again at every send.
 */

export const MAX_URL_LENGTH = 2048;

export interface OutboundUrlRules {
  /** Embedded runtime: http to loopback allowed, private addresses allowed. Never on AWS. */
  readonly allowLocal: boolean;
}

/** Hostnames that name this machine (URL.hostname keeps the brackets of an IPv6 literal). */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * The URL, parsed, or a ValidationError naming `field`.
 *
 * @example parseOutboundUrl(input.webhookUrl, "channel.config.slack.webhook_url", { allowLocal: false })
 */
export function parseOutboundUrl(raw: string, field: string, rules: OutboundUrlRules): URL {
  const value = raw.trim();
  if (value === "") throw new ValidationError(field, "is required");
  if (value.length > MAX_URL_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, "must be an absolute https URL");
  }
  if (url.username || url.password) {
    throw new ValidationError(field, "must not carry credentials (user:password@); use a secret reference");
  }
  if (url.protocol === "http:") {
    if (!(rules.allowLocal && isLoopbackHostname(url.hostname))) {
      throw new ValidationError(
        field,
        rules.allowLocal ? "must be https (plain http only to localhost / 127.0.0.1)" : "must be https",
      );
    }
  } else if (url.protocol !== "https:") {
    throw new ValidationError(field, "must be an https URL");
  }
  if (url.hostname === "") throw new ValidationError(field, "must name a host");
  return url;
}

/** What a reason or log may say about a URL: scheme and host, never the path (Slack and Teams webhook URLs carry their token in it). */
export function describeUrl(url: string | URL): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "an invalid URL";
  }
}
