import { ValidationError } from "../errors.ts";
import type { AlertAction, AlertLink, AlertSignal, IngestBatch } from "./alert-input.ts";
import {
  MAX_DETAILS_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LINKS_PER_ALERT,
  MAX_SUMMARY_LENGTH,
  MAX_URL_LENGTH,
} from "./limits.ts";
import { DEFAULT_SEVERITY, SEVERITIES, type Severity } from "./severity.ts";
import {
  assertJsonLimits,
  BODY,
  checkLength,
  fieldPath,
  type JsonRecord,
  optionalDedupKey,
  optionalLink,
  optionalString,
  optionalTimestamp,
  requireRecord,
  requireString,
} from "./validate.ts";

const EVENT_ACTIONS: readonly AlertAction[] = ["trigger", "acknowledge", "resolve"];
/** Payload fields that classify an event; they become labels of the same name. */
const CLASSIFIERS = ["component", "group", "class"] as const;

/** A parsed Events API v2 event: one signal, and the dedup key to answer with (`202 {dedup_key}`). */
export interface PagerDutyIngest extends IngestBatch {
  dedupKey: string;
}

/**
 * The `routing_key` of an Events API v2 body (our integration key), or undefined. The HTTP edge
 * authenticates with it before parsing.
 */
export function pagerDutyRoutingKey(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const key = (body as JsonRecord).routing_key;
  return typeof key === "string" && key.trim() ? key.trim() : undefined;
}

/**
 * Parses a PagerDuty Events API v2 event (`POST /v2/enqueue`), so anything that can page PagerDuty
 * can page us.
 *
 * - `event_action`: trigger | acknowledge | resolve. Acknowledge and resolve need `dedup_key` and
 *   ignore `payload`, as PagerDuty does.
 * - dedupKey: `dedup_key`; for a trigger without one, `newId()` (the caller answers it).
 * - trigger: `payload.summary`, `payload.source` and `payload.severity` are required; severity is
 *   exactly one of critical, error, warning, info, as PagerDuty validates it (`high` or `CRITICAL`
 *   is a 400 there, so here too); `payload.timestamp` → startsAt.
 * - labels: `source`, `component`, `group`, `class`; details: `custom_details` (a string as is,
 *   anything else as indented JSON); links: `links`, `images`, `client_url`.
 * - raw: the body without `routing_key` (a credential).
 *
 * @example parsePagerDutyEvent(JSON.parse(body), () => crypto.randomUUID()).dedupKey
 * @throws ValidationError naming the field (`event_action`, `dedup_key`, `payload.severity`...).
 */
export function parsePagerDutyEvent(body: unknown, newId: () => string): PagerDutyIngest {
  assertJsonLimits(body);
  const root = requireRecord(body, BODY);
  const action = root.event_action;
  if (typeof action !== "string" || !EVENT_ACTIONS.includes(action as AlertAction)) {
    throw new ValidationError("event_action", `must be one of ${EVENT_ACTIONS.join(", ")}`);
  }
  const givenKey = optionalDedupKey(root.dedup_key, "dedup_key");
  const raw = Object.fromEntries(Object.entries(root).filter(([name]) => name !== "routing_key"));

  if (action !== "trigger") {
    if (givenKey === undefined) throw new ValidationError("dedup_key", `is required to ${action}`);
    const signal: AlertSignal = {
      action: action as AlertAction,
      dedupKey: givenKey,
      summary: "",
      details: "",
      severity: DEFAULT_SEVERITY,
      labels: {},
      annotations: {},
      source: "pagerduty",
      links: [],
      raw,
    };
    return { signals: [signal], truncatedAlerts: 0, dedupKey: givenKey };
  }

  const payload = requireRecord(root.payload, "payload");
  const summary = requireString(payload.summary, "payload.summary", MAX_SUMMARY_LENGTH);
  const source = requireString(payload.source, "payload.source", MAX_LABEL_VALUE_LENGTH);
  const severity = severityOf(payload.severity);
  const labels: Record<string, string> = { source };
  for (const name of CLASSIFIERS) {
    const value = optionalString(payload[name], fieldPath("payload", name), MAX_LABEL_VALUE_LENGTH)?.trim();
    if (value) labels[name] = value;
  }
  const dedupKey = givenKey ?? newId();
  const signal: AlertSignal = {
    action: "trigger",
    dedupKey,
    summary,
    details: detailsOf(payload.custom_details),
    severity,
    labels,
    annotations: {},
    source: "pagerduty",
    links: linksOf(root),
    raw,
  };
  const startsAt = optionalTimestamp(payload.timestamp, "payload.timestamp");
  if (startsAt) signal.startsAt = startsAt;
  return { signals: [signal], truncatedAlerts: 0, dedupKey };
}

function severityOf(value: unknown): Severity {
  if (value === undefined || value === null || value === "") {
    throw new ValidationError("payload.severity", "is required");
  }
  if (typeof value !== "string" || !(SEVERITIES as readonly string[]).includes(value)) {
    throw new ValidationError("payload.severity", `must be one of ${SEVERITIES.join(", ")}`);
  }
  return value as Severity;
}

function detailsOf(customDetails: unknown): string {
  if (customDetails === undefined || customDetails === null) return "";
  const details = typeof customDetails === "string" ? customDetails : JSON.stringify(customDetails, null, 2);
  checkLength(details, "payload.custom_details", MAX_DETAILS_LENGTH);
  return details;
}

/**
 * PagerDuty's `links` (`[{href, text?}]`; `href` required, only http(s) kept), as both the Events
 * and the Change Events API send them.
 */
export function pagerDutyLinks(value: unknown): AlertLink[] {
  const links: AlertLink[] = [];
  for (const [i, entry] of listOf(value, "links").entries()) {
    const field = fieldPath("links", i);
    const link = requireRecord(entry, field);
    const text = optionalString(link.text, fieldPath(field, "text"), MAX_SUMMARY_LENGTH)?.trim();
    const href = optionalString(link.href, fieldPath(field, "href"), MAX_URL_LENGTH);
    if (!href) throw new ValidationError(fieldPath(field, "href"), "is required");
    const parsed = optionalLink(href, fieldPath(field, "href"), text || href);
    if (parsed) links.push(parsed);
  }
  return links;
}

function linksOf(root: JsonRecord): AlertLink[] {
  const links = pagerDutyLinks(root.links);
  for (const [i, entry] of listOf(root.images, "images").entries()) {
    const field = fieldPath("images", i);
    const image = requireRecord(entry, field);
    const alt = optionalString(image.alt, fieldPath(field, "alt"), MAX_SUMMARY_LENGTH)?.trim();
    const src = optionalString(image.src, fieldPath(field, "src"), MAX_URL_LENGTH);
    if (!src) throw new ValidationError(fieldPath(field, "src"), "is required");
    const parsed = optionalLink(src, fieldPath(field, "src"), alt || "Image");
    if (parsed) links.push(parsed);
  }
  const clientText = optionalString(root.client, "client", MAX_SUMMARY_LENGTH)?.trim();
  const client = optionalLink(root.client_url, "client_url", clientText || "Client");
  if (client) links.push(client);
  if (links.length > MAX_LINKS_PER_ALERT) {
    throw new ValidationError(
      "links",
      `has ${links.length} links and images; at most ${MAX_LINKS_PER_ALERT}`,
    );
  }
  return links;
}

function listOf(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError(field, "must be an array");
  if (value.length > MAX_LINKS_PER_ALERT) {
    throw new ValidationError(field, `has ${value.length} entries; at most ${MAX_LINKS_PER_ALERT}`);
  }
  return value;
}
