import { type Kysely, sql } from "kysely";

// Why: alerts are raised against services, authenticated by integration keys (stored as hashes
// only), and every alert keeps an event log. Open alerts are unique per (service, dedup key) — a
// partial unique index, so a resolved alert's key can open a new alert and the ingest upsert can
// use ON CONFLICT. Labels are JSONB with a GIN index for label-selector (containment) queries.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table services (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        escalation_policy_id uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`
      create index services_name_idx on services (lower(name))
    `,
    sql`
      create table integration_keys (
        id uuid primary key default gen_random_uuid(),
        service_id uuid not null references services (id) on delete cascade,
        name text not null,
        type text not null check (type in ('alertmanager', 'grafana', 'generic', 'pagerduty', 'universal')),
        secret_hash text not null unique,
        secret_prefix text not null,
        rate_limit_per_minute integer check (rate_limit_per_minute is null or rate_limit_per_minute > 0),
        rate_window_start timestamptz,
        rate_window_count integer not null default 0,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      )
    `,
    sql`
      create index integration_keys_service_idx on integration_keys (service_id)
    `,
    sql`
      create table api_keys (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        scope text not null check (scope in ('read', 'read_write')),
        secret_hash text not null unique,
        secret_prefix text not null,
        created_at timestamptz not null default now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      )
    `,
    sql`
      create table alerts (
        id bigint generated always as identity primary key,
        service_id uuid not null references services (id) on delete cascade,
        dedup_key text not null,
        status text not null check (status in ('triggered', 'acknowledged', 'resolved')),
        severity text not null check (severity in ('critical', 'error', 'warning', 'info')),
        summary text not null,
        details text not null default '',
        source text not null,
        labels jsonb not null default '{}',
        annotations jsonb not null default '{}',
        raw jsonb,
        duplicate_count bigint not null default 0,
        created_at timestamptz not null default now(),
        last_seen_at timestamptz not null default now(),
        acknowledged_at timestamptz,
        acknowledged_by text,
        resolved_at timestamptz,
        resolved_by text
      )
    `,
    sql`
      create unique index alerts_open_dedup_idx on alerts (service_id, dedup_key) where status <> 'resolved'
    `,
    sql`
      create index alerts_service_status_idx on alerts (service_id, status, id desc)
    `,
    sql`
      create index alerts_status_idx on alerts (status, id desc)
    `,
    sql`
      create index alerts_labels_idx on alerts using gin (labels jsonb_path_ops)
    `,
    sql`
      create table alert_events (
        id bigint generated always as identity primary key,
        alert_id bigint not null references alerts (id) on delete cascade,
        type text not null,
        actor text not null,
        message text not null default '',
        data jsonb,
        created_at timestamptz not null default now()
      )
    `,
    sql`
      create index alert_events_alert_idx on alert_events (alert_id, id)
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table alert_events, alerts, api_keys, integration_keys, services`.execute(db);
}
