import { randomBytes, timingSafeEqual } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { ApiKeysTable, Database } from "../schema.ts";
import { hashSecret } from "./integration-keys.ts";

/**
 * Prefix of every API key secret: scanners recognise leaked keys, and the authenticator only asks
 * the database about bearer tokens that carry it.
 */
export const apiKeyPrefix = "oak_";

export type ApiKeyScope = ApiKeysTable["scope"];

export interface ApiKeyRow {
  id: string;
  name: string;
  scope: ApiKeyScope;
  secret_prefix: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const columns = sql.raw("id, name, scope, secret_prefix, created_at, revoked_at, last_used_at");

/** `last_used_at` is written at most once per this many seconds per key (see authenticateApiKey). */
export const LAST_USED_RESOLUTION_SECONDS = 60;

/** Creates a key; the secret is in the answer only (192 random bits), the table keeps its SHA-256. */
export async function createApiKey(
  db: Kysely<Database>,
  input: { name: string; scope: ApiKeyScope; now: Date },
): Promise<{ key: ApiKeyRow; secret: string }> {
  const secret = `${apiKeyPrefix}${randomBytes(24).toString("base64url")}`;
  const { rows } = await sql<ApiKeyRow>`
    insert into api_keys (name, scope, secret_hash, secret_prefix, created_at)
    values (${input.name}, ${input.scope}, ${hashSecret(secret)}, ${secret.slice(0, apiKeyPrefix.length + 6)},
      ${input.now.toISOString()}::timestamptz)
    returning ${columns}
  `.execute(db);
  return { key: rows[0]!, secret };
}

/** All keys, oldest first; revoked ones only when asked. */
export async function listApiKeys(
  db: Kysely<Database>,
  input: { includeRevoked: boolean },
): Promise<ApiKeyRow[]> {
  const { rows } = await sql<ApiKeyRow>`
    select ${columns} from api_keys
    where ${input.includeRevoked}::boolean or revoked_at is null
    order by created_at, id
  `.execute(db);
  return rows;
}

/** Revokes at once; idempotent (the first revoke time is kept). Undefined when the key is unknown. */
export async function revokeApiKey(
  db: Kysely<Database>,
  id: string,
  now: Date,
): Promise<ApiKeyRow | undefined> {
  const { rows } = await sql<ApiKeyRow>`
    update api_keys set revoked_at = coalesce(revoked_at, ${now.toISOString()}::timestamptz)
    where id = ${id}::uuid
    returning ${columns}
  `.execute(db);
  return rows[0];
}

export interface AuthenticatedApiKey {
  id: string;
  scope: ApiKeyScope;
}

/**
 * Finds a live key by the hash of `secret`, in ONE statement that also records the use. Tokens
 * without the API key prefix are refused without a query. `last_used_at` is only rewritten when
 * older than LAST_USED_RESOLUTION_SECONDS, so a busy script does not turn every read into a row
 * update.
 *
 * @example
 * const key = await authenticateApiKey(db, { secret: bearer, now: clock.now() });
 * if (!key) throw new UnauthenticatedError("invalid token");
 */
export async function authenticateApiKey(
  db: Kysely<Database>,
  input: { secret: string; now: Date },
): Promise<AuthenticatedApiKey | undefined> {
  if (!input.secret.startsWith(apiKeyPrefix)) return undefined;
  const hash = hashSecret(input.secret);
  const now = input.now.toISOString();
  const { rows } = await sql<{ id: string; scope: ApiKeyScope; secret_hash: string }>`
    with found as (
      select id, scope, secret_hash, last_used_at from api_keys
      where secret_hash = ${hash} and revoked_at is null
    ),
    touched as (
      update api_keys k set last_used_at = ${now}::timestamptz
      from found f
      where k.id = f.id and (f.last_used_at is null
        or f.last_used_at < ${now}::timestamptz - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS}::int))
    )
    select id, scope, secret_hash from found
  `.execute(db);
  const row = rows[0];
  // The unique index found the row by hash; compare once more in constant time.
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, "hex"), Buffer.from(hash, "hex")))
    return undefined;
  return { id: row.id, scope: row.scope };
}
