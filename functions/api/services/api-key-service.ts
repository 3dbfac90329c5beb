import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ApiKeyRow, ApiKeyScope as ScopeName } from "../../app/api-keys.ts";
import * as useCases from "../../app/api-keys.ts";
import type { AppContext } from "../../app/context.ts";
import { ValidationError } from "../../domain/errors.ts";
import { MAX_NAME_LENGTH } from "../../domain/services/limits.ts";
import {
  type ApiKey,
  ApiKeySchema,
  ApiKeyScope,
  type ApiKeyService,
} from "../../gen/oncall/v1/api_keys_pb.ts";
import { optionalTimestamp, requireText, requireUuid } from "../request-validation.ts";

/**
 * oncall.v1.ApiKeyService. Admin-only: the auth interceptor refuses API keys here (see
 * `adminOnlyServices` in routes.ts), so a key can never mint or revoke keys.
 */
export function createApiKeyService(ctx: AppContext): ServiceImpl<typeof ApiKeyService> {
  return {
    async createApiKey(req) {
      const name = requireText(req.name, "name", MAX_NAME_LENGTH);
      const scope = scopeName(req.scope, "scope");
      const { key, secret } = await useCases.createApiKey(ctx, { name, scope });
      return { key: toApiKey(key), secret };
    },

    async listApiKeys(req) {
      const rows = await useCases.listApiKeys(ctx, { includeRevoked: req.includeRevoked });
      return { keys: rows.map(toApiKey) };
    },

    async revokeApiKey(req) {
      return { key: toApiKey(await useCases.revokeApiKey(ctx, requireUuid(req.id, "id"))) };
    },
  };
}

const scopeByName: Record<ScopeName, ApiKeyScope> = {
  read: ApiKeyScope.READ,
  read_write: ApiKeyScope.READ_WRITE,
};

function scopeName(scope: ApiKeyScope, field: string): ScopeName {
  if (scope === ApiKeyScope.UNSPECIFIED) {
    throw new ValidationError(field, "is required: API_KEY_SCOPE_READ or API_KEY_SCOPE_READ_WRITE");
  }
  if (scope === ApiKeyScope.READ) return "read";
  if (scope === ApiKeyScope.READ_WRITE) return "read_write";
  throw new ValidationError(field, `unknown scope ${scope}`);
}

export function toApiKey(row: ApiKeyRow): ApiKey {
  return create(ApiKeySchema, {
    id: row.id,
    name: row.name,
    scope: scopeByName[row.scope],
    secretPrefix: row.secret_prefix,
    createTime: timestampFromDate(row.created_at),
    revokeTime: optionalTimestamp(row.revoked_at),
    lastUsedTime: optionalTimestamp(row.last_used_at),
  });
}
