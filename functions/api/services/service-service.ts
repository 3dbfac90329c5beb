import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { IntegrationKeyType as KeyTypeName } from "../../adapters/db/schema.ts";
import { createChangeEventUseCases, type StoredChangeEvent } from "../../app/change-events.ts";
import type { AppContext } from "../../app/context.ts";
import type { IntegrationKeyRow, ServicePatch, ServiceRow } from "../../app/services.ts";
import * as useCases from "../../app/services.ts";
import { isRecord } from "../../domain/alerts/validate.ts";
import { ValidationError } from "../../domain/errors.ts";
import {
  keyRateLimit,
  MAX_DESCRIPTION_LENGTH,
  MAX_NAME_LENGTH,
  rotationOverlapSeconds,
} from "../../domain/services/limits.ts";
import {
  type IntegrationKey,
  IntegrationKeySchema,
  IntegrationKeyType,
  type Service,
  type ServiceChangeEvent,
  ServiceChangeEventSchema,
  ServiceSchema,
  type ServiceService,
} from "../../gen/oncall/v1/services_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isNameCursor,
  optionalText,
  optionalTimestamp,
  optionalUuid,
  pageSize,
  requireText,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

const updatableFields = ["name", "description", "escalation_policy_id"] as const;

/** oncall.v1.ServiceService: services and their integration keys; each RPC maps in, calls one use case, maps out. */
export function createServiceService(ctx: AppContext): ServiceImpl<typeof ServiceService> {
  const changeEvents = createChangeEventUseCases(ctx);
  return {
    async createService(req) {
      const input = {
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        description: optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        escalationPolicyId: optionalUuid(req.escalationPolicyId, "escalation_policy_id"),
      };
      return { service: toService(await useCases.createService(ctx, input)) };
    },

    async getService(req) {
      return { service: toService(await useCases.getService(ctx, requireUuid(req.id, "id"))) };
    },

    async listServices(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "services", { search }, isNameCursor);
      const page = await useCases.listServices(ctx, { search, limit, after });
      return {
        services: page.services.map(toService),
        nextPageToken: page.next ? encodePageToken("services", page.next, { search }) : "",
      };
    },

    async updateService(req) {
      const input = req.service;
      if (!input) throw new ValidationError("service", "is required");
      const id = requireUuid(input.id, "service.id");
      const mask = readUpdateMask(req.updateMask, updatableFields);
      const patch: ServicePatch = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "service.name", MAX_NAME_LENGTH, mask.required);
      if (mask.has("description")) {
        patch.description = optionalText(input.description, "service.description", MAX_DESCRIPTION_LENGTH);
      }
      if (mask.has("escalation_policy_id")) {
        patch.escalationPolicyId = optionalUuid(input.escalationPolicyId, "service.escalation_policy_id");
      }
      return { service: toService(await useCases.updateService(ctx, id, patch)) };
    },

    async deleteService(req) {
      await useCases.deleteService(ctx, requireUuid(req.id, "id"));
      return {};
    },

    async createIntegrationKey(req) {
      const issued = await useCases.createIntegrationKey(ctx, {
        serviceId: requireUuid(req.serviceId, "service_id"),
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        type: keyTypeName(req.type, "type"),
        rateLimitPerMinute: keyRateLimit(req.rateLimitPerMinute, "rate_limit_per_minute"),
      });
      return { key: toIntegrationKey(issued.key), secret: issued.secret };
    },

    async listServiceChangeEvents(req) {
      const serviceId = requireUuid(req.serviceId, "service_id");
      const limit = pageSize(req.pageSize);
      const before = decodePageToken(
        req.pageToken,
        "service-change-events",
        { serviceId },
        isChangeEventCursor,
      );
      const rows = await changeEvents.list({
        serviceId,
        limit: limit + 1,
        ...(before ? { beforeId: before.id } : {}),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        changeEvents: page.map(toChangeEvent),
        nextPageToken:
          rows.length > limit && last
            ? encodePageToken("service-change-events", { id: last.id }, { serviceId })
            : "",
      };
    },

    async listIntegrationKeys(req) {
      const serviceId = requireUuid(req.serviceId, "service_id");
      const rows = await useCases.listIntegrationKeys(ctx, { serviceId, includeRevoked: req.includeRevoked });
      return { keys: rows.map(toIntegrationKey) };
    },

    async revokeIntegrationKey(req) {
      return { key: toIntegrationKey(await useCases.revokeIntegrationKey(ctx, requireUuid(req.id, "id"))) };
    },

    async rotateIntegrationKey(req) {
      const id = requireUuid(req.id, "id");
      const overlap = rotationOverlapSeconds(req.overlapSeconds, "overlap_seconds");
      const issued = await useCases.rotateIntegrationKey(ctx, id, overlap);
      return { key: toIntegrationKey(issued.key), secret: issued.secret };
    },
  };
}

export function toService(row: ServiceRow): Service {
  return create(ServiceSchema, {
    id: row.id,
    name: row.name,
    description: row.description,
    escalationPolicyId: row.escalation_policy_id ?? "",
    createTime: timestampFromDate(row.created_at),
    updateTime: timestampFromDate(row.updated_at),
  });
}

const keyTypeByName: Record<KeyTypeName, IntegrationKeyType> = {
  alertmanager: IntegrationKeyType.ALERTMANAGER,
  grafana: IntegrationKeyType.GRAFANA,
  generic: IntegrationKeyType.GENERIC,
  pagerduty: IntegrationKeyType.PAGERDUTY,
  universal: IntegrationKeyType.UNIVERSAL,
};

function keyTypeName(type: IntegrationKeyType, field: string): KeyTypeName {
  if (type === IntegrationKeyType.UNSPECIFIED) throw new ValidationError(field, "is required");
  const name = (Object.keys(keyTypeByName) as KeyTypeName[]).find((n) => keyTypeByName[n] === type);
  if (!name) throw new ValidationError(field, `unknown integration key type ${type}`);
  return name;
}

export function toIntegrationKey(row: IntegrationKeyRow): IntegrationKey {
  return create(IntegrationKeySchema, {
    id: row.id,
    serviceId: row.service_id,
    name: row.name,
    type: keyTypeByName[row.type],
    secretPrefix: row.secret_prefix,
    createTime: timestampFromDate(row.created_at),
    revokeTime: optionalTimestamp(row.revoked_at),
    lastUsedTime: optionalTimestamp(row.last_used_at),
    rateLimitPerMinute: row.rate_limit_per_minute ?? 0,
    previousSecretPrefix: row.previous_secret_prefix ?? "",
    previousSecretExpireTime: optionalTimestamp(row.previous_secret_expires_at),
  });
}

function isChangeEventCursor(value: unknown): value is { id: number } {
  return isRecord(value) && Number.isSafeInteger(value.id) && (value.id as number) > 0;
}

function toChangeEvent(row: StoredChangeEvent): ServiceChangeEvent {
  return create(ServiceChangeEventSchema, {
    id: String(row.id),
    serviceId: row.serviceId,
    summary: row.summary,
    source: row.source ?? "",
    eventTime: timestampFromDate(row.happenedAt),
    ...(row.customDetails === null || row.customDetails === undefined
      ? {}
      : { customDetails: fromJson(ValueSchema, row.customDetails as JsonValue) }),
    links: row.links.map((l) => ({ href: l.href, text: l.text })),
    receiveTime: timestampFromDate(row.receivedAt),
  });
}
