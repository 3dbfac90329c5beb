import { type Kysely, sql } from "kysely";

// Why (issue 10): the ingest statement writes a first step's deliveries, planned before it from the
// recipients' directory entries, notification rules and contact methods, and the channels it
// names. Reading those for every request cost three or four queries (~4 ms per 100-alert request
// on PGlite, a seventh of an escalating request); remembered instead, they are written only while
// this version is the one they were read at (the statement compares it, as it compares the policy
// it planned from). Every write to the tables they come from bumps it, in the same transaction:
// management RPCs, a few a day, never on a hot path.
const tables = [
  "directory_users",
  "directory_contact_methods",
  "notification_rules",
  "notification_channels",
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table recipients_version (
        id integer primary key check (id = 1),
        version bigint not null
      )
    `,
    sql`insert into recipients_version (id, version) values (1, 0)`,
    sql`
      create function bump_recipients_version() returns trigger
      language plpgsql as $$
      begin
        update recipients_version set version = version + 1 where id = 1;
        return null;
      end
      $$
    `,
    ...tables.map(
      (table) => sql`
      create trigger ${sql.raw(`${table}_bump_recipients_version`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function bump_recipients_version()
    `,
    ),
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    ...tables.map(
      (table) => sql`drop trigger ${sql.raw(`${table}_bump_recipients_version`)} on ${sql.table(table)}`,
    ),
    sql`drop function bump_recipients_version()`,
    sql`drop table recipients_version`,
  ]) {
    await statement.execute(db);
  }
}
