import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AlertEventRow,
  type AlertFilter,
  type AlertRow,
  type AlertSeverity,
  createAlertUseCases,
} from "../../app/alerts.ts";
import type { AppContext } from "../../app/context.ts";
import type { AlertStatus as StatusName } from "../../domain/alerts/lifecycle.ts";
import { MAX_DEDUP_KEY_LENGTH, MAX_DETAILS_LENGTH, MAX_SUMMARY_LENGTH } from "../../domain/alerts/limits.ts";
import { DEFAULT_SEVERITY } from "../../domain/alerts/severity.ts";
import { assertJsonLimits, isRecord, LABEL_LIMITS, stringMap } from "../../domain/alerts/validate.ts";
import { ValidationError } from "../../domain/errors.ts";
import {
  type Alert,
  type AlertEvent,
  AlertEventSchema,
  AlertSchema,
  type AlertService,
  AlertStatus,
  Severity,
} from "../../gen/oncall/v1/alerts_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalDate,
  optionalText,
  optionalTimestamp,
  pageSize,
  principalOf,
  requireId,
  requireText,
  requireUuid,
} from "../request-validation.ts";

/** Alerts one bulk request may name: one statement, bounded work. */
export const MAX_BULK_IDS = 1000;
/** Services one ListAlerts may filter by. */
export const MAX_FILTER_SERVICES = 100;
/** Length of a note. */
export const MAX_NOTE_LENGTH = 16 * 1024;

/** oncall.v1.AlertService. State changes record the caller (`admin`, `api_key:<id>`) as the actor. */
export function createAlertService(ctx: AppContext): ServiceImpl<typeof AlertService> {
  const alerts = createAlertUseCases(ctx);

  return {
    /** A manual trigger: the same upsert as a webhook, with source "manual". */
    async createAlert(req, context) {
      const serviceId = requireUuid(req.serviceId, "service_id");
      const summary = requireText(req.summary, "summary", MAX_SUMMARY_LENGTH);
      const details = optionalText(req.details, "details", MAX_DETAILS_LENGTH);
      const severity =
        req.severity === Severity.UNSPECIFIED ? DEFAULT_SEVERITY : severityName(req.severity, "severity");
      const dedupKey = optionalText(req.dedupKey, "dedup_key", MAX_DEDUP_KEY_LENGTH).trim();
      const labels = labelMap(req.labels, "labels");
      const { alert, created } = await alerts.create({
        serviceId,
        summary,
        details,
        severity,
        dedupKey,
        labels,
        actor: principalOf(context).id,
      });
      return { alert: toAlert(alert), created };
    },

    async getAlert(req) {
      return { alert: toAlert(await alerts.get(requireId(req.id, "id"))) };
    },

    async listAlerts(req) {
      const filter: AlertFilter = {
        statuses: uniqueSorted(req.statuses.map((s, i) => statusName(s, `statuses[${i}]`))),
        serviceIds: uniqueSorted(req.serviceIds.map((id, i) => requireUuid(id, `service_ids[${i}]`))),
        severities: uniqueSorted(req.severities.map((s, i) => severityName(s, `severities[${i}]`))),
        labels: labelMap(req.labelSelector, "label_selector"),
        createdAfter: optionalDate(req.createdAfter, "created_after"),
        createdBefore: optionalDate(req.createdBefore, "created_before"),
        search: optionalText(req.search, "search", MAX_SUMMARY_LENGTH).trim(),
      };
      if (filter.serviceIds.length > MAX_FILTER_SERVICES) {
        throw new ValidationError(
          "service_ids",
          `names ${filter.serviceIds.length} services; at most ${MAX_FILTER_SERVICES}`,
        );
      }
      if (filter.createdAfter && filter.createdBefore && filter.createdBefore <= filter.createdAfter) {
        throw new ValidationError("created_before", "must be later than created_after");
      }
      const digest = filtersForToken(filter);
      const limit = pageSize(req.pageSize);
      const beforeId = decodePageToken(req.pageToken, "alerts", digest, isPositiveId);
      const page = await alerts.list(filter, { limit, beforeId });
      return {
        alerts: page.alerts.map(toAlert),
        nextPageToken:
          page.nextBeforeId === undefined ? "" : encodePageToken("alerts", page.nextBeforeId, digest),
      };
    },

    async acknowledgeAlert(req, context) {
      return { alert: toAlert(await alerts.acknowledge(requireId(req.id, "id"), principalOf(context).id)) };
    },

    async resolveAlert(req, context) {
      return { alert: toAlert(await alerts.resolve(requireId(req.id, "id"), principalOf(context).id)) };
    },

    async addNote(req, context) {
      const alertId = requireId(req.alertId, "alert_id");
      const text = requireText(req.text, "text", MAX_NOTE_LENGTH);
      return { event: toAlertEvent(await alerts.addNote(alertId, text, principalOf(context).id)) };
    },

    async listAlertEvents(req) {
      const alertId = requireId(req.alertId, "alert_id");
      const limit = pageSize(req.pageSize);
      const afterId = decodePageToken(req.pageToken, "alert_events", { alertId }, isPositiveId);
      const page = await alerts.listEvents({ alertId, limit, afterId });
      return {
        events: page.events.map(toAlertEvent),
        nextPageToken:
          page.nextAfterId === undefined
            ? ""
            : encodePageToken("alert_events", page.nextAfterId, { alertId }),
      };
    },

    async bulkAcknowledgeAlerts(req, context) {
      const changed = await alerts.bulkAcknowledge(bulkIds(req.ids), principalOf(context).id);
      return { acknowledgedIds: changed.map(BigInt) };
    },

    async bulkResolveAlerts(req, context) {
      const changed = await alerts.bulkResolve(bulkIds(req.ids), principalOf(context).id);
      return { resolvedIds: changed.map(BigInt) };
    },

    async escalateAlert(req, context) {
      const { alert, stepIndex, repeatCycle } = await alerts.escalateNow(
        requireId(req.id, "id"),
        principalOf(context).id,
      );
      return { alert: toAlert(alert), stepIndex, repeatCycle };
    },
  };
}

const statusByName: Record<StatusName, AlertStatus> = {
  triggered: AlertStatus.TRIGGERED,
  acknowledged: AlertStatus.ACKNOWLEDGED,
  resolved: AlertStatus.RESOLVED,
};

const severityByName: Record<AlertSeverity, Severity> = {
  critical: Severity.CRITICAL,
  error: Severity.ERROR,
  warning: Severity.WARNING,
  info: Severity.INFO,
};

function statusName(status: AlertStatus, field: string): StatusName {
  const name = nameOf(statusByName, status);
  if (!name) throw new ValidationError(field, `must be a known alert status, got ${status}`);
  return name;
}

function severityName(severity: Severity, field: string): AlertSeverity {
  const name = nameOf(severityByName, severity);
  if (!name) throw new ValidationError(field, `must be a known severity, got ${severity}`);
  return name;
}

function nameOf<N extends string>(byName: Record<N, number>, value: number): N | undefined {
  return (Object.keys(byName) as N[]).find((name) => byName[name] === value);
}

/** Labels within the ingest limits (count, key and value length), without NULs or lone surrogates. */
function labelMap(value: Record<string, string>, field: string): Record<string, string> {
  const labels = stringMap(value, field, LABEL_LIMITS);
  assertJsonLimits(labels, field);
  return labels;
}

function bulkIds(ids: readonly bigint[]): number[] {
  if (ids.length === 0) throw new ValidationError("ids", "must name at least one alert");
  if (ids.length > MAX_BULK_IDS)
    throw new ValidationError("ids", `names ${ids.length} alerts; at most ${MAX_BULK_IDS}`);
  return [...new Set(ids.map((id, i) => requireId(id, `ids[${i}]`)))];
}

function uniqueSorted<T extends string>(values: T[]): T[] {
  return [...new Set(values)].sort();
}

function isPositiveId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** The filters in a fixed shape (lists sorted, label keys sorted), for the page token digest. */
function filtersForToken(filter: AlertFilter): unknown {
  return [
    filter.statuses,
    filter.serviceIds,
    filter.severities,
    Object.entries(filter.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    filter.createdAfter?.toISOString() ?? null,
    filter.createdBefore?.toISOString() ?? null,
    filter.search,
  ];
}

export function toAlert(row: AlertRow): Alert {
  return create(AlertSchema, {
    id: BigInt(row.id),
    serviceId: row.service_id,
    status: statusByName[row.status],
    severity: severityByName[row.severity],
    summary: row.summary,
    details: row.details,
    dedupKey: row.dedup_key,
    source: row.source,
    labels: row.labels,
    annotations: row.annotations,
    duplicateCount: BigInt(row.duplicate_count),
    createTime: timestampFromDate(row.created_at),
    lastSeenTime: timestampFromDate(row.last_seen_at),
    acknowledgeTime: optionalTimestamp(row.acknowledged_at),
    resolveTime: optionalTimestamp(row.resolved_at),
    routingState: row.routing_state ?? "",
    routingReason: row.routing_reason ?? "",
    aggregateCount: BigInt(row.aggregate_count ?? 0),
    aggregatedInto: BigInt(row.aggregated_into ?? 0),
  });
}

export function toAlertEvent(row: AlertEventRow): AlertEvent {
  return create(AlertEventSchema, {
    id: BigInt(row.id),
    alertId: BigInt(row.alert_id),
    type: row.type,
    actor: row.actor,
    message: row.message,
    data: isRecord(row.data) ? (row.data as JsonObject) : undefined,
    createTime: timestampFromDate(row.created_at),
  });
}
