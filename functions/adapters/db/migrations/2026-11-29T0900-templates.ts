import { type Kysely, sql } from "kysely";

// Why: message templates (issue 11) with immutable versions. A template row says which version is
// live; each save appends a template_versions row that a trigger refuses to change, so a delivery
// that records (template, version) can always be re-rendered exactly. Pins say which template a
// service uses per kind of message; they live in their own table (not a column on services) so a
// service can pin one template per kind, routing rules can get their own pins later, and a pinned
// template cannot be deleted (on delete restrict, besides the DeleteTemplate check).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table templates (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        description text not null default '',
        kind text not null,
        live_version int not null,
        latest_version int not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )
    `,
    sql`create index templates_name on templates (lower(name), id)`,
    sql`
      create table template_versions (
        template_id uuid not null references templates (id) on delete cascade,
        version int not null,
        variants jsonb not null,
        author text not null,
        change_note text not null default '',
        created_at timestamptz not null default now(),
        primary key (template_id, version)
      )
    `,
    sql`
      create function refuse_template_version_update() returns trigger
      language plpgsql as $$
      begin
        raise exception 'template versions are immutable (template %, version %)', old.template_id, old.version;
      end
      $$
    `,
    sql`
      create trigger template_versions_immutable before update on template_versions
      for each row execute function refuse_template_version_update()
    `,
    sql`
      create table template_pins (
        service_id uuid not null references services (id) on delete cascade,
        kind text not null,
        template_id uuid not null references templates (id) on delete restrict,
        created_at timestamptz not null default now(),
        primary key (service_id, kind)
      )
    `,
    sql`create index template_pins_template on template_pins (template_id)`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop table template_pins`,
    sql`drop table template_versions`,
    sql`drop function refuse_template_version_update()`,
    sql`drop table templates`,
  ]) {
    await statement.execute(db);
  }
}
