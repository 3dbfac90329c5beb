import { type Kysely, sql } from "kysely";

// Why: PagerDuty's Change Events API (`POST /v2/change/enqueue`: deploys, config changes) answered
// 404, so a sender configured for PagerDuty lost its change timeline. A change event belongs to a
// service, is never an alert (it pages nobody), and is read newest first per service: one table,
// one index on (service_id, id desc) for ListServiceChangeEvents' keyset pages.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table service_change_events (
        id bigint generated always as identity primary key,
        service_id uuid not null references services (id) on delete cascade,
        integration_key_id uuid references integration_keys (id) on delete set null,
        summary text not null,
        source text,
        happened_at timestamptz not null,
        custom_details jsonb,
        links jsonb not null default '[]',
        received_at timestamptz not null default now()
      )
    `,
    sql`create index service_change_events_service_idx on service_change_events (service_id, id desc)`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table service_change_events`.execute(db);
}
