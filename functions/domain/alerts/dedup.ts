/** How dedup keys are made when the sender gives none. */
import { createHash } from "node:crypto";

const FNV_OFFSET = 14695981039346656037n;
const FNV_PRIME = 1099511628211n;
const MASK_64 = (1n << 64n) - 1n;
const SEPARATOR = 0xff;
const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The fingerprint Alertmanager itself gives a label set (Prometheus `LabelSet.Fingerprint()`:
 * FNV-1a 64 over the names sorted by bytes, each name and value followed by 0xff, as 16 hex digits),
 * so an alert whose sender left `fingerprint` out still lands on the key Alertmanager would use.
 *
 * @example labelsFingerprint({ alertname: "DiskFull", instance: "db-12", severity: "critical", team: "db" })
 * // "dda347d465921b7c"
 */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(
    ([name, value]) => [utf8.encode(name), utf8.encode(value)] as const,
  );
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  let hash = FNV_OFFSET;
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  };
  for (const [name, value] of pairs) {
    for (const byte of name) add(byte);
    add(SEPARATOR);
    for (const byte of value) add(byte);
    add(SEPARATOR);
  }
  return hash.toString(16).padStart(16, "0");
}

/**
 * GoAlert's rule for generic alerts without a `dedup`: the same summary and details are the same
 * alert. `auto:` + SHA-256 hex of summary NUL details (NUL cannot occur in either, so the split is
 * unambiguous; 69 characters).
 */
export function autoDedupKey(summary: string, details: string): string {
  return `auto:${createHash("sha256").update(`${summary}\u0000${details}`, "utf8").digest("hex")}`;
}
