/** The four canonical severities, most urgent first (PagerDuty's names). */
export const SEVERITIES = ["critical", "error", "warning", "info"] as const;

export type Severity = (typeof SEVERITIES)[number];

/**
 * The severity of an alert that names none, or names one we do not recognise: `error`.
 * An alert that reached an on-call system was meant to be seen, so the default leans loud without
 * claiming the top level; it is also Alertmanager's default `severity` for its PagerDuty receiver.
 * The sender's own value is never lost: it stays in the alert's labels and raw payload.
 */
export const DEFAULT_SEVERITY: Severity = "error";

const SYNONYMS: Record<string, Severity> = {};
const groups: Record<Severity, readonly string[]> = {
  critical: [
    "critical",
    "crit",
    "fatal",
    "emergency",
    "emerg",
    "alert",
    "page",
    "disaster",
    "p0",
    "p1",
    "sev0",
    "sev1",
  ],
  error: ["error", "err", "high", "major", "p2", "sev2"],
  warning: ["warning", "warn", "minor", "medium", "moderate", "average", "p3", "sev3"],
  info: [
    "info",
    "informational",
    "information",
    "notice",
    "low",
    "none",
    "ok",
    "debug",
    "p4",
    "p5",
    "sev4",
    "sev5",
  ],
};
for (const severity of SEVERITIES) {
  for (const name of groups[severity]) SYNONYMS[name] = severity;
}

/**
 * The canonical severity for a sender's value, case- and space-insensitive, or `undefined` when the
 * value is absent or unrecognised.
 *
 * @example normalizeSeverity(" High ") // "error"
 */
export function normalizeSeverity(value: unknown): Severity | undefined {
  if (typeof value !== "string") return undefined;
  const key = value.trim().toLowerCase();
  return Object.hasOwn(SYNONYMS, key) ? SYNONYMS[key] : undefined;
}

/**
 * The first recognised severity among `candidates` (in order of preference), else `fallback`.
 *
 * @example severityFrom([labels.severity, labels.priority]) // "warning" for {priority: "P3"}
 */
export function severityFrom(
  candidates: readonly unknown[],
  fallback: Severity = DEFAULT_SEVERITY,
): Severity {
  for (const candidate of candidates) {
    const severity = normalizeSeverity(candidate);
    if (severity) return severity;
  }
  return fallback;
}

/** Severity from a label set: `severity`, then `priority`. */
export function severityFromLabels(labels: Readonly<Record<string, string>>): Severity {
  return severityFrom([labels.severity, labels.priority]);
}
