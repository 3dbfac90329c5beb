import { randomUUID } from "node:crypto";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AlertSeverity, AlertStatus as StatusName } from "../../adapters/db/schema.ts";
import { applySignals } from "../../adapters/db/stores/alert-signals.ts";
import {
  type AlertEventRow,
  type AlertFilter,
  type AlertRow,
  acknowledgeAlert,
  addNote,
  bulkAcknowledgeAlerts,
  bulkResolveAlerts,
  getAlert,
  listAlertEvents,
  listAlerts,
  resolveAlert,
} from "../../adapters/db/stores/alerts.ts";
import { getService } from "../../adapters/db/stores/services.ts";
import type { AppContext } from "../../app/context.ts";
import {
  escalateAlertNow,
  escalationLifecycleOf,
  followAlertOutcomes,
  stopAlertEscalations,
} from "../../app/escalations.ts";
import { MAX_DEDUP_KEY_LENGTH, MAX_DETAILS_LENGTH, MAX_SUMMARY_LENGTH } from "../../domain/alerts/limits.ts";
import { DEFAULT_SEVERITY } from "../../domain/alerts/severity.ts";
import { assertJsonLimits, isRecord, LABEL_LIMITS, stringMap } from "../../domain/alerts/validate.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../../domain/errors.ts";
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
  const db = () => ctx.database.db;
  const escalations = escalationLifecycleOf(ctx);

  async function alertOrThrow(id: number): Promise<AlertRow> {
    const row = await getAlert(db(), id);
    if (!row) throw new NotFoundError("alert", String(id));
    return row;
  }

  return {
    /** A manual trigger: the same upsert as a webhook, with source "manual". */
    async createAlert(req, context) {
      const serviceId = requireUuid(req.serviceId, "service_id");
      const summary = requireText(req.summary, "summary", MAX_SUMMARY_LENGTH);
      const details = optionalText(req.details, "details", MAX_DETAILS_LENGTH);
      const severity =
        req.severity === Severity.UNSPECIFIED ? DEFAULT_SEVERITY : severityName(req.severity, "severity");
      const dedupKey =
        optionalText(req.dedupKey, "dedup_key", MAX_DEDUP_KEY_LENGTH).trim() || `manual:${randomUUID()}`;
      const labels = labelMap(req.labels, "labels");
      const principal = principalOf(context);

      if (!(await getService(db(), serviceId))) throw new NotFoundError("service", serviceId);
      const [result] = await applySignals(db(), {
        serviceId,
        actor: principal.id,
        now: ctx.clock.now(),
        signals: [
          {
            action: "trigger",
            dedupKey,
            summary,
            details,
            severity,
            source: "manual",
            labels,
            annotations: {},
          },
        ],
      });
      if (result?.alertId == null) throw new Error(`applySignals opened no alert for ${dedupKey}`);
      await followAlertOutcomes(escalations, [result]);
      return { alert: toAlert(await alertOrThrow(result.alertId)), created: result.outcome === "created" };
    },

    async getAlert(req) {
      return { alert: toAlert(await alertOrThrow(requireId(req.id, "id"))) };
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
      const page = await listAlerts(db(), filter, { limit, beforeId });
      return {
        alerts: page.alerts.map(toAlert),
        nextPageToken:
          page.nextBeforeId === undefined ? "" : encodePageToken("alerts", page.nextBeforeId, digest),
      };
    },

    async acknowledgeAlert(req, context) {
      const id = requireId(req.id, "id");
      const change = await acknowledgeAlert(db(), {
        id,
        actor: principalOf(context).id,
        now: ctx.clock.now(),
      });
      if (!change) throw new NotFoundError("alert", String(id));
      // Also when nothing changed: a stop that failed before is made good.
      await stopAlertEscalations(escalations, [id]);
      return { alert: toAlert(change.alert) };
    },

    async resolveAlert(req, context) {
      const id = requireId(req.id, "id");
      const change = await resolveAlert(db(), { id, actor: principalOf(context).id, now: ctx.clock.now() });
      if (!change) throw new NotFoundError("alert", String(id));
      await stopAlertEscalations(escalations, [id]);
      return { alert: toAlert(change.alert) };
    },

    async addNote(req, context) {
      const alertId = requireId(req.alertId, "alert_id");
      const text = requireText(req.text, "text", MAX_NOTE_LENGTH);
      const event = await addNote(db(), {
        alertId,
        text,
        actor: principalOf(context).id,
        now: ctx.clock.now(),
      });
      if (!event) throw new NotFoundError("alert", String(alertId));
      return { event: toAlertEvent(event) };
    },

    async listAlertEvents(req) {
      const alertId = requireId(req.alertId, "alert_id");
      const limit = pageSize(req.pageSize);
      const afterId = decodePageToken(req.pageToken, "alert_events", { alertId }, isPositiveId);
      const page = await listAlertEvents(db(), { alertId, limit, afterId });
      if (!page) throw new NotFoundError("alert", String(alertId));
      return {
        events: page.events.map(toAlertEvent),
        nextPageToken:
          page.nextAfterId === undefined
            ? ""
            : encodePageToken("alert_events", page.nextAfterId, { alertId }),
      };
    },

    async bulkAcknowledgeAlerts(req, context) {
      const ids = bulkIds(req.ids);
      const changed = await bulkAcknowledgeAlerts(db(), {
        ids,
        actor: principalOf(context).id,
        now: ctx.clock.now(),
      });
      // None of `ids` is triggered now: every escalation among them stops.
      await stopAlertEscalations(escalations, ids);
      return { acknowledgedIds: changed.map(BigInt) };
    },

    async bulkResolveAlerts(req, context) {
      const ids = bulkIds(req.ids);
      const changed = await bulkResolveAlerts(db(), {
        ids,
        actor: principalOf(context).id,
        now: ctx.clock.now(),
      });
      await stopAlertEscalations(escalations, ids);
      return { resolvedIds: changed.map(BigInt) };
    },

    async escalateAlert(req, context) {
      const id = requireId(req.id, "id");
      const outcome = await escalateAlertNow(escalations, { alertId: id, actor: principalOf(context).id });
      switch (outcome.outcome) {
        case "not_found":
          throw new NotFoundError("alert", String(id));
        case "not_triggered":
          throw new PreconditionError(
            `alert ${id} is ${outcome.alertStatus}: only a triggered alert escalates`,
          );
        case "no_policy":
          throw new PreconditionError(`alert ${id} cannot escalate: its service has no escalation policy`);
      }
      return {
        alert: toAlert(await alertOrThrow(id)),
        stepIndex: outcome.position.stepIndex,
        repeatCycle: outcome.position.repeatCycle,
      };
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
