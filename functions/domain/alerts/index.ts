/**
 * Alert ingestion, the pure part: webhook payloads in, normalised AlertSignals out. No I/O; the
 * HTTP edge parses the body, authenticates the key, and hands the parsed body to one parser.
 */
export type { AlertAction, AlertLink, AlertSignal, AlertSource, IngestBatch } from "./alert-input.ts";
export { autoDedupKey, labelsFingerprint } from "./dedup.ts";
export * from "./limits.ts";
export { parseAlertmanager } from "./parse-alertmanager.ts";
export { type GenericOptions, parseGeneric } from "./parse-generic.ts";
export { parseGrafana } from "./parse-grafana.ts";
export { type PagerDutyIngest, pagerDutyRoutingKey, parsePagerDutyEvent } from "./parse-pagerduty.ts";
export {
  DEFAULT_SEVERITY,
  normalizeSeverity,
  SEVERITIES,
  type Severity,
  severityFrom,
  severityFromLabels,
} from "./severity.ts";
export { assertJsonLimits } from "./validate.ts";
