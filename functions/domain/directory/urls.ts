import { ValidationError } from "../errors.ts";

// Outbound URLs a contact method may point at. Its own module so that the configuration (loaded by
// every Lambda) can check ONCALL_DEMO_WEBHOOK_URL without the phone-number metadata of validate.ts.

export interface UrlPolicy {
  /**
   * Embedded only: http://127.0.0.1, http://[::1] and http://localhost for local receivers. When
   * false (AWS), hosts written as a private, loopback or link-local address are refused too; names
   * that resolve to one are the sender's check at delivery time (DNS may change after this).
   */
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
  if (!policy.allowLoopbackHttp && isInternalHost(url.hostname)) {
    throw new ValidationError(
      field,
      `must not point at a private, loopback or link-local address, got ${quote(text)}`,
    );
  }
  if (url.username || url.password) {
    throw new ValidationError(field, "must not carry a user name or password (secrets stay out of records)");
  }
  return url.toString();
}

/** A host written as an address of this network or machine (what an SSRF aims at), or localhost. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = host.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
      (a === 169 && b === 254) || // link-local, cloud metadata
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  if (!host.includes(":")) return false;
  // IPv6 (URL writes it compressed and lower-case): unspecified, loopback, ULA, link-local, IPv4-mapped.
  return (
    host === "::" ||
    host === "::1" ||
    /^f[cd][0-9a-f]{0,2}:/.test(host) ||
    /^fe[89ab][0-9a-f]?:/.test(host) ||
    (host.startsWith("::ffff:") && isInternalHost(mappedV4(host.slice(7))))
  );
}

/** URL writes an IPv4-mapped address in hex ("::ffff:7f00:1"); back to dotted form. */
function mappedV4(tail: string): string {
  if (tail.includes(".")) return tail;
  const [hi = "0", lo = "0"] = tail.split(":");
  const h = Number.parseInt(hi, 16);
  const l = Number.parseInt(lo, 16);
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}

function quote(text: string): string {
  return JSON.stringify(text.slice(0, 64));
}
