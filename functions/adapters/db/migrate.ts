import { type Kysely, sql } from "kysely";
import { type MigrationResult, Migrator } from "kysely/migration";
import { migrations } from "./migrations/index.ts";
import { latestMigration } from "./migrations/latest.ts";

export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

/**
 * Applies every pending migration; the same call serves `npm start`, the tests and the
 * migration Lambda. Kysely takes an advisory lock, so concurrent callers apply each migration once.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run on any typed or untyped Kysely
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  if (await isCurrent(db)) return [];
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new MigrationError(`migration ${failed} failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
    });
  }
  return results;
}

/**
 * One read instead of the Migrator's lock, table checks and bookkeeping (~1–2 s of an embedded
 * restart on PGlite): the applied migrations are exactly ours. Anything else (no table yet, one
 * pending, one unknown) goes through the Migrator, which applies or reports it.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run on any typed or untyped Kysely
async function isCurrent(db: Kysely<any>): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    const expected = Object.keys(migrations).sort();
    return rows.length === expected.length && rows.every((r, i) => r.name === expected[i]);
  } catch {
    return false;
  }
}

/** The newest migration name, i.e. the schema version a fully migrated database has. */
export const latestSchemaVersion = latestMigration;
