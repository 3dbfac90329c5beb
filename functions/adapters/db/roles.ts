import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";

/**
 * The database roles the Lambdas log in as on AWS (issue 9, row 9): each function reaches Aurora with
 * its own role's secret, never the master's, which only the migration Lambda holds. None of them owns
 * a table or may create one (no DDL), none sees the migration bookkeeping, and each sees only what its
 * use cases touch:
 *
 * - `oncall_ingest` (webhooks, internet-facing): no API keys at all; reads the configuration (services,
 *   schedules, policies…) but cannot change it; writes alerts, their events, escalations and key usage.
 * - `oncall_tasks` (escalation steps, failures, housekeeping): no API keys, no integration keys; reads
 *   the configuration; writes alerts, events, escalations and notifications.
 * - `oncall_api` (RPCs): reads and writes every application table.
 *
 * A table a later migration adds is read-write for all three unless listed here: a new table must not
 * break a function in production, and the list below is where it is narrowed.
 *
 * The embedded runtime and the tests do not use roles (one local database, one process).
 */
export const databaseRoles = {
  oncall_ingest: {
    readOnly: configurationTables(),
    none: ["api_keys"],
  },
  oncall_api: { readOnly: [], none: [] },
  oncall_tasks: {
    readOnly: configurationTables(),
    none: ["api_keys", "integration_keys", "integration_key_usage"],
  },
} as const satisfies Record<string, { readOnly: readonly string[]; none: readonly string[] }>;

export type DatabaseRoleName = keyof typeof databaseRoles;
export const databaseRoleNames = Object.keys(databaseRoles) as DatabaseRoleName[];

/** Kysely's migration bookkeeping: the master's alone. */
export const migrationTables = ["kysely_migration", "kysely_migration_lock"];

function configurationTables(): string[] {
  return [
    "settings",
    "services",
    "rotations",
    "schedules",
    "schedule_rules",
    "schedule_overrides",
    "escalation_policies",
    "escalation_steps",
  ];
}

export class DatabaseRoleError extends Error {
  override readonly name = "DatabaseRoleError";
}

/** What a role may do with one table. */
export type TableAccess = "read-write" | "read-only" | "none";

/** A role's access to `table`, by the list above. */
export function tableAccess(role: DatabaseRoleName, table: string): TableAccess {
  if (migrationTables.includes(table)) return "none";
  const grants: { readOnly: readonly string[]; none: readonly string[] } = databaseRoles[role];
  if (grants.none.includes(table)) return "none";
  if (grants.readOnly.includes(table)) return "read-only";
  return "read-write";
}

/**
 * Creates the roles if missing, sets their passwords and brings their grants in line with the tables
 * that exist now; run as the tables' owner after every migration (functions/handlers/migrate.ts).
 * Idempotent, and never takes a right away from a role that should keep it (no revoke-then-grant), so
 * that functions running during a deploy are not refused for a moment.
 *
 * The password travels as a SCRAM-SHA-256 verifier, never in clear text in a statement.
 */
export async function provisionDatabaseRoles(
  // biome-ignore lint/suspicious/noExplicitAny: grants run on any typed or untyped Kysely
  db: Kysely<any>,
  credentials: readonly { role: DatabaseRoleName; password: string }[],
): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  const tables = (
    await sql<{ tablename: string }>`
      select tablename from pg_tables where schemaname = 'public' order by tablename
    `.execute(db)
  ).rows.map((r) => r.tablename);

  for (const { role, password } of credentials) {
    if (!(role in databaseRoles)) throw new DatabaseRoleError(`unknown database role ${role}`);
    if (password.length < 16)
      throw new DatabaseRoleError(`${role}: the password is shorter than 16 characters`);
    const name = sql.id(role);
    await sql`
      do $$ begin
        if not exists (select from pg_roles where rolname = ${sql.lit(role)}) then
          create role ${name} nologin;
        end if;
      end $$
    `.execute(db);
    await sql`
      alter role ${name} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
        password ${sql.lit(scramSha256Verifier(password))}
    `.execute(db);
    await sql`grant usage on schema public to ${name}`.execute(db);
    for (const table of tables) {
      const target = sql.id(table);
      switch (tableAccess(role, table)) {
        case "none":
          await sql`revoke all on table ${target} from ${name}`.execute(db);
          break;
        case "read-only":
          await sql`revoke insert, update, delete, truncate, references, trigger on table ${target} from ${name}`.execute(
            db,
          );
          await sql`grant select on table ${target} to ${name}`.execute(db);
          break;
        case "read-write":
          await sql`revoke truncate, references, trigger on table ${target} from ${name}`.execute(db);
          await sql`grant select, insert, update, delete on table ${target} to ${name}`.execute(db);
          break;
      }
    }
    // Identity columns (alerts.id…) draw from sequences.
    await sql`grant usage, select on all sequences in schema public to ${name}`.execute(db);
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 / 7677, as `pg_authid` holds
 * it): `ALTER ROLE … PASSWORD '<verifier>'` sets the password without sending it. Passwords here are
 * generated ASCII, for which SASLprep changes nothing.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = 4096,
): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
