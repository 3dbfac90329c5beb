import { type Kysely, sql } from "kysely";

// Why: DeleteService hard-deleted a service with its alerts and their event log (FK cascade),
// open alerts included; a deleted service is now archived (`deleted_at`): it no longer lists, its
// keys are revoked, its alerts and events stay readable. And RotateIntegrationKey invalidated the
// old secret at once, so a sender still configured with it got 401 (Alertmanager drops alerts on
// 4xx): the replaced secret's hash is kept until `previous_secret_expires_at` (24 h by default) and
// authenticates like the current one until then.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table services add column deleted_at timestamptz`,
    sql`
      alter table integration_keys
        add column previous_secret_hash text,
        add column previous_secret_prefix text,
        add column previous_secret_expires_at timestamptz,
        add constraint integration_keys_previous_secret_check check (
          (previous_secret_hash is null) = (previous_secret_expires_at is null)
          and (previous_secret_hash is null) = (previous_secret_prefix is null)
        )
    `,
    // The webhook lookup finds a key by either hash; both stay unique across keys.
    sql`
      create unique index integration_keys_previous_secret_idx on integration_keys (previous_secret_hash)
      where previous_secret_hash is not null
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop index integration_keys_previous_secret_idx`,
    sql`
      alter table integration_keys
        drop constraint integration_keys_previous_secret_check,
        drop column previous_secret_hash,
        drop column previous_secret_prefix,
        drop column previous_secret_expires_at
    `,
    sql`alter table services drop column deleted_at`,
  ]) {
    await statement.execute(db);
  }
}
