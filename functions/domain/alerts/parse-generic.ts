import { ValidationError } from "../errors.ts";
import type { AlertAction, AlertSignal, IngestBatch } from "./alert-input.ts";
import { autoDedupKey } from "./dedup.ts";
import { MAX_DETAILS_LENGTH, MAX_LABELS_PER_ALERT, MAX_SUMMARY_LENGTH } from "./limits.ts";
import { severityFrom } from "./severity.ts";
import {
  ANNOTATION_LIMITS,
  assertJsonLimits,
  BODY,
  isRecord,
  type JsonRecord,
  LABEL_LIMITS,
  optionalDedupKey,
  optionalString,
  stringMap,
} from "./validate.ts";

/** Scalar fields, as GoAlert's generic API names them (plus `severity`). */
const SCALARS = ["summary", "details", "dedup", "action", "severity"] as const;
/** Form fields that carry `name=value` pairs, repeated: GoAlert's `meta`, and ours. */
const PAIR_FIELDS = { meta: "meta", label: "labels", annotation: "annotations" } as const;
/** Body and query fields that are credentials: never copied into the raw payload. */
const SECRET_FIELDS = new Set(["token", "key"]);

const ACTIONS: Record<string, AlertAction> = {
  "": "trigger",
  trigger: "trigger",
  acknowledge: "acknowledge",
  ack: "acknowledge",
  close: "resolve",
  resolve: "resolve",
  resolved: "resolve",
};

export interface GenericOptions {
  /**
   * The request's query parameters: GoAlert senders may put any field there; the body wins
   * field by field. Credentials (`token`, `key`) are ignored.
   */
  query?: URLSearchParams;
}

/**
 * Parses a generic webhook: a JSON object, or form fields (`URLSearchParams`, as GoAlert senders
 * post them). Fields: `summary` (required to trigger), `details`, `dedup`, `action`
 * (`trigger` | `close` | `resolve` | `acknowledge`, default trigger), `severity`, `labels`,
 * `annotations`, and GoAlert's `meta` (merged into labels; `labels` wins). In a form, labels are
 * repeated `meta=name=value` or `label=name=value` fields, annotations `annotation=name=value`.
 *
 * - dedupKey: `dedup`; when absent, GoAlert's rule: the same summary and details are the same
 *   alert (`autoDedupKey`). Such a close must then repeat the summary and details.
 * - severity: `severity`, then `labels.severity`, then `labels.priority`, else DEFAULT_SEVERITY.
 *
 * @example parseGeneric(new URLSearchParams("summary=Disk%20full&dedup=disk-check"))
 * @throws ValidationError naming the field.
 */
export function parseGeneric(body: unknown, options: GenericOptions = {}): IngestBatch {
  if (!(body instanceof URLSearchParams)) assertJsonLimits(body);
  const fromBody = body instanceof URLSearchParams ? formFields(body) : jsonFields(body);
  const fields = options.query ? { ...formFields(options.query), ...fromBody } : fromBody;
  // Form fields and the query are checked here (NUL and broken surrogates can come from %-escapes).
  if (body instanceof URLSearchParams || options.query) assertJsonLimits(fields);

  const actionName = (optionalString(fields.action, "action", 32) ?? "").trim().toLowerCase();
  if (!Object.hasOwn(ACTIONS, actionName)) {
    throw new ValidationError("action", "must be one of trigger, acknowledge, resolve, close");
  }
  const action = ACTIONS[actionName]!;
  const dedup = optionalDedupKey(fields.dedup, "dedup");
  const summaryText = optionalString(fields.summary, "summary", MAX_SUMMARY_LENGTH)?.trim() ?? "";
  if (!summaryText && (action === "trigger" || dedup === undefined)) {
    throw new ValidationError("summary", "is required");
  }
  const details = optionalString(fields.details, "details", MAX_DETAILS_LENGTH) ?? "";
  const labels = {
    ...stringMap(fields.meta, "meta", LABEL_LIMITS),
    ...stringMap(fields.labels, "labels", LABEL_LIMITS),
  };
  if (Object.keys(labels).length > MAX_LABELS_PER_ALERT) {
    throw new ValidationError("labels", `labels and meta together exceed ${MAX_LABELS_PER_ALERT} entries`);
  }
  const annotations = stringMap(fields.annotations, "annotations", ANNOTATION_LIMITS);
  const severityText = optionalString(fields.severity, "severity", 64);

  const signal: AlertSignal = {
    action,
    dedupKey: dedup ?? autoDedupKey(summaryText, details),
    summary: summaryText,
    details,
    severity: severityFrom([severityText, labels.severity, labels.priority]),
    labels,
    annotations,
    source: "generic",
    links: [],
    raw: withoutSecrets(fields),
  };
  return { signals: [signal], truncatedAlerts: 0 };
}

function jsonFields(body: unknown): JsonRecord {
  if (!isRecord(body)) throw new ValidationError(BODY, "must be a JSON object or form fields");
  return body;
}

/** Form fields as a JSON-like record: scalars take their first value, pair fields become maps. */
function formFields(params: URLSearchParams): JsonRecord {
  const fields: JsonRecord = {};
  for (const name of SCALARS) {
    const value = params.get(name);
    if (value !== null) fields[name] = value;
  }
  for (const [formName, target] of Object.entries(PAIR_FIELDS)) {
    const pairs = params.getAll(formName);
    if (pairs.length === 0) continue;
    const entries = pairs.map((pair) => {
      const at = pair.indexOf("=");
      if (at < 0)
        throw new ValidationError(formName, `must be written name=value, got ${JSON.stringify(pair)}`);
      return [pair.slice(0, at), pair.slice(at + 1)] as const;
    });
    fields[target] = Object.fromEntries(entries);
  }
  return fields;
}

function withoutSecrets(fields: JsonRecord): JsonRecord {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !SECRET_FIELDS.has(name)));
}
