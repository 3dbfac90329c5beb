import { ValidationError } from "../errors.ts";
import type { AlertAction, AlertLink, AlertSignal, IngestBatch } from "./alert-input.ts";
import { MAX_DEDUP_KEY_LENGTH, MAX_DETAILS_LENGTH, MAX_SUMMARY_LENGTH } from "./limits.ts";
import { type AlertGroupFormat, parseAlertGroup } from "./parse-alertmanager.ts";
import { severityFromLabels } from "./severity.ts";
import {
  assertJsonLimits,
  BODY,
  checkLength,
  fieldPath,
  isRecord,
  type JsonRecord,
  LABEL_LIMITS,
  optionalId,
  optionalLink,
  optionalString,
  requireRecord,
  stringMap,
} from "./validate.ts";

const UNIFIED: AlertGroupFormat = {
  source: "grafana",
  version: "1",
  linkFields: [
    ["silenceURL", "Silence"],
    ["dashboardURL", "Dashboard"],
    ["panelURL", "Panel"],
    ["imageURL", "Image"],
  ],
  detailLines: (entry) => {
    const values = entry.values;
    if (!isRecord(values)) return [];
    const shown = Object.entries(values).filter(([, v]) => typeof v === "number");
    return shown.length ? [`Values: ${shown.map(([k, v]) => `${k}=${v}`).join(", ")}`] : [];
  },
};

/** Legacy alerting states and what they ask for; `paused` and `pending` ask for nothing. */
const LEGACY_ACTIONS: Record<string, AlertAction | null> = {
  alerting: "trigger",
  no_data: "trigger",
  ok: "resolve",
  paused: null,
  pending: null,
};

const MAX_EVAL_MATCHES_SHOWN = 20;

/**
 * Parses a Grafana webhook, unified or legacy (told apart by the presence of `alerts`).
 *
 * Unified alerting (`version: "1"`, Alertmanager-shaped): as `parseAlertmanager` — one signal per
 * entry, dedupKey = `fingerprint` — plus links to the silence, dashboard, panel and image URLs, and
 * the query `values` as a details line.
 *
 * Legacy alerting (`ruleName`, `ruleId`, `state`, `ruleUrl`, `message`, `evalMatches`, `tags`):
 * one signal, or none for `paused` and `pending`.
 * - dedupKey: `grafana-legacy/org/<orgId>/dashboard/<dashboardId>/panel/<panelId>/rule/<ruleId>`
 *   (segments present only when sent; `rule-name/<ruleName>` when there is no `ruleId`).
 * - action: `alerting` and `no_data` → trigger, `ok` → resolve.
 * - summary: `ruleName`, else `title`; details: `message`, the eval matches, the rule URL.
 * - labels: `tags`, plus `alertname: ruleName` unless a tag already says it (so routing rules can
 *   match `alertname` for every Grafana alert); severity from `tags.severity` / `tags.priority`.
 *
 * @throws ValidationError naming the field.
 */
export function parseGrafana(body: unknown): IngestBatch {
  assertJsonLimits(body);
  const root = requireRecord(body, BODY);
  if ("alerts" in root) return parseAlertGroup(root, UNIFIED);
  if ("ruleName" in root || "ruleId" in root || "state" in root) return parseLegacy(root);
  throw new ValidationError(
    "alerts",
    "is required: expected a Grafana unified alerting payload (alerts[]) or a legacy one (ruleName, state)",
  );
}

function parseLegacy(root: JsonRecord): IngestBatch {
  const state = root.state;
  if (typeof state !== "string" || !Object.hasOwn(LEGACY_ACTIONS, state)) {
    throw new ValidationError("state", `must be one of ${Object.keys(LEGACY_ACTIONS).join(", ")}`);
  }
  const ruleName = optionalString(root.ruleName, "ruleName", MAX_SUMMARY_LENGTH)?.trim() || undefined;
  const ruleId = optionalId(root.ruleId, "ruleId");
  if (ruleName === undefined && ruleId === undefined) {
    throw new ValidationError("ruleName", "is required when ruleId is absent");
  }
  const title = optionalString(root.title, "title", MAX_SUMMARY_LENGTH)?.trim() || undefined;
  const message = optionalString(root.message, "message", MAX_DETAILS_LENGTH)?.trim();
  const tags = stringMap(root.tags, "tags", LABEL_LIMITS);
  const labels = ruleName && !Object.hasOwn(tags, "alertname") ? { ...tags, alertname: ruleName } : tags;

  const segments = [
    ["org", optionalId(root.orgId, "orgId")],
    ["dashboard", optionalId(root.dashboardId, "dashboardId")],
    ["panel", optionalId(root.panelId, "panelId")],
    ruleId === undefined ? ["rule-name", ruleName] : ["rule", ruleId],
  ].filter(([, id]) => id !== undefined);
  const dedupKey = ["grafana-legacy", ...segments.flat()].join("/");
  checkLength(dedupKey, ruleId === undefined ? "ruleName" : "ruleId", MAX_DEDUP_KEY_LENGTH);

  const links: AlertLink[] = [];
  const ruleUrl = optionalLink(root.ruleUrl, "ruleUrl", "Alert rule");
  if (ruleUrl) links.push(ruleUrl);
  const image = optionalLink(root.imageUrl, "imageUrl", "Image");
  if (image) links.push(image);

  const details = [message, ...evalMatchLines(root.evalMatches), ruleUrl?.href]
    .filter((line) => line)
    .join("\n\n");
  checkLength(details, "message", MAX_DETAILS_LENGTH);

  const action = LEGACY_ACTIONS[state];
  if (!action) return { signals: [], truncatedAlerts: 0 };
  const signal: AlertSignal = {
    action,
    dedupKey,
    summary: ruleName ?? title ?? `Grafana alert rule ${ruleId}`,
    details,
    severity: severityFromLabels(tags),
    labels,
    annotations: {},
    source: "grafana",
    links,
    raw: root,
  };
  return { signals: [signal], truncatedAlerts: 0 };
}

function evalMatchLines(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationError("evalMatches", "must be an array");
  const lines = value.slice(0, MAX_EVAL_MATCHES_SHOWN).map((match, i) => {
    const field = fieldPath("evalMatches", i);
    const entry = requireRecord(match, field);
    const metric = optionalString(entry.metric, fieldPath(field, "metric"), MAX_SUMMARY_LENGTH) ?? "value";
    const v = entry.value;
    const shown =
      v === null || v === undefined ? "no value" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return `${metric}: ${shown}`;
  });
  if (value.length > MAX_EVAL_MATCHES_SHOWN)
    lines.push(`… and ${value.length - MAX_EVAL_MATCHES_SHOWN} more`);
  return lines.length ? [lines.join("\n")] : [];
}
