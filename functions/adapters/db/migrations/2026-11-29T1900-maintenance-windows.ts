import { type Kysely, sql } from "kysely";

// Why: maintenance windows (issue 13) suppress or annotate alerts in their scope while active. A
// window's state is not stored: it follows from its schedule (one-off start/end, or weekly in a zone,
// as JSONB in the domain's shape) and `cancelled_at`, so it cannot go stale. `starts_at`/`ends_at`
// (the series' bounds) serve the list and the loader of live windows without reading the JSONB.
// One version row is bumped by every window change in the same statement, so a warm process re-reads
// the windows only when it moved (ingest reads one row per few seconds, not the windows per alert).
// Every change keeps who, when, before and after (maintenance_window_changes). When a window ends,
// housekeeping re-routes the open alerts it suppressed: maintenance_releases remembers which
// suppressions (routing's 'suppressed' log entries) it has released, so a sweep that runs twice
// releases once, and an alert suppressed again later (a new entry) is released again.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table maintenance_windows (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        reason text not null default '',
        owner text not null,
        action text not null check (action in ('suppress', 'annotate')),
        schedule jsonb not null,
        scope jsonb not null,
        starts_at timestamptz not null,
        ends_at timestamptz,
        cancelled_at timestamptz,
        created_by text not null,
        created_at timestamptz not null,
        updated_by text not null,
        updated_at timestamptz not null
      )
    `,
    sql`create index maintenance_windows_starts_idx on maintenance_windows (starts_at desc, id)`,
    sql`
      create table maintenance_window_changes (
        id bigint generated always as identity primary key,
        window_id uuid not null,
        change text not null,
        actor text not null,
        before jsonb,
        after jsonb,
        version bigint not null,
        created_at timestamptz not null
      )
    `,
    sql`create index maintenance_window_changes_window_idx on maintenance_window_changes (window_id, id desc)`,
    sql`
      create table maintenance_state (
        id integer primary key check (id = 1),
        version bigint not null,
        updated_at timestamptz not null
      )
    `,
    sql`insert into maintenance_state (id, version, updated_at) values (1, 0, now())`,
    sql`
      create table maintenance_releases (
        suppression_event_id bigint primary key,
        alert_id bigint not null,
        window_id uuid not null,
        released_at timestamptz not null
      )
    `,
    // The sweep's scan: the alerts routing left suppressed (a few of alert_routing's rows).
    sql`create index alert_routing_suppressed_idx on alert_routing (alert_id) where state = 'suppressed'`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index alert_routing_suppressed_idx`.execute(db);
  await sql`drop table maintenance_releases, maintenance_state, maintenance_window_changes, maintenance_windows`.execute(
    db,
  );
}
