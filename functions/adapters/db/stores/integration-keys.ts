import { createHash, randomBytes, randomInt } from "node:crypto";
import type { RawBuilder } from "kysely";
import { sql } from "kysely";

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

/** A key's `last_used_at` is rewritten at most once per this many seconds. */
export const INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS = 60;

/** Slots a key's per-minute request count is spread over (see countKeyRequest). */
export const KEY_USAGE_SLOTS = 8;

/**
 * CTEs that find a live key by hash and count one request in its minute window (fixed window, in
 * the database so that the limit holds across Lambda instances), ending in `key`: the key's id,
 * service_id, type, secret_hash (the hash that matched: the current secret's, or the one a rotation
 * replaced while its overlap lasts), limit_per_minute, and rate_window_count (requests this
 * minute, this one included), alert_limit_per_minute and alert_window_count (alerts this minute,
 * this request's `alerts` included). Used by the one-statement webhook ingest (alert-signals.ts).
 *
 * The count is spread over KEY_USAGE_SLOTS rows per key: the request bumps the slot `slot` and
 * adds the others' committed counts, so concurrent requests of one key only wait for each other
 * when they pick the same slot (they used to queue on the key's row for the whole statement).
 * Requests in flight at the same instant do not see each other's counts yet: the limit can be
 * overshot by that many.
 */
export function countKeyRequest(input: {
  hash: string;
  now: Date;
  defaultLimitPerMinute: number;
  /** Alerts this request carries, and the budget of a key that sets none (0 and any: requests only). */
  alerts?: number;
  defaultAlertLimitPerMinute?: number;
  /** A random slot in [0, KEY_USAGE_SLOTS); see `randomKeyUsageSlot`. */
  slot: number;
}): RawBuilder<unknown> {
  const { hash, now, defaultLimitPerMinute, slot } = input;
  const alerts = input.alerts ?? 0;
  const defaultAlertLimit = input.defaultAlertLimitPerMinute ?? 2_147_483_647;
  const window = sql`date_trunc('minute', ${now}::timestamptz)`;
  return sql`
    found as (
      select id, service_id, type,
        case when secret_hash = ${hash} then secret_hash else previous_secret_hash end as secret_hash,
        coalesce(rate_limit_per_minute, ${defaultLimitPerMinute}::int) as limit_per_minute,
        coalesce(alert_limit_per_minute, ${defaultAlertLimit}::int) as alert_limit_per_minute
      from integration_keys
      where (secret_hash = ${hash}
          or (previous_secret_hash = ${hash} and previous_secret_expires_at > ${now}::timestamptz))
        and revoked_at is null
    ),
    counted as (
      insert into integration_key_usage as u (key_id, slot, window_start, request_count, alert_count)
      select id, ${slot}::smallint, ${window}, 1, ${alerts}::int from found
      on conflict (key_id, slot) do update set
        request_count = case when u.window_start = excluded.window_start then u.request_count + 1 else 1 end,
        alert_count = case when u.window_start = excluded.window_start
          then u.alert_count + excluded.alert_count else excluded.alert_count end,
        window_start = excluded.window_start
      returning u.request_count, u.alert_count
    ),
    touched as (
      update integration_keys k set last_used_at = ${now}::timestamptz
      from found f
      where k.id = f.id and (k.last_used_at is null
        or k.last_used_at < ${now}::timestamptz - make_interval(secs => ${INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS}::int))
    ),
    key as (
      select f.*,
        (select request_count from counted) + coalesce(others.requests, 0) as rate_window_count,
        (select alert_count from counted) + coalesce(others.alerts, 0) as alert_window_count
      from found f
      left join lateral (
        select sum(u.request_count)::int as requests, sum(u.alert_count)::int as alerts
        from integration_key_usage u
        where u.key_id = f.id and u.slot <> ${slot}::smallint and u.window_start = ${window}
      ) others on true
    )`;
}

/** The slot a request counts itself in. */
export function randomKeyUsageSlot(): number {
  return randomInt(KEY_USAGE_SLOTS);
}
