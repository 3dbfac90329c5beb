import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import type { WindowChangeRecord, WindowView } from "../../app/maintenance.ts";
import * as useCases from "../../app/maintenance.ts";
import { isRecord } from "../../domain/alerts/validate.ts";
import { ValidationError } from "../../domain/errors.ts";
import type {
  MaintenanceSchedule as DomainSchedule,
  MaintenanceWindowSpec,
} from "../../domain/maintenance/windows.ts";
import { MAX_REASON_LENGTH, MAX_WINDOW_NAME_LENGTH } from "../../domain/maintenance/windows.ts";
import type { RoutableAlert } from "../../domain/routing/model.ts";
import {
  MaintenanceAction,
  type MaintenanceSchedule,
  type MaintenanceScope,
  type MaintenanceService,
  MaintenanceState,
  type MaintenanceWindow,
  type MaintenanceWindowChange,
  MaintenanceWindowChangeSchema,
  MaintenanceWindowSchema,
} from "../../gen/oncall/v1/maintenance_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isUuid,
  optionalDate,
  optionalText,
  optionalTimestamp,
  pageSize,
  principalOf,
  requireDate,
  requireId,
  requireText,
  requireUserId,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

const updatableFields = ["name", "reason", "owner", "action", "schedule", "scope"] as const;
const MAX_CEL_INPUT = 4096;
const MAX_LABEL_VALUE = 4096;

/** oncall.v1.MaintenanceService: each RPC maps in, calls one use case, maps out. */
export function createMaintenanceService(ctx: AppContext): ServiceImpl<typeof MaintenanceService> {
  return {
    async createMaintenanceWindow(req, context) {
      const input = req.window;
      if (!input) throw new ValidationError("window", "is required");
      const spec: MaintenanceWindowSpec = {
        name: requireText(input.name, "window.name", MAX_WINDOW_NAME_LENGTH),
        reason: optionalText(input.reason, "window.reason", MAX_REASON_LENGTH),
        owner: requireUserId(input.owner, "window.owner"),
        action: actionOf(input.action, "window.action"),
        schedule: scheduleOf(input.schedule, "window.schedule", ctx.clock.now()),
        scope: scopeOf(input.scope, "window.scope"),
      };
      return {
        window: toWindow(
          await prefixed("window", useCases.createMaintenanceWindow(ctx, spec, principalOf(context).id)),
        ),
      };
    },

    async getMaintenanceWindow(req) {
      return { window: toWindow(await useCases.getMaintenanceWindow(ctx, requireUuid(req.id, "id"))) };
    },

    async listMaintenanceWindows(req) {
      const includeEnded = req.includeEnded;
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "maintenance-windows", { includeEnded }, isWindowCursor);
      const page = await useCases.listMaintenanceWindows(ctx, { includeEnded, limit, after });
      return {
        windows: page.windows.map(toWindow),
        nextPageToken: page.next ? encodePageToken("maintenance-windows", page.next, { includeEnded }) : "",
      };
    },

    async updateMaintenanceWindow(req, context) {
      const input = req.window;
      if (!input) throw new ValidationError("window", "is required");
      const id = requireUuid(input.id, "window.id");
      const mask = readUpdateMask(req.updateMask, updatableFields);
      const patch: { -readonly [K in keyof MaintenanceWindowSpec]?: MaintenanceWindowSpec[K] } = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "window.name", MAX_WINDOW_NAME_LENGTH, mask.required);
      if (mask.has("reason")) patch.reason = optionalText(input.reason, "window.reason", MAX_REASON_LENGTH);
      if (mask.has("owner")) patch.owner = requireUserId(input.owner, "window.owner");
      if (mask.has("action")) patch.action = actionOf(input.action, "window.action");
      if (mask.has("schedule"))
        patch.schedule = scheduleOf(input.schedule, "window.schedule", ctx.clock.now());
      if (mask.has("scope")) patch.scope = scopeOf(input.scope, "window.scope");
      const view = await prefixed(
        "window",
        useCases.updateMaintenanceWindow(ctx, id, patch, principalOf(context).id),
      );
      return { window: toWindow(view) };
    },

    async cancelMaintenanceWindow(req, context) {
      const view = await useCases.cancelMaintenanceWindow(
        ctx,
        requireUuid(req.id, "id"),
        principalOf(context).id,
      );
      return { window: toWindow(view) };
    },

    async extendMaintenanceWindow(req, context) {
      const id = requireUuid(req.id, "id");
      const endAt = requireDate(req.endTime, "end_time");
      return {
        window: toWindow(await useCases.extendMaintenanceWindow(ctx, id, endAt, principalOf(context).id)),
      };
    },

    async listMaintenanceWindowChanges(req) {
      const windowId = requireUuid(req.windowId, "window_id");
      const limit = pageSize(req.pageSize);
      const before = decodePageToken(req.pageToken, "maintenance-window-changes", { windowId }, isIdCursor);
      const rows = await useCases.listMaintenanceWindowChanges(ctx, {
        windowId,
        limit: limit + 1,
        beforeId: before?.id,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        changes: page.map(toChange),
        nextPageToken:
          rows.length > limit && last
            ? encodePageToken("maintenance-window-changes", { id: last.id }, { windowId })
            : "",
      };
    },

    async checkAlertMaintenance(req) {
      const at = optionalDate(req.checkTime, "check_time");
      let input: { alertId?: number; alert?: RoutableAlert };
      switch (req.alert.case) {
        case "alertId":
          input = { alertId: requireId(req.alert.value, "alert_id") };
          break;
        case "sample": {
          const s = req.alert.value;
          input = {
            alert: {
              serviceId: s.serviceId === "" ? "" : requireUuid(s.serviceId, "sample.service_id"),
              summary: optionalText(s.summary, "sample.summary", 1024),
              details: optionalText(s.details, "sample.details", 16_384),
              severity: optionalText(s.severity, "sample.severity", 32),
              source: optionalText(s.source, "sample.source", 256),
              dedupKey: optionalText(s.dedupKey, "sample.dedup_key", 256),
              labels: stringMap(s.labels, "sample.labels"),
              annotations: stringMap(s.annotations, "sample.annotations"),
              createdAt: at ?? ctx.clock.now(),
            },
          };
          break;
        }
        default:
          throw new ValidationError("alert", "an alert_id or a sample alert is required");
      }
      const result = await useCases.checkAlertMaintenance(ctx, { ...input, at });
      return {
        action:
          result.verdict.action === "none"
            ? MaintenanceAction.UNSPECIFIED
            : actionEnum[result.verdict.action],
        ...(result.window ? { window: toWindow(result.window) } : {}),
      };
    },
  };
}

/** Domain fields are named as in the window message; the request nests it under `window`. */
async function prefixed<T>(prefix: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ValidationError && !error.field.startsWith(`${prefix}.`)) {
      const message = error.message.slice(error.field.length + 2);
      throw new ValidationError(`${prefix}.${error.field}`, message);
    }
    throw error;
  }
}

const actionEnum = { suppress: MaintenanceAction.SUPPRESS, annotate: MaintenanceAction.ANNOTATE } as const;

function actionOf(action: MaintenanceAction, field: string): "suppress" | "annotate" {
  if (action === MaintenanceAction.SUPPRESS) return "suppress";
  if (action === MaintenanceAction.ANNOTATE) return "annotate";
  throw new ValidationError(field, "is required: MAINTENANCE_ACTION_SUPPRESS or MAINTENANCE_ACTION_ANNOTATE");
}

function scheduleOf(schedule: MaintenanceSchedule | undefined, field: string, now: Date): DomainSchedule {
  const kind = schedule?.kind;
  if (kind?.case === "oneTime") {
    return {
      kind: "once",
      startAt: requireDate(kind.value.startTime, `${field}.one_time.start_time`),
      endAt: requireDate(kind.value.endTime, `${field}.one_time.end_time`),
    };
  }
  if (kind?.case === "weekly") {
    const w = kind.value;
    if (w.weekdays.length > 7) throw new ValidationError(`${field}.weekly.weekdays`, "at most 7 weekdays");
    return {
      kind: "weekly",
      zone: w.timeZone,
      weekdays: [...new Set(w.weekdays)],
      startTime: w.startTime,
      durationMinutes: w.durationMinutes,
      from: optionalDate(w.fromTime, `${field}.weekly.from_time`) ?? now,
      until: optionalDate(w.untilTime, `${field}.weekly.until_time`) ?? null,
    };
  }
  throw new ValidationError(field, "is required: one_time or weekly");
}

function scopeOf(scope: MaintenanceScope | undefined, field: string) {
  if (!scope) throw new ValidationError(field, "is required: service_ids, label_matchers or cel");
  if (scope.serviceIds.length > 100)
    throw new ValidationError(`${field}.service_ids`, "at most 100 services");
  if (scope.labelMatchers.length > 32)
    throw new ValidationError(`${field}.label_matchers`, "at most 32 matchers");
  return {
    serviceIds: [...new Set(scope.serviceIds.map((id, i) => requireUuid(id, `${field}.service_ids[${i}]`)))],
    labelMatchers: scope.labelMatchers.map((m, i) =>
      optionalText(m, `${field}.label_matchers[${i}]`, MAX_LABEL_VALUE),
    ),
    cel: optionalText(scope.cel, `${field}.cel`, MAX_CEL_INPUT),
  };
}

function stringMap(map: Record<string, string>, field: string): Record<string, string> {
  const entries = Object.entries(map);
  if (entries.length > 128) throw new ValidationError(field, "at most 128 entries");
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of entries) out[k] = optionalText(v, `${field}.${k}`, MAX_LABEL_VALUE);
  return out;
}

const stateEnum = {
  scheduled: MaintenanceState.SCHEDULED,
  active: MaintenanceState.ACTIVE,
  ended: MaintenanceState.ENDED,
} as const;

export function toWindow({ window: w, timing }: WindowView): MaintenanceWindow {
  const s = w.schedule;
  return create(MaintenanceWindowSchema, {
    id: w.id,
    name: w.name,
    reason: w.reason,
    owner: w.owner,
    action: actionEnum[w.action],
    schedule: {
      kind:
        s.kind === "once"
          ? {
              case: "oneTime",
              value: { startTime: timestampFromDate(s.startAt), endTime: timestampFromDate(s.endAt) },
            }
          : {
              case: "weekly",
              value: {
                timeZone: s.zone,
                weekdays: [...s.weekdays],
                startTime: s.startTime,
                durationMinutes: s.durationMinutes,
                fromTime: timestampFromDate(s.from),
                untilTime: optionalTimestamp(s.until),
              },
            },
    },
    scope: {
      serviceIds: [...w.scope.serviceIds],
      labelMatchers: [...w.scope.labelMatchers],
      cel: w.scope.cel,
    },
    state: stateEnum[timing.state],
    currentStartTime: optionalTimestamp(timing.currentStart ?? null),
    currentEndTime: optionalTimestamp(timing.currentEnd ?? null),
    nextStartTime: optionalTimestamp(timing.nextStart ?? null),
    cancelTime: optionalTimestamp(w.cancelledAt),
    createdBy: w.createdBy,
    createTime: timestampFromDate(w.createdAt),
    updatedBy: w.updatedBy,
    updateTime: timestampFromDate(w.updatedAt),
  });
}

function toChange(row: WindowChangeRecord): MaintenanceWindowChange {
  return create(MaintenanceWindowChangeSchema, {
    id: String(row.id),
    windowId: row.windowId,
    change: row.change,
    actor: row.actor,
    ...(isRecord(row.before) ? { before: row.before as JsonObject } : {}),
    ...(isRecord(row.after) ? { after: row.after as JsonObject } : {}),
    changeTime: timestampFromDate(row.createdAt),
  });
}

function isWindowCursor(value: unknown): value is { startsAt: string; id: string } {
  return (
    isRecord(value) &&
    typeof value.startsAt === "string" &&
    !Number.isNaN(Date.parse(value.startsAt)) &&
    typeof value.id === "string" &&
    isUuid(value.id)
  );
}

function isIdCursor(value: unknown): value is { id: number } {
  return isRecord(value) && Number.isSafeInteger(value.id) && (value.id as number) > 0;
}
