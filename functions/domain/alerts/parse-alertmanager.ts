import { ValidationError } from "../errors.ts";
import type { AlertLink, AlertSignal, IngestBatch } from "./alert-input.ts";
import { labelsFingerprint } from "./dedup.ts";
import {
  MAX_ALERTS_PER_REQUEST,
  MAX_ANNOTATION_VALUE_LENGTH,
  MAX_DETAILS_LENGTH,
  MAX_SUMMARY_LENGTH,
} from "./limits.ts";
import { severityFromLabels } from "./severity.ts";
import {
  ANNOTATION_LIMITS,
  assertJsonLimits,
  BODY,
  checkLength,
  fieldPath,
  type JsonRecord,
  LABEL_LIMITS,
  optionalDedupKey,
  optionalLink,
  optionalString,
  optionalTimestamp,
  requireRecord,
  stringMap,
  truncate,
} from "./validate.ts";

/** How a source that posts Alertmanager-shaped groups (Alertmanager, Grafana unified) differs. */
export interface AlertGroupFormat {
  source: "alertmanager" | "grafana";
  /** The only accepted `version`. */
  version: string;
  /** URL fields of an entry beyond `generatorURL`, with their link text, in display order. */
  linkFields: readonly (readonly [field: string, text: string])[];
  /** Extra details lines for an entry (Grafana's `values`). */
  detailLines?: (entry: JsonRecord) => string[];
}

const ALERTMANAGER: AlertGroupFormat = { source: "alertmanager", version: "4", linkFields: [] };

/**
 * Parses an Alertmanager webhook (payload `version: "4"`): one signal per entry of `alerts[]`, never
 * one per group (a group holds distinct problems).
 *
 * - dedupKey: the entry's `fingerprint`; when absent or blank, the fingerprint Alertmanager computes
 *   from the labels (see `labelsFingerprint`), never the summary.
 * - action: `firing` → trigger, `resolved` → resolve.
 * - summary: `annotations.summary`; else `alertname on instance`, else `alertname`; else the label
 *   set written `{k="v", ...}`; else `Alert <dedupKey>`. Composed summaries are cut to
 *   MAX_SUMMARY_LENGTH; a sender's summary over it is a 400.
 * - details: `annotations.description`, then the `generatorURL` on its own line.
 * - severity: `labels.severity`, then `labels.priority`, else DEFAULT_SEVERITY.
 * - links: generatorURL ("Source"), `annotations.runbook_url` ("Runbook").
 *
 * @throws ValidationError naming the field (`version`, `alerts`, `alerts[2].labels.team`...).
 */
export function parseAlertmanager(body: unknown): IngestBatch {
  assertJsonLimits(body);
  return parseAlertGroup(requireRecord(body, BODY), ALERTMANAGER);
}

/**
 * The group envelope shared by Alertmanager and Grafana unified alerting, on a body that already
 * passed `assertJsonLimits`.
 */
export function parseAlertGroup(root: JsonRecord, format: AlertGroupFormat): IngestBatch {
  if (root.version !== format.version) {
    throw new ValidationError(
      "version",
      `unsupported ${format.source} webhook version ${JSON.stringify(root.version ?? null)}; expected "${format.version}"`,
    );
  }
  const alerts = root.alerts;
  if (!Array.isArray(alerts)) throw new ValidationError("alerts", "must be an array of alerts");
  if (alerts.length === 0) throw new ValidationError("alerts", "must contain at least one alert");
  if (alerts.length > MAX_ALERTS_PER_REQUEST) {
    throw new ValidationError(
      "alerts",
      `has ${alerts.length} alerts; at most ${MAX_ALERTS_PER_REQUEST} per request (set max_alerts on the sender)`,
    );
  }
  const truncatedAlerts = root.truncatedAlerts ?? 0;
  if (typeof truncatedAlerts !== "number" || !Number.isSafeInteger(truncatedAlerts) || truncatedAlerts < 0) {
    throw new ValidationError("truncatedAlerts", "must be a non-negative integer");
  }
  const groupKey = optionalString(root.groupKey, "groupKey", MAX_ANNOTATION_VALUE_LENGTH);
  const signals = alerts.map((entry, i) => parseGroupEntry(entry, fieldPath("alerts", i), format));
  return groupKey === undefined ? { signals, truncatedAlerts } : { signals, truncatedAlerts, groupKey };
}

function parseGroupEntry(value: unknown, field: string, format: AlertGroupFormat): AlertSignal {
  const entry = requireRecord(value, field);
  const status = entry.status;
  if (status !== "firing" && status !== "resolved") {
    throw new ValidationError(fieldPath(field, "status"), 'must be "firing" or "resolved"');
  }
  const labels = stringMap(entry.labels, fieldPath(field, "labels"), LABEL_LIMITS);
  const annotationsField = fieldPath(field, "annotations");
  const annotations = stringMap(entry.annotations, annotationsField, ANNOTATION_LIMITS);
  const dedupKey =
    optionalDedupKey(entry.fingerprint, fieldPath(field, "fingerprint")) ?? labelsFingerprint(labels);

  const source = optionalLink(entry.generatorURL, fieldPath(field, "generatorURL"), "Source");
  const links: AlertLink[] = [];
  if (source) links.push(source);
  for (const [name, text] of format.linkFields) {
    const link = optionalLink(entry[name], fieldPath(field, name), text);
    if (link) links.push(link);
  }
  const runbook = optionalLink(
    annotations.runbook_url,
    fieldPath(annotationsField, "runbook_url"),
    "Runbook",
  );
  if (runbook) links.push(runbook);

  const details = [annotations.description?.trim(), ...(format.detailLines?.(entry) ?? []), source?.href]
    .filter((line) => line)
    .join("\n\n");
  checkLength(details, fieldPath(annotationsField, "description"), MAX_DETAILS_LENGTH);

  const signal: AlertSignal = {
    action: status === "resolved" ? "resolve" : "trigger",
    dedupKey,
    summary: summaryOf(labels, annotations, annotationsField, dedupKey),
    details,
    severity: severityFromLabels(labels),
    labels,
    annotations,
    source: format.source,
    links,
    raw: entry,
  };
  const startsAt = optionalTimestamp(entry.startsAt, fieldPath(field, "startsAt"));
  const endsAt = optionalTimestamp(entry.endsAt, fieldPath(field, "endsAt"));
  if (startsAt) signal.startsAt = startsAt;
  if (endsAt) signal.endsAt = endsAt;
  return signal;
}

function summaryOf(
  labels: Record<string, string>,
  annotations: Record<string, string>,
  annotationsField: string,
  dedupKey: string,
): string {
  const given = annotations.summary?.trim();
  if (given) {
    checkLength(given, fieldPath(annotationsField, "summary"), MAX_SUMMARY_LENGTH);
    return given;
  }
  const { alertname, instance } = labels;
  if (alertname) return truncate(instance ? `${alertname} on ${instance}` : alertname, MAX_SUMMARY_LENGTH);
  const pairs = Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  if (pairs.length > 0) return truncate(`{${pairs.join(", ")}}`, MAX_SUMMARY_LENGTH);
  return `Alert ${dedupKey}`;
}
