import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { assertJsonLimits, checkLength, isRecord } from "../../../domain/alerts/validate.ts";
import {
  NotFoundError,
  PreconditionError,
  UnauthenticatedError,
  ValidationError,
} from "../../../domain/errors.ts";
import {
  type IntegrationKey,
  IntegrationKeySchema,
  IntegrationKeyType,
  type Service,
  ServiceSchema,
  type ServiceService,
} from "../../../gen/oncall/v1/services_pb.ts";
import type { AppContext } from "../../app-context.ts";
import type { IntegrationKeyType as KeyTypeName } from "../../db/schema.ts";
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
} from "../../db/stores/services.ts";
import { type Principal, principalKey } from "../auth.ts";

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

function isServiceCursor(value: unknown): value is ServiceCursor {
  return (
    isRecord(value) && typeof value.name === "string" && typeof value.id === "string" && isUuid(value.id)
  );
}

// ---------------------------------------------------------------------------------------------
// Request helpers shared by the oncall.v1 service implementations.
// Every failure is a ValidationError naming the proto field in snake_case, e.g. `service_ids[2]`.
// ---------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A uuid, checked before it reaches Postgres (which would answer a malformed one with an error
 * that is not the caller's field).
 */
export function requireUuid(value: string, field: string): string {
  if (value === "") throw new ValidationError(field, "is required");
  if (!isUuid(value))
    throw new ValidationError(field, `must be a uuid, got ${JSON.stringify(value.slice(0, 64))}`);
  return value.toLowerCase();
}

/** A uuid or null when empty. */
export function optionalUuid(value: string, field: string): string | null {
  return value === "" ? null : requireUuid(value, field);
}

/** A positive int64 id that a JS number holds exactly (ids come from `bigint generated always as identity`). */
export function requireId(value: bigint, field: string): number {
  if (value === 0n) throw new ValidationError(field, "is required");
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValidationError(field, `must be a positive id, got ${value}`);
  }
  return Number(value);
}

/** Trimmed, non-blank text of at most `maxLength` characters that Postgres can store. */
export function requireText(value: string, field: string, maxLength: number): string {
  const text = value.trim();
  if (!text) throw new ValidationError(field, "is required");
  return optionalText(text, field, maxLength);
}

/** Text of at most `maxLength` characters (may be empty), without NULs or lone surrogates. */
export function optionalText(value: string, field: string, maxLength: number): string {
  checkLength(value, field, maxLength);
  assertJsonLimits(value, field);
  return value;
}

/** A timestamp field as a Date, or undefined when unset. Years outside 1–9999 are refused. */
export function optionalDate(value: Timestamp | undefined, field: string): Date | undefined {
  if (!value) return undefined;
  const date = timestampDate(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new ValidationError(field, "must be a timestamp between years 1 and 9999");
  }
  return date;
}

export function optionalTimestamp(date: Date | null): Timestamp | undefined {
  return date ? timestampFromDate(date) : undefined;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** `page_size`: 0 means the default (50); above the maximum (500) is lowered to it, as AIP-158 asks. */
export function pageSize(value: number, field = "page_size"): number {
  if (value < 0) throw new ValidationError(field, "must not be negative");
  if (value === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(value, MAX_PAGE_SIZE);
}

const MAX_PAGE_TOKEN_LENGTH = 2048;

/**
 * An opaque page token: base64url of `{k: list, c: cursor, f: digest of the filters}`. The digest
 * binds the token to the filters it was issued for, so changing filters mid-way is an error rather
 * than a silently wrong page. Tokens are not secret: they only say where a list the caller may read
 * stopped.
 */
export function encodePageToken(list: string, cursor: unknown, filters: unknown): string {
  return Buffer.from(JSON.stringify({ k: list, c: cursor, f: filtersDigest(filters) }), "utf8").toString(
    "base64url",
  );
}

/**
 * The cursor in `token`, or undefined for an empty token (the first page).
 *
 * @throws ValidationError naming `page_token` when the token is not one this list issued, or was
 *   issued for other filters.
 */
export function decodePageToken<T>(
  token: string,
  list: string,
  filters: unknown,
  isCursor: (value: unknown) => value is T,
): T | undefined {
  if (token === "") return undefined;
  const invalid = () =>
    new ValidationError(
      "page_token",
      "is not a valid page token; pass next_page_token from the previous page unchanged",
    );
  if (token.length > MAX_PAGE_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!isRecord(parsed) || parsed.k !== list || !isCursor(parsed.c)) throw invalid();
  if (parsed.f !== filtersDigest(filters)) {
    throw new ValidationError(
      "page_token",
      "was issued for other filters; keep the filters unchanged while paging",
    );
  }
  return parsed.c;
}

/** Callers build `filters` with a fixed key order (and sorted lists), so equal filters hash equal. */
function filtersDigest(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

/** The principal the auth interceptor put on the context; what state changes record as their actor. */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("no authenticated principal");
  return principal;
}
