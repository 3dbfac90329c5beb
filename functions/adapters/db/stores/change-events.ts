import { timingSafeEqual } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { ChangeEvent } from "../../../domain/changes/parse-change-event.ts";
import type { Database, IntegrationKeyType } from "../schema.ts";
import { countKeyRequest, hashSecret, randomKeyUsageSlot } from "./integration-keys.ts";

export interface StoredChangeEvent {
  id: number;
  serviceId: string;
  summary: string;
  source: string | null;
  happenedAt: Date;
  customDetails: unknown;
  links: { href: string; text: string }[];
  receivedAt: Date;
}

export interface KeyedChangeEventResult {
  /** The key found for the secret (undefined: unknown or revoked). */
  key?: {
    keyId: string;
    serviceId: string;
    type: IntegrationKeyType;
    requestsThisMinute: number;
    limitPerMinute: number;
  };
  /** The new event's id when the key admitted it; nothing is written otherwise. */
  eventId?: number;
}

/**
 * In one statement: finds the live key with this secret, counts the request in its rate window,
 * and records the change event on the key's service if the key `admits` it (PagerDuty or universal
 * key, within its per-minute limit: the rule of `admits` in domain/alerts/ingest.ts).
 */
export async function recordChangeEventWithKey(
  db: Kysely<Database>,
  input: { secret: string; now: Date; defaultLimitPerMinute: number; event: ChangeEvent },
): Promise<KeyedChangeEventResult> {
  const hash = hashSecret(input.secret);
  const { event } = input;
  const { rows } = await sql<{
    id: string;
    service_id: string;
    type: IntegrationKeyType;
    secret_hash: string;
    rate_window_count: number;
    limit_per_minute: number;
    event_id: string | number | null;
  }>`
    with ${countKeyRequest({ hash, now: input.now, defaultLimitPerMinute: input.defaultLimitPerMinute, slot: randomKeyUsageSlot() })},
    inserted as (
      insert into service_change_events
        (service_id, integration_key_id, summary, source, happened_at, custom_details, links, received_at)
      select k.service_id, k.id, ${event.summary}, ${event.source ?? null}::text,
        ${event.happenedAt.toISOString()}::timestamptz, cast(${JSON.stringify(event.customDetails ?? null)} as jsonb),
        cast(${JSON.stringify(event.links)} as jsonb), ${input.now.toISOString()}::timestamptz
      from key k
      where (k.type = 'universal' or k.type = 'pagerduty') and k.rate_window_count <= k.limit_per_minute
      returning id
    )
    select k.id, k.service_id, k.type, k.secret_hash, k.rate_window_count, k.limit_per_minute,
      (select id from inserted) as event_id
    from key k
  `.execute(db);
  const row = rows[0];
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, "hex"), Buffer.from(hash, "hex"))) return {};
  return {
    key: {
      keyId: row.id,
      serviceId: row.service_id,
      type: row.type,
      requestsThisMinute: row.rate_window_count,
      limitPerMinute: row.limit_per_minute,
    },
    ...(row.event_id === null ? {} : { eventId: Number(row.event_id) }),
  };
}

/** A service's change events, newest first, after `beforeId` (keyset paging). */
export async function listServiceChangeEvents(
  db: Kysely<Database>,
  input: { serviceId: string; limit: number; beforeId?: number },
): Promise<StoredChangeEvent[]> {
  let query = db
    .selectFrom("service_change_events")
    .select([
      "id",
      "service_id",
      "summary",
      "source",
      "happened_at",
      "custom_details",
      "links",
      "received_at",
    ])
    .where("service_id", "=", input.serviceId)
    .orderBy("id", "desc")
    .limit(input.limit);
  if (input.beforeId !== undefined) query = query.where("id", "<", input.beforeId);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    serviceId: r.service_id,
    summary: r.summary,
    source: r.source,
    happenedAt: r.happened_at,
    customDetails: r.custom_details,
    links: (r.links ?? []) as StoredChangeEvent["links"],
    receivedAt: r.received_at,
  }));
}
