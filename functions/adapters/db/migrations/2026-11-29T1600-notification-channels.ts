import { type Kysely, sql } from "kysely";

// Why: channels (issue 12) are the named destinations that escalation steps and routing rules
// point at by `channel_id`: Slack, Teams, email lists, signed webhooks. The configuration is JSONB
// (its shape is the domain's ChannelConfig, one per type) and holds secret *references* only, never
// secret values. Names are unique ignoring case (the unique index also orders the list). Escalation
// step targets are JSONB without foreign keys, so a channel still named by a step is refused at
// delete by the store (as schedules and rotations are).
//
// local_outbox: where the embedded runtime puts email and SMS when no SMTP server or SNS is
// configured (DESIGN: "otherwise a local outbox, queryable through the API"), so that a newcomer sees
// the page that would have gone out. One row per idempotency key: a retried send records nothing twice.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table notification_channels (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        type text not null,
        config jsonb not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`create unique index notification_channels_name on notification_channels (lower(name))`,
    sql`
      create table local_outbox (
        id bigint generated always as identity primary key,
        idempotency_key text not null unique,
        destination_kind text not null,
        destination jsonb not null,
        message_kind text not null,
        parts jsonb not null,
        created_at timestamptz not null default now()
      )
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [sql`drop table local_outbox`, sql`drop table notification_channels`]) {
    await statement.execute(db);
  }
}
