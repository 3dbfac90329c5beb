import type { ApiKeyRow, ApiKeyScope, AuthenticatedApiKey } from "../adapters/db/stores/api-keys.ts";
import * as store from "../adapters/db/stores/api-keys.ts";
import { NotFoundError } from "../domain/errors.ts";
import type { AppContext } from "./context.ts";

export type { ApiKeyRow, ApiKeyScope, AuthenticatedApiKey } from "../adapters/db/stores/api-keys.ts";

// Use cases of API keys: minted and revoked by the admin, checked on every RPC by the auth interceptor.

export type ApiKeysDeps = Pick<AppContext, "database" | "clock">;

export function createApiKey(
  deps: ApiKeysDeps,
  input: { name: string; scope: ApiKeyScope },
): Promise<{ key: ApiKeyRow; secret: string }> {
  return store.createApiKey(deps.database.db, { ...input, now: deps.clock.now() });
}

export function listApiKeys(deps: ApiKeysDeps, input: { includeRevoked: boolean }): Promise<ApiKeyRow[]> {
  return store.listApiKeys(deps.database.db, input);
}

export async function revokeApiKey(deps: ApiKeysDeps, id: string): Promise<ApiKeyRow> {
  const row = await store.revokeApiKey(deps.database.db, id, deps.clock.now());
  if (!row) throw new NotFoundError("API key", id);
  return row;
}

/** The live key a bearer secret belongs to (its use recorded), or undefined. */
export function authenticateApiKey(
  deps: ApiKeysDeps,
  secret: string,
): Promise<AuthenticatedApiKey | undefined> {
  return store.authenticateApiKey(deps.database.db, { secret, now: deps.clock.now() });
}
