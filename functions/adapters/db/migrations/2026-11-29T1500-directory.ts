import { type Kysely, sql } from "kysely";

// Why: the embedded user directory (issue 12). When no ONCALL_DIRECTORY_URL is set, oncall is its own
// kneutral-api: users and their contact methods live here, served at /kneutral.directory.v1.* . User
// ids are text (kneutral-api's ids are opaque; the demo's are "demo-alice"), contact method ids uuids.
// Verification codes are kept as salted hashes with an expiry and an attempt counter, one pending code
// per contact method (a new one replaces the old); `sent_at` rate-limits resends. Search is an ilike
// over name and email: an embedded directory holds hundreds of people, not millions.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table directory_users (
        id text primary key,
        name text not null,
        email text not null,
        time_zone text not null,
        slack_user_id text not null default '',
        teams_user_id text not null default '',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`create index directory_users_name on directory_users (lower(name), id)`,
    sql`
      create table directory_contact_methods (
        id uuid primary key default gen_random_uuid(),
        user_id text not null references directory_users (id) on delete cascade,
        type text not null,
        name text not null,
        value text not null,
        verified boolean not null,
        disabled boolean not null,
        last_test_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (user_id, type, value)
      )
    `,
    sql`
      create table directory_verification_codes (
        contact_method_id uuid primary key references directory_contact_methods (id) on delete cascade,
        code_hash text not null,
        expires_at timestamptz not null,
        attempts int not null default 0,
        sent_at timestamptz not null
      )
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop table directory_verification_codes`,
    sql`drop table directory_contact_methods`,
    sql`drop table directory_users`,
  ]) {
    await statement.execute(db);
  }
}
