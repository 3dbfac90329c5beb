import { type Kysely, type RawBuilder, sql } from "kysely";
import { RESOLVED } from "../../../domain/alerts/lifecycle.ts";
import { isForeignKeyViolation } from "../errors.ts";
import { afterName, byName, keysetPage, type NameCursor, nameCursorOf, pageLimit } from "../keyset.ts";
import type { Database, IntegrationKeyType } from "../schema.ts";
import { newIntegrationSecret } from "./integration-keys.ts";
import { routingUsersOf } from "./routing-references.ts";

// Services and their integration keys. Every statement casts its parameters explicitly
// (`::uuid`, `::timestamptz`): the RDS Data API sends strings untyped, and Postgres will not
// compare a uuid column with a varchar parameter.

export interface ServiceRow {
  id: string;
  name: string;
  description: string;
  escalation_policy_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface IntegrationKeyRow {
  id: string;
  service_id: string;
  name: string;
  type: IntegrationKeyType;
  secret_prefix: string;
  rate_limit_per_minute: number | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** The secret the last rotation replaced, and until when it still authenticates. */
  previous_secret_prefix: string | null;
  previous_secret_expires_at: Date | null;
}

/** A key as created or rotated: the row plus the secret, which exists only in this value. */
export interface IssuedIntegrationKey {
  key: IntegrationKeyRow;
  secret: string;
}

const serviceColumnNames = ["id", "name", "description", "escalation_policy_id", "created_at", "updated_at"];
const serviceColumns = serviceColumnsOf();

function serviceColumnsOf(alias?: string) {
  return sql.raw(serviceColumnNames.map((c) => (alias ? `${alias}.${c}` : c)).join(", "));
}
const keyColumnNames = [
  "id",
  "service_id",
  "name",
  "type",
  "secret_prefix",
  "rate_limit_per_minute",
  "created_at",
  "revoked_at",
  "last_used_at",
  "previous_secret_prefix",
  "previous_secret_expires_at",
];
const keyColumns = keyColumnsOf();

function keyColumnsOf(alias?: string) {
  return sql.raw(keyColumnNames.map((c) => (alias ? `${alias}.${c}` : c)).join(", "));
}

/**
 * Creates a service. Undefined when `escalationPolicyId` names no policy (the insert selects
 * nothing instead of failing on the foreign key).
 */
export async function createService(
  db: Kysely<Database>,
  input: { name: string; description: string; escalationPolicyId: string | null; now: Date },
): Promise<ServiceRow | undefined> {
  const now = input.now.toISOString();
  const { rows } = await sql<ServiceRow>`
    insert into services (name, description, escalation_policy_id, created_at, updated_at)
    select ${input.name}, ${input.description}, ${input.escalationPolicyId}::uuid, ${now}::timestamptz,
      ${now}::timestamptz
    where ${policyExists(input.escalationPolicyId)}
    returning ${serviceColumns}
  `.execute(db);
  return rows[0];
}

/** True when `id` is null (no policy) or names an existing escalation policy. */
function policyExists(id: string | null | undefined): RawBuilder<boolean> {
  if (id == null) return sql<boolean>`true`;
  return sql<boolean>`exists (select 1 from escalation_policies where id = ${id}::uuid)`;
}

export async function getService(db: Kysely<Database>, id: string): Promise<ServiceRow | undefined> {
  const { rows } = await sql<ServiceRow>`
    select ${serviceColumns} from services where id = ${id}::uuid and deleted_at is null
  `.execute(db);
  return rows[0];
}

/** The last service of the previous page: services are listed by lower(name), then id. */
export type ServiceCursor = NameCursor;

/**
 * A page of services, by case-insensitive name then id. `search` is a case-insensitive substring
 * of the name.
 */
export async function listServices(
  db: Kysely<Database>,
  input: { search: string; limit: number; after?: ServiceCursor | undefined },
): Promise<{ services: ServiceRow[]; next: ServiceCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [sql`deleted_at is null`, afterName(input.after)];
  if (input.search) conditions.push(sql`name ilike ${likeContaining(input.search)} escape '\\'`);
  const { rows } = await sql<ServiceRow>`
    select ${serviceColumns} from services
    where ${sql.join(conditions, sql` and `)}
    order by ${byName()}
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows, input.limit, nameCursorOf);
  return { services: page.items, next: page.next };
}

export interface ServicePatch {
  name?: string;
  description?: string;
  /** null detaches the policy. */
  escalationPolicyId?: string | null;
}

export type UpdateOutcome =
  | { outcome: "updated"; service: ServiceRow }
  | { outcome: "service_not_found" }
  | { outcome: "policy_not_found" };

/** Changes the given fields, in one statement that also checks the escalation policy exists. */
export async function updateService(
  db: Kysely<Database>,
  id: string,
  patch: ServicePatch,
  now: Date,
): Promise<UpdateOutcome> {
  const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
  if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
  if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`);
  if (patch.escalationPolicyId !== undefined) {
    sets.push(sql`escalation_policy_id = ${patch.escalationPolicyId}::uuid`);
  }
  const { rows } = await sql<{ policy_ok: boolean } & (ServiceRow | { [K in keyof ServiceRow]: null })>`
    with policy as (select ${policyExists(patch.escalationPolicyId)} as ok),
    updated as (
      update services s set ${sql.join(sets)}
      from policy p
      where s.id = ${id}::uuid and s.deleted_at is null and p.ok
      returning ${serviceColumnsOf("s")}
    )
    select p.ok as policy_ok, u.* from policy p left join updated u on true
  `.execute(db);
  const { policy_ok, ...row } = rows[0]!;
  if (!policy_ok) return { outcome: "policy_not_found" };
  if (row.id === null) return { outcome: "service_not_found" };
  return { outcome: "updated", service: row as ServiceRow };
}

export type DeleteServiceOutcome =
  | { outcome: "deleted" }
  | { outcome: "not_found" }
  | { outcome: "open_alerts"; openAlerts: number }
  /** Named by routing rules or live maintenance windows (`routing rule "<name>" (<id>)`, capped). */
  | { outcome: "in_use"; usedBy: string[] };

/**
 * Archives the service in one statement: it no longer lists or reads, its policy is detached and
 * its keys are revoked, while its alerts and their events stay. Refused while it has open alerts
 * (someone may still be paged for them), and while a routing rule or a maintenance window that has
 * not ended names it: the archive's trigger refuses it (migration 2026-11-30T0200, race-free with
 * their saves), and the users are read for the answer.
 */
export async function deleteService(
  db: Kysely<Database>,
  id: string,
  now: Date,
): Promise<DeleteServiceOutcome> {
  const at = now.toISOString();
  type Row = { found: boolean; open_alerts: number; deleted: boolean };
  let rows: Row[];
  try {
    ({ rows } = await sql<Row>`
    with target as (
      select s.id,
        (select count(*)::int from alerts a where a.service_id = s.id and a.status <> ${RESOLVED}) as open_alerts
      from services s where s.id = ${id}::uuid and s.deleted_at is null
      for update of s
    ),
    archived as (
      update services s set deleted_at = ${at}::timestamptz, updated_at = ${at}::timestamptz,
        escalation_policy_id = null
      from target t where s.id = t.id and t.open_alerts = 0
      returning s.id
    ),
    revoked as (
      update integration_keys k set revoked_at = coalesce(k.revoked_at, ${at}::timestamptz)
      from archived a where k.service_id = a.id
    )
    select exists (select 1 from target) as found,
      coalesce((select open_alerts from target), 0) as open_alerts,
      exists (select 1 from archived) as deleted
  `.execute(db));
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    const usedBy = await routingUsersOf(db, { kind: "service", id }, now);
    return {
      outcome: "in_use",
      usedBy: usedBy.length > 0 ? usedBy : ["a routing rule or maintenance window"],
    };
  }
  const row = rows[0]!;
  if (!row.found) return { outcome: "not_found" };
  if (!row.deleted) return { outcome: "open_alerts", openAlerts: row.open_alerts };
  return { outcome: "deleted" };
}

/**
 * Creates a key with a fresh secret. Undefined when the service does not exist (the insert
 * selects from services, so a missing service inserts nothing instead of failing on the FK).
 */
export async function createIntegrationKey(
  db: Kysely<Database>,
  input: {
    serviceId: string;
    name: string;
    type: IntegrationKeyType;
    rateLimitPerMinute: number | null;
    now: Date;
  },
): Promise<IssuedIntegrationKey | undefined> {
  const secret = newIntegrationSecret();
  const { rows } = await sql<IntegrationKeyRow>`
    insert into integration_keys (service_id, name, type, secret_hash, secret_prefix, rate_limit_per_minute, created_at)
    select s.id, ${input.name}, ${input.type}, ${secret.hash}, ${secret.displayPrefix},
      ${input.rateLimitPerMinute}::int, ${input.now.toISOString()}::timestamptz
    from services s where s.id = ${input.serviceId}::uuid and s.deleted_at is null
    returning ${keyColumns}
  `.execute(db);
  return rows[0] ? { key: rows[0], secret: secret.secret } : undefined;
}

/** A service's keys, oldest first, or undefined when the service does not exist; one round trip. */
export async function listIntegrationKeys(
  db: Kysely<Database>,
  input: { serviceId: string; includeRevoked: boolean },
): Promise<IntegrationKeyRow[] | undefined> {
  const { rows } = await sql<IntegrationKeyRow | { [K in keyof IntegrationKeyRow]: null }>`
    select ${keyColumnsOf("k")}
    from services s
    left join integration_keys k
      on k.service_id = s.id and (${input.includeRevoked}::boolean or k.revoked_at is null)
    where s.id = ${input.serviceId}::uuid and s.deleted_at is null
    order by k.created_at, k.id
  `.execute(db);
  if (rows.length === 0) return undefined;
  return rows.filter((r): r is IntegrationKeyRow => r.id !== null);
}

/** Revokes a key at once (idempotent: a second revoke keeps the first time); undefined when unknown. */
export async function revokeIntegrationKey(
  db: Kysely<Database>,
  id: string,
  now: Date,
): Promise<IntegrationKeyRow | undefined> {
  const { rows } = await sql<IntegrationKeyRow>`
    update integration_keys set revoked_at = coalesce(revoked_at, ${now.toISOString()}::timestamptz)
    where id = ${id}::uuid
    returning ${keyColumns}
  `.execute(db);
  return rows[0];
}

export type RotateOutcome =
  | { outcome: "rotated"; issued: IssuedIntegrationKey }
  | { outcome: "revoked"; key: IntegrationKeyRow }
  | { outcome: "not_found" };

/**
 * Gives a live key a new secret. The replaced secret keeps authenticating until
 * `now + overlapSeconds` (0: it stops at once), so senders can be moved over without a 401; a
 * secret replaced by an earlier rotation stops now. A revoked key stays revoked.
 */
export async function rotateIntegrationKey(
  db: Kysely<Database>,
  id: string,
  input: { now: Date; overlapSeconds: number },
): Promise<RotateOutcome> {
  const secret = newIntegrationSecret();
  const keep = input.overlapSeconds > 0;
  const expires = new Date(input.now.getTime() + input.overlapSeconds * 1000).toISOString();
  const { rows } = await sql<IntegrationKeyRow & { rotated: boolean }>`
    with rotated as (
      update integration_keys set
        previous_secret_hash = case when ${keep}::boolean then secret_hash end,
        previous_secret_prefix = case when ${keep}::boolean then secret_prefix end,
        previous_secret_expires_at = case when ${keep}::boolean then ${expires}::timestamptz end,
        secret_hash = ${secret.hash}, secret_prefix = ${secret.displayPrefix}
      where id = ${id}::uuid and revoked_at is null
      returning ${keyColumns}
    )
    select *, true as rotated from rotated
    union all
    select ${keyColumns}, false from integration_keys
    where id = ${id}::uuid and not exists (select 1 from rotated)
  `.execute(db);
  const row = rows[0];
  if (!row) return { outcome: "not_found" };
  const { rotated, ...key } = row;
  return rotated
    ? { outcome: "rotated", issued: { key, secret: secret.secret } }
    : { outcome: "revoked", key };
}

/**
 * A LIKE pattern matching `text` anywhere, with `\`, `%` and `_` in it taken literally
 * (use with `escape '\'`).
 */
export function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
