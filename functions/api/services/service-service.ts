import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { IntegrationKeyType as KeyTypeName } from "../../adapters/db/schema.ts";
import {
  createIntegrationKey,
  createService,
  deleteService,
  getService,
  type IntegrationKeyRow,
  listIntegrationKeys,
  listServices,
  revokeIntegrationKey,
  rotateIntegrationKey,
  type ServiceCursor,
  type ServicePatch,
  type ServiceRow,
  updateService,
} from "../../adapters/db/stores/services.ts";
import { createChangeEventUseCases, type StoredChangeEvent } from "../../app/change-events.ts";
import type { AppContext } from "../../app/context.ts";
import { isRecord } from "../../domain/alerts/validate.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../../domain/errors.ts";
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
  isUuid,
  optionalText,
  optionalTimestamp,
  optionalUuid,
  pageSize,
  requireText,
  requireUuid,
} from "../request-validation.ts";

/** Length of a service or key name. */
export const MAX_NAME_LENGTH = 200;
/** Length of a service description (markdown). */
export const MAX_DESCRIPTION_LENGTH = 4096;
/** Requests per minute a key may be given; far above any sane sender, well inside int32. */
export const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;

const updatableFields = ["name", "description", "escalation_policy_id"] as const;

/** oncall.v1.ServiceService: services and their integration keys. */
export function createServiceService(ctx: AppContext): ServiceImpl<typeof ServiceService> {
  const db = () => ctx.database.db;
  const changeEvents = createChangeEventUseCases(ctx);
  return {
    async createService(req) {
      const escalationPolicyId = optionalUuid(req.escalationPolicyId, "escalation_policy_id");
      const row = await createService(db(), {
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        description: optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        escalationPolicyId,
        now: ctx.clock.now(),
      });
      if (!row) throw new NotFoundError("escalation policy", escalationPolicyId ?? "");
      return { service: toService(row) };
    },

    async getService(req) {
      const id = requireUuid(req.id, "id");
      const row = await getService(db(), id);
      if (!row) throw new NotFoundError("service", id);
      return { service: toService(row) };
    },

    async listServices(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "services", { search }, isServiceCursor);
      const page = await listServices(db(), { search, limit, after });
      return {
        services: page.services.map(toService),
        nextPageToken: page.next ? encodePageToken("services", page.next, { search }) : "",
      };
    },

    async updateService(req) {
      if (!req.service) throw new ValidationError("service", "is required");
      const id = requireUuid(req.service.id, "service.id");
      const paths = req.updateMask?.paths.length ? req.updateMask.paths : updatableFields;
      const patch: ServicePatch = {};
      paths.forEach((path, i) => {
        switch (path) {
          case "name":
            patch.name = requireText(req.service!.name, "service.name", MAX_NAME_LENGTH);
            break;
          case "description":
            patch.description = optionalText(
              req.service!.description,
              "service.description",
              MAX_DESCRIPTION_LENGTH,
            );
            break;
          case "escalation_policy_id":
            patch.escalationPolicyId = optionalUuid(
              req.service!.escalationPolicyId,
              "service.escalation_policy_id",
            );
            break;
          default:
            throw new ValidationError(
              `update_mask.paths[${i}]`,
              `cannot update "${path}"; updatable fields are ${updatableFields.join(", ")}`,
            );
        }
      });
      const result = await updateService(db(), id, patch, ctx.clock.now());
      if (result.outcome === "service_not_found") throw new NotFoundError("service", id);
      if (result.outcome === "policy_not_found") {
        throw new NotFoundError("escalation policy", patch.escalationPolicyId ?? "");
      }
      return { service: toService(result.service) };
    },

    async deleteService(req) {
      const id = requireUuid(req.id, "id");
      if (!(await deleteService(db(), id))) throw new NotFoundError("service", id);
      return {};
    },

    async createIntegrationKey(req) {
      const serviceId = requireUuid(req.serviceId, "service_id");
      const input = {
        serviceId,
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        type: keyTypeName(req.type, "type"),
        rateLimitPerMinute: rateLimit(req.rateLimitPerMinute, "rate_limit_per_minute"),
        now: ctx.clock.now(),
      };
      const issued = await createIntegrationKey(db(), input);
      if (!issued) throw new NotFoundError("service", serviceId);
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
      const rows = await listIntegrationKeys(db(), { serviceId, includeRevoked: req.includeRevoked });
      if (!rows) throw new NotFoundError("service", serviceId);
      return { keys: rows.map(toIntegrationKey) };
    },

    async revokeIntegrationKey(req) {
      const id = requireUuid(req.id, "id");
      const row = await revokeIntegrationKey(db(), id, ctx.clock.now());
      if (!row) throw new NotFoundError("integration key", id);
      return { key: toIntegrationKey(row) };
    },

    async rotateIntegrationKey(req) {
      const id = requireUuid(req.id, "id");
      const result = await rotateIntegrationKey(db(), id);
      if (result.outcome === "not_found") throw new NotFoundError("integration key", id);
      if (result.outcome === "revoked") {
        throw new PreconditionError(`integration key ${id} is revoked; create a new key instead`);
      }
      return { key: toIntegrationKey(result.issued.key), secret: result.issued.secret };
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
  });
}

function rateLimit(value: number, field: string): number | null {
  if (value === 0) return null;
  if (value < 0 || value > MAX_RATE_LIMIT_PER_MINUTE) {
    throw new ValidationError(
      field,
      `must be between 1 and ${MAX_RATE_LIMIT_PER_MINUTE}, or 0 for the default`,
    );
  }
  return value;
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

function isServiceCursor(value: unknown): value is ServiceCursor {
  return (
    isRecord(value) && typeof value.name === "string" && typeof value.id === "string" && isUuid(value.id)
  );
}
