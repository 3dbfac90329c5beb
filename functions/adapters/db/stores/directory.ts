import { type Kysely, type RawBuilder, sql } from "kysely";
import type { ContactMethod, ContactMethodType, DirectoryUser } from "../../../domain/directory/model.ts";
import { keysetPage, pageLimit } from "../keyset.ts";
import type { Database } from "../schema.ts";
import { likeContaining } from "./services.ts";

// The embedded user directory: users, contact methods and pending verification codes. Every
// parameter is cast (`::uuid`, `::timestamptz`): the RDS Data API sends strings untyped. Lists of ids
// travel as one JSON parameter (the Data API takes no arrays).

type Db = Kysely<Database>;

export interface UserRecord extends DirectoryUser {
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ContactMethodRecord extends ContactMethod {
  readonly lastTestAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface UserRow {
  id: string;
  name: string;
  email: string;
  time_zone: string;
  slack_user_id: string;
  teams_user_id: string;
  created_at: Date;
  updated_at: Date;
}

interface ContactMethodRow {
  id: string;
  user_id: string;
  type: ContactMethodType;
  name: string;
  value: string;
  verified: boolean;
  disabled: boolean;
  last_test_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const userColumns = sql.raw(
  "u.id, u.name, u.email, u.time_zone, u.slack_user_id, u.teams_user_id, u.created_at, u.updated_at",
);
const contactColumns = sql.raw(
  "c.id, c.user_id, c.type, c.name, c.value, c.verified, c.disabled, c.last_test_at, c.created_at, c.updated_at",
);

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    timeZone: row.time_zone,
    ...(row.slack_user_id ? { slackUserId: row.slack_user_id } : {}),
    ...(row.teams_user_id ? { teamsUserId: row.teams_user_id } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toContactMethod(row: ContactMethodRow): ContactMethodRecord {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    name: row.name,
    value: row.value,
    verified: row.verified,
    disabled: row.disabled,
    lastTestAt: row.last_test_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewUser {
  id: string;
  name: string;
  email: string;
  timeZone: string;
  slackUserId: string;
  teamsUserId: string;
}

/** Inserts a user; undefined when the id is taken. */
export async function insertUser(db: Db, user: NewUser, now: Date): Promise<UserRecord | undefined> {
  const at = now.toISOString();
  const { rows } = await sql<UserRow>`
    insert into directory_users as u (id, name, email, time_zone, slack_user_id, teams_user_id, created_at, updated_at)
    values (${user.id}, ${user.name}, ${user.email}, ${user.timeZone}, ${user.slackUserId}, ${user.teamsUserId},
      ${at}::timestamptz, ${at}::timestamptz)
    on conflict (id) do nothing
    returning ${userColumns}
  `.execute(db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/** Users by id (unknown ids left out), ordered by id. */
export async function getUsers(db: Db, ids: readonly string[]): Promise<UserRecord[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<UserRow>`
    select ${userColumns} from directory_users u
    where u.id in (select value from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))
    order by u.id
  `.execute(db);
  return rows.map(toUser);
}

/** The last user of the previous page: users are listed by lower(name), then id. */
export interface UserCursor {
  name: string;
  id: string;
}

/** A page of users whose name or email contains `query` (case-insensitive; empty: all), by name. */
export async function searchUsers(
  db: Db,
  input: { query: string; limit: number; after?: UserCursor | undefined },
): Promise<{ users: UserRecord[]; next: UserCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [];
  if (input.after) {
    conditions.push(sql`(lower(u.name), u.id) > (lower(${input.after.name}::text), ${input.after.id}::text)`);
  }
  if (input.query) {
    const like = likeContaining(input.query);
    conditions.push(sql`(u.name ilike ${like} escape '\\' or u.email ilike ${like} escape '\\')`);
  }
  const { rows } = await sql<UserRow>`
    select ${userColumns} from directory_users u
    where ${conditions.length ? sql.join(conditions, sql` and `) : sql`true`}
    order by lower(u.name), u.id
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows.map(toUser), input.limit, (u) => ({ name: u.name, id: u.id }));
  return { users: page.items, next: page.next };
}

export interface UserPatch {
  name?: string;
  email?: string;
  timeZone?: string;
  slackUserId?: string;
  teamsUserId?: string;
}

/** Changes the given fields; undefined when the user does not exist. */
export async function updateUser(
  db: Db,
  id: string,
  patch: UserPatch,
  now: Date,
): Promise<UserRecord | undefined> {
  const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
  if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
  if (patch.email !== undefined) sets.push(sql`email = ${patch.email}`);
  if (patch.timeZone !== undefined) sets.push(sql`time_zone = ${patch.timeZone}`);
  if (patch.slackUserId !== undefined) sets.push(sql`slack_user_id = ${patch.slackUserId}`);
  if (patch.teamsUserId !== undefined) sets.push(sql`teams_user_id = ${patch.teamsUserId}`);
  const { rows } = await sql<UserRow>`
    update directory_users u set ${sql.join(sets, sql`, `)} where u.id = ${id} returning ${userColumns}
  `.execute(db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/** Deletes a user and (by cascade) their contact methods and codes; false when there was none. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{
    id: string;
  }>`delete from directory_users where id = ${id} returning id`.execute(db);
  return rows.length > 0;
}

/** A user's contact methods by creation; undefined when the user does not exist. */
export async function listContactMethods(db: Db, userId: string): Promise<ContactMethodRecord[] | undefined> {
  // One statement: the user row's existence and the contact methods together.
  const { rows } = await sql<ContactMethodRow & { user_exists: boolean }>`
    select ${contactColumns}, true as user_exists
    from directory_users u left join directory_contact_methods c on c.user_id = u.id
    where u.id = ${userId}
    order by c.created_at, c.id
  `.execute(db);
  if (rows.length === 0) return undefined;
  return rows.filter((r) => r.id !== null).map(toContactMethod);
}

export async function getContactMethod(db: Db, id: string): Promise<ContactMethodRecord | undefined> {
  const { rows } = await sql<ContactMethodRow>`
    select ${contactColumns} from directory_contact_methods c where c.id = ${id}::uuid
  `.execute(db);
  return rows[0] ? toContactMethod(rows[0]) : undefined;
}

export interface NewContactMethod {
  userId: string;
  type: ContactMethodType;
  name: string;
  value: string;
  verified: boolean;
  disabled: boolean;
}

export type InsertContactMethodOutcome =
  | { outcome: "created"; contactMethod: ContactMethodRecord }
  | { outcome: "user_not_found" }
  | { outcome: "duplicate" }
  | { outcome: "too_many" };

/**
 * Inserts a contact method for an existing user that has fewer than `maxPerUser`, in one statement
 * (two concurrent inserts may both pass the count: the cap bounds the work of a page, it is not a quota).
 */
export async function insertContactMethod(
  db: Db,
  input: NewContactMethod,
  now: Date,
  maxPerUser = Number.MAX_SAFE_INTEGER,
): Promise<InsertContactMethodOutcome> {
  const at = now.toISOString();
  const { rows } = await sql<ContactMethodRow & { user_exists: boolean; at_cap: boolean }>`
    with owner as (
      select u.id, (select count(*) from directory_contact_methods x where x.user_id = u.id) >= ${maxPerUser}::bigint as at_cap
      from directory_users u where u.id = ${input.userId}
    ),
    inserted as (
      insert into directory_contact_methods as c (user_id, type, name, value, verified, disabled, created_at, updated_at)
      select owner.id, ${input.type}, ${input.name}, ${input.value}, ${input.verified}::boolean,
        ${input.disabled}::boolean, ${at}::timestamptz, ${at}::timestamptz
      from owner where not owner.at_cap
      on conflict (user_id, type, value) do nothing
      returning ${contactColumns}
    )
    select inserted.*, exists (select 1 from owner) as user_exists, coalesce((select at_cap from owner), false) as at_cap
    from (select 1) one left join inserted on true
  `.execute(db);
  const row = rows[0];
  if (!row?.user_exists) return { outcome: "user_not_found" };
  if (row.at_cap) return { outcome: "too_many" };
  if (row.id === null) return { outcome: "duplicate" };
  return { outcome: "created", contactMethod: toContactMethod(row) };
}

export type UpdateContactMethodOutcome =
  | { outcome: "updated"; contactMethod: ContactMethodRecord }
  | { outcome: "not_found" }
  | { outcome: "unverified" };

/** Renames and/or enables or disables; enabling an unverified contact method changes nothing. */
export async function updateContactMethod(
  db: Db,
  id: string,
  patch: { name?: string; disabled?: boolean },
  now: Date,
): Promise<UpdateContactMethodOutcome> {
  const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
  if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
  if (patch.disabled !== undefined) sets.push(sql`disabled = ${patch.disabled}::boolean`);
  const enabling = patch.disabled === false;
  const { rows } = await sql<ContactMethodRow>`
    update directory_contact_methods c set ${sql.join(sets, sql`, `)}
    where c.id = ${id}::uuid ${enabling ? sql`and c.verified` : sql``}
    returning ${contactColumns}
  `.execute(db);
  if (rows[0]) return { outcome: "updated", contactMethod: toContactMethod(rows[0]) };
  if (enabling && (await getContactMethod(db, id))) return { outcome: "unverified" };
  return { outcome: "not_found" };
}

export async function deleteContactMethod(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    delete from directory_contact_methods where id = ${id}::uuid returning id
  `.execute(db);
  return rows.length > 0;
}

export type StoreCodeOutcome =
  | { outcome: "stored"; expiresAt: Date }
  | { outcome: "not_found" }
  | { outcome: "already_verified" }
  /** A code was sent less than `resendIntervalMs` ago; `lastSentAt` says when. */
  | { outcome: "too_soon"; lastSentAt: Date };

/**
 * Replaces the contact method's pending code, unless one was sent less than `resendIntervalMs` ago
 * (one statement: two concurrent sends store one code, the other is told to wait).
 */
export async function storeVerificationCode(
  db: Db,
  input: { contactMethodId: string; codeHash: string; now: Date; ttlMs: number; resendIntervalMs: number },
): Promise<StoreCodeOutcome> {
  const now = input.now.toISOString();
  const expiresAt = new Date(input.now.getTime() + input.ttlMs).toISOString();
  const resendAfter = new Date(input.now.getTime() - input.resendIntervalMs).toISOString();
  const { rows } = await sql<{ verified: boolean | null; stored: boolean; last_sent_at: Date | null }>`
    with cm as (select id, verified from directory_contact_methods where id = ${input.contactMethodId}::uuid),
    stored as (
      insert into directory_verification_codes as v (contact_method_id, code_hash, expires_at, attempts, sent_at)
      select cm.id, ${input.codeHash}, ${expiresAt}::timestamptz, 0, ${now}::timestamptz from cm where not cm.verified
      on conflict (contact_method_id) do update
        set code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0, sent_at = excluded.sent_at
        where v.sent_at <= ${resendAfter}::timestamptz
      returning v.contact_method_id
    )
    select (select verified from cm) as verified, exists (select 1 from stored) as stored,
      (select sent_at from directory_verification_codes where contact_method_id = ${input.contactMethodId}::uuid) as last_sent_at
  `.execute(db);
  const row = rows[0];
  if (!row || row.verified === null) return { outcome: "not_found" };
  if (row.verified) return { outcome: "already_verified" };
  if (row.stored) return { outcome: "stored", expiresAt: new Date(expiresAt) };
  return { outcome: "too_soon", lastSentAt: row.last_sent_at ?? input.now };
}

/** Forgets a code that could not be sent (only if it is still that code), so a resend need not wait. */
export async function discardVerificationCode(
  db: Db,
  contactMethodId: string,
  codeHash: string,
): Promise<void> {
  await sql`
    delete from directory_verification_codes
    where contact_method_id = ${contactMethodId}::uuid and code_hash = ${codeHash}
  `.execute(db);
}

/**
 * Counts one attempt and returns the pending code as it is after it (undefined: none pending). The
 * count happens before the comparison, in one statement, so parallel guesses cannot exceed the limit.
 */
export async function countVerificationAttempt(
  db: Db,
  contactMethodId: string,
  maxAttempts: number,
): Promise<{ codeHash: string; expiresAt: Date; attempts: number } | undefined> {
  const { rows } = await sql<{ code_hash: string; expires_at: Date; attempts: number }>`
    update directory_verification_codes
    set attempts = least(attempts + 1, ${maxAttempts + 1}::int)
    where contact_method_id = ${contactMethodId}::uuid
    returning code_hash, expires_at, attempts
  `.execute(db);
  const row = rows[0];
  return row ? { codeHash: row.code_hash, expiresAt: row.expires_at, attempts: row.attempts } : undefined;
}

/**
 * Marks the contact method verified and enabled and deletes the code it was verified with (only
 * that code: a code replaced in the meantime does not verify). Undefined when the code was gone.
 */
export async function markVerified(
  db: Db,
  input: { contactMethodId: string; codeHash: string; now: Date },
): Promise<ContactMethodRecord | undefined> {
  const { rows } = await sql<ContactMethodRow>`
    with used as (
      delete from directory_verification_codes
      where contact_method_id = ${input.contactMethodId}::uuid and code_hash = ${input.codeHash}
      returning contact_method_id
    )
    update directory_contact_methods c
    set verified = true, disabled = false, updated_at = ${input.now.toISOString()}::timestamptz
    from used where c.id = used.contact_method_id
    returning ${contactColumns}
  `.execute(db);
  return rows[0] ? toContactMethod(rows[0]) : undefined;
}

export type ClaimTestOutcome =
  | { outcome: "claimed"; contactMethod: ContactMethodRecord }
  | { outcome: "not_found" }
  | { outcome: "too_soon"; lastTestAt: Date };

/** Records a test message as sent now unless one was sent less than `intervalMs` ago. */
export async function claimTestMessage(
  db: Db,
  input: { contactMethodId: string; now: Date; intervalMs: number },
): Promise<ClaimTestOutcome> {
  const since = new Date(input.now.getTime() - input.intervalMs).toISOString();
  const { rows } = await sql<ContactMethodRow>`
    update directory_contact_methods c set last_test_at = ${input.now.toISOString()}::timestamptz
    where c.id = ${input.contactMethodId}::uuid and (c.last_test_at is null or c.last_test_at <= ${since}::timestamptz)
    returning ${contactColumns}
  `.execute(db);
  if (rows[0]) return { outcome: "claimed", contactMethod: toContactMethod(rows[0]) };
  const existing = await getContactMethod(db, input.contactMethodId);
  if (!existing) return { outcome: "not_found" };
  return { outcome: "too_soon", lastTestAt: existing.lastTestAt ?? input.now };
}

/** Gives a claimed test slot back when the message could not be sent. */
export async function releaseTestMessage(db: Db, contactMethodId: string, claimedAt: Date): Promise<void> {
  await sql`
    update directory_contact_methods set last_test_at = null
    where id = ${contactMethodId}::uuid and last_test_at = ${claimedAt.toISOString()}::timestamptz
  `.execute(db);
}
