import { type Kysely, type RawBuilder, sql } from "kysely";
import type {
  AlertView,
  MessageKind,
  ServiceView,
  TemplateVariants,
} from "../../../domain/templates/index.ts";
import type { Database } from "../schema.ts";
import { routingUsersOf } from "./routing-references.ts";

// Templates, their immutable versions and the pins of services. Every parameter is cast explicitly:
// the RDS Data API sends strings as varchar. Versions are only ever inserted (a trigger refuses an
// update); the template row's latest_version is the counter, bumped under the row's lock.

type Db = Kysely<Database>;

export interface TemplateRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly kind: MessageKind;
  readonly liveVersion: number;
  readonly latestVersion: number;
  readonly pinnedServiceIds: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface TemplateVersionRecord {
  readonly templateId: string;
  readonly version: number;
  readonly variants: TemplateVariants;
  readonly author: string;
  readonly changeNote: string;
  readonly createdAt: Date;
}

interface TemplateRow {
  id: string;
  name: string;
  description: string;
  kind: MessageKind;
  live_version: number;
  latest_version: number;
  pinned: string[];
  created_at: Date;
  updated_at: Date;
}

interface VersionRow {
  template_id: string;
  version: number;
  variants: TemplateVariants;
  author: string;
  change_note: string;
  created_at: Date;
}

const templateColumns = sql`t.id, t.name, t.description, t.kind, t.live_version, t.latest_version,
  t.created_at, t.updated_at,
  coalesce((select jsonb_agg(p.service_id order by p.service_id) from template_pins p where p.template_id = t.id),
    '[]'::jsonb) as pinned`;

function toTemplate(row: TemplateRow): TemplateRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    liveVersion: row.live_version,
    latestVersion: row.latest_version,
    pinnedServiceIds: row.pinned,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toVersion(row: VersionRow): TemplateVersionRecord {
  return {
    templateId: row.template_id,
    version: row.version,
    variants: row.variants,
    author: row.author,
    changeNote: row.change_note,
    createdAt: row.created_at,
  };
}

export interface NewVersion {
  readonly variants: TemplateVariants;
  readonly author: string;
  readonly changeNote: string;
}

/** Creates the template with version 1, live; one transaction. */
export async function createTemplate(
  db: Db,
  input: NewVersion & { name: string; description: string; kind: MessageKind; now: Date },
): Promise<{ template: TemplateRecord; version: TemplateVersionRecord }> {
  return db.transaction().execute(async (trx) => {
    const now = input.now.toISOString();
    const { rows } = await sql<{ id: string }>`
      insert into templates (name, description, kind, live_version, latest_version, created_at, updated_at)
      values (${input.name}, ${input.description}, ${input.kind}, 1, 1, ${now}::timestamptz, ${now}::timestamptz)
      returning id
    `.execute(trx);
    const id = rows[0]!.id;
    const version = await insertVersion(trx, id, 1, input, input.now);
    return { template: (await getTemplate(trx, id))!, version };
  });
}

async function insertVersion(db: Db, id: string, version: number, input: NewVersion, now: Date) {
  const { rows } = await sql<VersionRow>`
    insert into template_versions (template_id, version, variants, author, change_note, created_at)
    values (${id}::uuid, ${version}::int, ${JSON.stringify(input.variants)}::jsonb, ${input.author},
      ${input.changeNote}, ${now.toISOString()}::timestamptz)
    returning template_id, version, variants, author, change_note, created_at
  `.execute(db);
  return toVersion(rows[0]!);
}

export async function getTemplate(db: Db, id: string): Promise<TemplateRecord | undefined> {
  const { rows } =
    await sql<TemplateRow>`select ${templateColumns} from templates t where t.id = ${id}::uuid`.execute(db);
  return rows[0] && toTemplate(rows[0]);
}

export async function getTemplateVersion(
  db: Db,
  id: string,
  version: number,
): Promise<TemplateVersionRecord | undefined> {
  const { rows } = await sql<VersionRow>`
    select template_id, version, variants, author, change_note, created_at
    from template_versions where template_id = ${id}::uuid and version = ${version}::int
  `.execute(db);
  return rows[0] && toVersion(rows[0]);
}

/** The live version number (what a preview or a delivery of "the template" renders). */
export async function liveTemplateVersion(
  db: Db,
  id: string,
): Promise<{ kind: MessageKind; liveVersion: number } | undefined> {
  const { rows } = await sql<{ kind: MessageKind; live_version: number }>`
    select kind, live_version from templates where id = ${id}::uuid
  `.execute(db);
  return rows[0] && { kind: rows[0].kind, liveVersion: rows[0].live_version };
}

/** The last template of the previous page: listed by lower(name), then id. */
export interface TemplateCursor {
  name: string;
  id: string;
}

export async function listTemplates(
  db: Db,
  input: { kind?: MessageKind | undefined; limit: number; after?: TemplateCursor | undefined },
): Promise<{ templates: TemplateRecord[]; next: TemplateCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [sql`true`];
  if (input.kind) conditions.push(sql`t.kind = ${input.kind}`);
  if (input.after) {
    conditions.push(sql`(lower(t.name), t.id) > (lower(${input.after.name}::text), ${input.after.id}::uuid)`);
  }
  const { rows } = await sql<TemplateRow>`
    select ${templateColumns} from templates t
    where ${sql.join(conditions, sql` and `)}
    order by lower(t.name), t.id
    limit ${input.limit + 1}::int
  `.execute(db);
  const templates = rows.slice(0, input.limit).map(toTemplate);
  const last = templates.at(-1);
  return {
    templates,
    next: rows.length > input.limit && last ? { name: last.name, id: last.id } : undefined,
  };
}

/** Versions newest first; `before` is the last version of the previous page. */
export async function listTemplateVersions(
  db: Db,
  id: string,
  input: { limit: number; before?: number | undefined },
): Promise<{ versions: TemplateVersionRecord[]; next: number | undefined }> {
  const { rows } = await sql<VersionRow>`
    select template_id, version, variants, author, change_note, created_at
    from template_versions
    where template_id = ${id}::uuid ${input.before ? sql`and version < ${input.before}::int` : sql``}
    order by version desc
    limit ${input.limit + 1}::int
  `.execute(db);
  const versions = rows.slice(0, input.limit).map(toVersion);
  return { versions, next: rows.length > input.limit ? versions.at(-1)?.version : undefined };
}

export type AppendOutcome =
  | { outcome: "ok"; template: TemplateRecord; version: TemplateVersionRecord }
  | { outcome: "not_found" };

/**
 * Appends a version (when `version` is given) and changes name/description; under the template
 * row's lock, so two concurrent updates get consecutive numbers. One transaction.
 */
export async function appendTemplateVersion(
  db: Db,
  id: string,
  input: {
    version?: NewVersion | undefined;
    publish: boolean;
    name?: string | undefined;
    description?: string | undefined;
    now: Date;
  },
): Promise<AppendOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ latest_version: number }>`
      select latest_version from templates where id = ${id}::uuid for update
    `.execute(trx);
    if (!rows[0]) return { outcome: "not_found" };
    let versionNumber = rows[0].latest_version;
    let version: TemplateVersionRecord | undefined;
    if (input.version) {
      versionNumber += 1;
      version = await insertVersion(trx, id, versionNumber, input.version, input.now);
    }
    const sets: RawBuilder<unknown>[] = [
      sql`updated_at = ${input.now.toISOString()}::timestamptz`,
      sql`latest_version = ${versionNumber}::int`,
    ];
    if (input.publish && input.version) sets.push(sql`live_version = ${versionNumber}::int`);
    if (input.name !== undefined) sets.push(sql`name = ${input.name}`);
    if (input.description !== undefined) sets.push(sql`description = ${input.description}`);
    await sql`update templates set ${sql.join(sets)} where id = ${id}::uuid`.execute(trx);
    version ??= await getTemplateVersion(trx, id, versionNumber);
    return { outcome: "ok", template: (await getTemplate(trx, id))!, version: version! };
  });
}

export type PublishOutcome =
  | { outcome: "ok"; template: TemplateRecord }
  | { outcome: "not_found" }
  | { outcome: "no_such_version"; latestVersion: number };

/** Makes `version` live (a rollback is publishing an older one). */
export async function publishTemplateVersion(
  db: Db,
  id: string,
  version: number,
  now: Date,
): Promise<PublishOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ latest_version: number }>`
      select latest_version from templates where id = ${id}::uuid for update
    `.execute(trx);
    if (!rows[0]) return { outcome: "not_found" };
    if (version < 1 || version > rows[0].latest_version) {
      return { outcome: "no_such_version", latestVersion: rows[0].latest_version };
    }
    await sql`
      update templates set live_version = ${version}::int, updated_at = ${now.toISOString()}::timestamptz
      where id = ${id}::uuid
    `.execute(trx);
    return { outcome: "ok", template: (await getTemplate(trx, id))! };
  });
}

export type DeleteTemplateOutcome =
  | { outcome: "deleted" }
  | { outcome: "not_found" }
  | { outcome: "pinned"; serviceIds: string[] }
  /** A routing rule renders with it (`routing rule "<name>" (<id>)`, capped). */
  | { outcome: "in_use"; usedBy: string[] };

/** Deletes the template and its versions; refused while a service pins it or a routing rule names it. */
export async function deleteTemplate(db: Db, id: string): Promise<DeleteTemplateOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      id: string;
    }>`select id from templates where id = ${id}::uuid for update`.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    const { rows: pins } = await sql<{ service_id: string }>`
      select service_id from template_pins where template_id = ${id}::uuid order by service_id limit 10
    `.execute(trx);
    if (pins.length > 0) return { outcome: "pinned", serviceIds: pins.map((p) => p.service_id) };
    // A rule's notify_channel action renders with it.
    const rules = await routingUsersOf(trx, { kind: "template", id });
    if (rules.length > 0) return { outcome: "in_use", usedBy: rules };
    await sql`delete from templates where id = ${id}::uuid`.execute(trx);
    return { outcome: "deleted" };
  });
}

export type PinOutcome =
  | { outcome: "ok" }
  | { outcome: "template_not_found" }
  | { outcome: "service_not_found" };

/**
 * The service uses the template for messages of the template's kind (replacing its pin for that
 * kind). The template row is locked `for key share` so a concurrent delete waits.
 */
export async function pinTemplate(
  db: Db,
  serviceId: string,
  templateId: string,
  now: Date,
): Promise<PinOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ kind: string }>`
      select kind from templates where id = ${templateId}::uuid for key share
    `.execute(trx);
    if (!rows[0]) return { outcome: "template_not_found" };
    const { rows: inserted } = await sql<{ service_id: string }>`
      insert into template_pins (service_id, kind, template_id, created_at)
      select s.id, ${rows[0].kind}, ${templateId}::uuid, ${now.toISOString()}::timestamptz
      from services s where s.id = ${serviceId}::uuid
      on conflict (service_id, kind) do update set template_id = excluded.template_id, created_at = excluded.created_at
      returning service_id
    `.execute(trx);
    return inserted.length > 0 ? { outcome: "ok" } : { outcome: "service_not_found" };
  });
}

/** Removes the service's pin for that kind; false when there was none. */
export async function unpinTemplate(db: Db, serviceId: string, kind: MessageKind): Promise<boolean> {
  const result = await sql`
    delete from template_pins where service_id = ${serviceId}::uuid and kind = ${kind}
  `.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** The template a service pins for a kind, with its live version; undefined: use the default. */
export async function pinnedTemplate(
  db: Db,
  serviceId: string,
  kind: MessageKind,
): Promise<{ templateId: string; liveVersion: number } | undefined> {
  const { rows } = await sql<{ id: string; live_version: number }>`
    select t.id, t.live_version from template_pins p join templates t on t.id = p.template_id
    where p.service_id = ${serviceId}::uuid and p.kind = ${kind}
  `.execute(db);
  return rows[0] && { templateId: rows[0].id, liveVersion: rows[0].live_version };
}

/** An alert and its service as a template sees them; undefined when the alert does not exist. */
export async function loadAlertView(
  db: Db,
  alertId: number,
): Promise<{ alert: AlertView; service: ServiceView } | undefined> {
  const { rows } = await sql<{
    id: number;
    summary: string;
    details: string;
    status: AlertView["status"];
    severity: AlertView["severity"];
    source: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    duplicate_count: number;
    created_at: Date;
    last_seen_at: Date;
    acknowledged_at: Date | null;
    resolved_at: Date | null;
    service_id: string;
    service_name: string;
    service_description: string;
  }>`
    select a.id, a.summary, a.details, a.status, a.severity, a.source, a.labels, a.annotations,
      a.duplicate_count, a.created_at, a.last_seen_at, a.acknowledged_at, a.resolved_at,
      s.id as service_id, s.name as service_name, s.description as service_description
    from alerts a join services s on s.id = a.service_id
    where a.id = ${alertId}::bigint
  `.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return {
    alert: {
      id: r.id,
      summary: r.summary,
      details: r.details,
      status: r.status,
      severity: r.severity,
      source: r.source,
      labels: r.labels,
      annotations: r.annotations,
      duplicateCount: r.duplicate_count,
      createdAt: r.created_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
      acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
      resolvedAt: r.resolved_at?.toISOString() ?? null,
      url: "",
    },
    service: { id: r.service_id, name: r.service_name, description: r.service_description },
  };
}
