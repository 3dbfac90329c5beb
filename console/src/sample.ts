import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Severity } from "../../functions/gen/oncall/v1/alerts_pb.ts";
import type { AlertUnderTestSchema } from "../../functions/gen/oncall/v1/routing_pb.ts";
import { parseLabels } from "./format.ts";

/** A sample (or stored) alert as the simulator's and the rule tester's fields hold it. */
export interface SampleDraft {
  serviceId: string;
  summary: string;
  details: string;
  severity: string;
  source: string;
  /** `name=value, …` */
  labels: string;
  annotations: string;
  /** A stored alert's number: given, it is used instead of the sample. */
  storedId: string;
  /** datetime-local, the viewer's zone; empty: now. */
  at: string;
}

/** A new sample: time empty (the server's now: a minute-precision "now" would lie up to 59 s early). */
export function newSample(): SampleDraft {
  return {
    serviceId: "",
    summary: "Sample alert",
    details: "",
    severity: String(Severity.CRITICAL),
    source: "console",
    labels: "",
    annotations: "",
    storedId: "",
    at: "",
  };
}

type AlertInit = MessageInitShape<typeof AlertUnderTestSchema>;

/**
 * The request's alert and time; or the error to show under the field (labels and annotations are
 * maps in the API, so their text is checked here, named like the server names its fields).
 */
export function alertRequestOf(
  d: SampleDraft,
  defaultServiceId: string,
): { alert: AlertInit; time?: Timestamp } | { error: ConnectError } {
  const when = d.at ? new Date(d.at) : new Date();
  const time = Number.isNaN(when.getTime()) ? {} : { time: timestampFromDate(when) };
  const stored = d.storedId.trim();
  if (stored) {
    if (!/^\d+$/.test(stored)) return invalid("alert.alert_id: must be an alert number, e.g. 42");
    return { alert: { source: { case: "alertId", value: BigInt(stored) } }, ...time };
  }
  const labels = parseLabels(d.labels);
  if (!labels) return invalid("labels: must be name=value pairs separated by commas, e.g. team=db");
  const annotations = parseLabels(d.annotations);
  if (!annotations)
    return invalid("annotations: must be name=value pairs separated by commas, e.g. runbook=https://…");
  return {
    alert: {
      source: {
        case: "sample",
        value: {
          serviceId: d.serviceId || defaultServiceId,
          summary: d.summary,
          details: d.details,
          severity: Number(d.severity) as Severity,
          source: d.source,
          labels,
          annotations,
        },
      },
    },
    ...time,
  };
}

function invalid(message: string) {
  return { error: new ConnectError(message, Code.InvalidArgument) };
}

const severityByName: Record<string, Severity> = {
  critical: Severity.CRITICAL,
  error: Severity.ERROR,
  warning: Severity.WARNING,
  info: Severity.INFO,
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function pairs(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) return undefined;
  return Object.entries(v)
    .map(([k, x]) => `${k}=${typeof x === "string" ? x : JSON.stringify(x)}`)
    .join(", ");
}

/**
 * A pasted alert as the sample's fields: this API's sample (`summary`, `severity`, `labels`,
 * `annotations`, `service_id`…), one Alertmanager alert, or a whole Alertmanager webhook body (its
 * first alert; summary and severity from its annotations and labels). Fields it does not give keep
 * their values. A string is the reason it cannot be read.
 */
export function sampleFromJson(text: string): Partial<SampleDraft> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return `is not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  if (isRecord(parsed) && Array.isArray(parsed.alerts)) parsed = parsed.alerts[0];
  if (!isRecord(parsed)) return "must be a JSON object: an alert, or an Alertmanager webhook body";
  const a = parsed;
  const labels = isRecord(a.labels) ? a.labels : {};
  const annotations = isRecord(a.annotations) ? a.annotations : {};
  const text_ = (v: unknown) => (typeof v === "string" ? v : undefined);
  const out: Partial<SampleDraft> = {};
  const summary = text_(a.summary) ?? text_(annotations.summary) ?? text_(labels.alertname);
  if (summary !== undefined) out.summary = summary;
  const details = text_(a.details) ?? text_(annotations.description);
  if (details !== undefined) out.details = details;
  const severity = a.severity ?? labels.severity;
  if (typeof severity === "string") {
    const s = severityByName[severity.toLowerCase().replace(/^severity_/, "")];
    if (s === undefined) return `severity “${severity}” is not one of critical, error, warning, info`;
    out.severity = String(s);
  } else if (typeof severity === "number" && (Object.values(severityByName) as number[]).includes(severity)) {
    out.severity = String(severity);
  }
  const source = text_(a.source);
  if (source !== undefined) out.source = source;
  const service = text_(a.service_id) ?? text_(a.serviceId);
  if (service !== undefined) out.serviceId = service;
  if (a.labels !== undefined) {
    const l = pairs(a.labels);
    if (l === undefined) return "labels must be an object of name: value";
    out.labels = l;
  }
  if (a.annotations !== undefined) {
    const l = pairs(a.annotations);
    if (l === undefined) return "annotations must be an object of name: value";
    out.annotations = l;
  }
  if (Object.keys(out).length === 0) return "has none of summary, severity, labels, annotations";
  return out;
}
