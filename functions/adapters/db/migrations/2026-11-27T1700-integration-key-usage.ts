import { type Kysely, sql } from "kysely";

// Why: each webhook request counted itself in its key's row (rate window) inside the ingest
// statement, so all requests of one key queued on that row lock for the whole statement:
// ~200–300 requests/s per key however many senders there were. The count now lives in a few
// slots per key; a request bumps one slot picked at random and sums the others, so concurrent
// requests of a key rarely wait for each other. The limit can be overshot by the requests in
// flight at the same instant, which a rate limit tolerates. `last_used_at` stays on the key,
// written at most once a minute (as for API keys), so it no longer locks every request either.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table integration_key_usage (
        key_id uuid not null references integration_keys (id) on delete cascade,
        slot smallint not null check (slot >= 0),
        window_start timestamptz not null,
        request_count integer not null check (request_count > 0),
        primary key (key_id, slot)
      )
    `,
    sql`
      alter table integration_keys drop column rate_window_start, drop column rate_window_count
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`
      alter table integration_keys
        add column rate_window_start timestamptz,
        add column rate_window_count integer not null default 0
    `,
    sql`drop table integration_key_usage`,
  ]) {
    await statement.execute(db);
  }
}
