import type { Severity } from "./severity.ts";

export type { Severity } from "./severity.ts";

/** What an alert signal asks for. */
export type AlertAction = "trigger" | "acknowledge" | "resolve";

/** Where a signal came from: one per webhook format, plus `manual` for the CreateAlert RPC. */
export type AlertSource = "alertmanager" | "grafana" | "generic" | "pagerduty" | "manual";

export interface AlertLink {
  href: string;
  text: string;
}

/**
 * One normalised alert signal: every source's parser produces these, the ingest use-case upserts
 * them by (service, `dedupKey`).
 *
 * For `acknowledge` and `resolve` only `action` and `dedupKey` are authoritative; the other fields
 * carry what the sender said (PagerDuty follow-up events have no payload, so `summary` may be empty)
 * and must not overwrite the stored alert.
 */
export interface AlertSignal {
  action: AlertAction;
  /** Non-empty, at most MAX_DEDUP_KEY_LENGTH; see each parser for how it is chosen. */
  dedupKey: string;
  summary: string;
  /** Markdown; may be empty. */
  details: string;
  severity: Severity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  source: AlertSource;
  startsAt?: Date;
  endsAt?: Date;
  /** http(s) links only. */
  links: AlertLink[];
  /** The original alert entry (for the raw payload column), secrets such as routing keys removed. */
  raw?: unknown;
}

/** Everything one webhook request asks for. */
export interface IngestBatch {
  /** In the order the sender listed them. */
  signals: AlertSignal[];
  /** Alerts the sender dropped before sending (Alertmanager/Grafana `max_alerts`); 0 otherwise. */
  truncatedAlerts: number;
  /** Alertmanager/Grafana group key, when sent. */
  groupKey?: string;
}
