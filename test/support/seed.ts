import type { Kysely } from "kysely";
import type { Database, IntegrationKeyType } from "../../functions/adapters/db/schema.ts";
import { ingestWithKey } from "../../functions/adapters/db/stores/alert-signals.ts";
import { newIntegrationSecret } from "../../functions/adapters/db/stores/integration-keys.ts";

export interface SeededService {
  serviceId: string;
  /** Secret per key type. */
  secrets: Record<IntegrationKeyType, string>;
  keyIds: Record<IntegrationKeyType, string>;
}

const keyTypes: IntegrationKeyType[] = ["alertmanager", "grafana", "generic", "pagerduty", "universal"];

/** A service with one integration key of every type; returns the secrets as a creator would see them. */
export async function seedService(
  db: Kysely<Database>,
  options: { name?: string; rateLimitPerMinute?: number } = {},
): Promise<SeededService> {
  const { id: serviceId } = await db
    .insertInto("services")
    .values({ name: options.name ?? "checkout", escalation_policy_id: null })
    .returning("id")
    .executeTakeFirstOrThrow();
  const secrets = {} as Record<IntegrationKeyType, string>;
  const keyIds = {} as Record<IntegrationKeyType, string>;
  for (const type of keyTypes) {
    const secret = newIntegrationSecret();
    const { id } = await db
      .insertInto("integration_keys")
      .values({
        service_id: serviceId,
        name: `${type} key`,
        type,
        secret_hash: secret.hash,
        secret_prefix: secret.displayPrefix,
        rate_limit_per_minute: options.rateLimitPerMinute ?? null,
        revoked_at: null,
        last_used_at: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    secrets[type] = secret.secret;
    keyIds[type] = id;
  }
  return { serviceId, secrets, keyIds };
}

/**
 * What an integration key looks like to a webhook request with no alerts (the production ingest
 * statement: looked up by hash, counted in its minute window): undefined for unknown or revoked keys.
 */
export async function authenticateWebhookKey(
  db: Kysely<Database>,
  input: { secret: string; now: Date; defaultLimitPerMinute: number },
) {
  return (
    await ingestWithKey(db, { ...input, defaultAlertLimitPerMinute: 20_000, source: "generic", signals: [] })
  ).key;
}
