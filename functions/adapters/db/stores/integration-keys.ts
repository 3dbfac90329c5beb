import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely, RawBuilder } from "kysely";
import { sql } from "kysely";
import type { Database, IntegrationKeyType } from "../schema.ts";

/** Prefix of every integration key secret, so that leaked keys are recognisable by scanners. */
export const integrationKeyPrefix = "oik_";

export interface NewSecret {
  secret: string;
  hash: string;
  /** What we show in listings to recognise a key: the prefix and a few characters. */
  displayPrefix: string;
}

/** A fresh secret: 192 random bits, base64url. Only its SHA-256 is stored. */
export function newIntegrationSecret(): NewSecret {
  const secret = `${integrationKeyPrefix}${randomBytes(24).toString("base64url")}`;
  return {
    secret,
    hash: hashSecret(secret),
    displayPrefix: secret.slice(0, integrationKeyPrefix.length + 6),
  };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * The statement that finds a live key by hash and counts one request in its minute window
 * (fixed window, in the database so that the limit holds across Lambda instances). Shared by
 * `authenticateIntegrationKey` and the one-statement webhook ingest.
 */
export function countKeyRequest(hash: string, now: Date, defaultLimitPerMinute: number): RawBuilder<unknown> {
  return sql`
    update integration_keys k set
      rate_window_count = case
        when k.rate_window_start = date_trunc('minute', ${now}::timestamptz) then k.rate_window_count + 1
        else 1
      end,
      rate_window_start = date_trunc('minute', ${now}::timestamptz),
      last_used_at = ${now}::timestamptz
    where k.secret_hash = ${hash} and k.revoked_at is null
    returning k.id, k.service_id, k.type, k.secret_hash, k.rate_window_count,
      coalesce(k.rate_limit_per_minute, ${defaultLimitPerMinute}::int) as limit_per_minute`;
}

export interface AuthenticatedKey {
  keyId: string;
  serviceId: string;
  type: IntegrationKeyType;
  /** Requests seen in the current minute, this one included. */
  requestsThisMinute: number;
  limitPerMinute: number;
}

/**
 * Looks a secret up and counts the request against the key's per-minute window, in one
 * statement. The count lives in the database, so the limit holds across Lambda instances.
 * Revoked and unknown keys give undefined.
 */
export async function authenticateIntegrationKey(
  db: Kysely<Database>,
  input: { secret: string; now: Date; defaultLimitPerMinute: number },
): Promise<AuthenticatedKey | undefined> {
  const hash = hashSecret(input.secret);
  const { rows } = await sql<{
    id: string;
    service_id: string;
    type: IntegrationKeyType;
    secret_hash: string;
    rate_window_count: number;
    limit_per_minute: number;
  }>`${countKeyRequest(hash, input.now, input.defaultLimitPerMinute)}`.execute(db);
  const row = rows[0];
  // The index found the row by hash; compare once more in constant time, as the contract asks.
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, "hex"), Buffer.from(hash, "hex")))
    return undefined;
  return {
    keyId: row.id,
    serviceId: row.service_id,
    type: row.type,
    requestsThisMinute: row.rate_window_count,
    limitPerMinute: row.limit_per_minute,
  };
}
