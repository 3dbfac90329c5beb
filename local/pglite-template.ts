import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { migrateToLatest } from "../functions/adapters/db/migrate.ts";
import { migrations } from "../functions/adapters/db/migrations/index.ts";
import { latestMigration } from "../functions/adapters/db/migrations/latest.ts";
import { logger } from "../functions/adapters/observability.ts";

/**
 * A fresh data folder starts from a template: an initialized, migrated PGlite data directory kept as
 * a tarball (PGlite `dumpDataDir`) in a cache outside every data folder. Loading it takes a fraction
 * of initdb plus the migrations (the 5–50 s of a first start). The template is made at install
 * (`postinstall`: local/build-pglite-template.ts) or, failing that, by the first start that needs
 * one, from the database it has just created and migrated.
 *
 * The migrations still run after a load (a no-op when the template is current), so a stale template
 * costs time, never correctness. Durability is Postgres's own (no fsync setting is touched); the
 * files a load writes are fsynced before the folder counts as a database, and a marker file makes a
 * load that a crash interrupted start over instead of opening half a directory.
 */

const repoRoot = join(import.meta.dirname, "..");

/** Where templates are kept: `node_modules/.cache/oncall/` (survives data folders, not `npm ci`). */
export function templateCacheDir(): string {
  return join(repoRoot, "node_modules", ".cache", "oncall");
}

/**
 * The template's file: by PGlite version (a data directory is tied to its Postgres) and schema — the
 * whole list of migrations, not only the newest: a branch merged with an older-named migration keeps
 * the same newest name, and a template without that migration fails Kysely's order check at start.
 */
export async function templateFile(cacheDir = templateCacheDir()): Promise<string> {
  const pkg = JSON.parse(
    await readFile(join(repoRoot, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8"),
  ) as { version: string };
  const schema = createHash("sha256").update(Object.keys(migrations).join("\n")).digest("hex").slice(0, 12);
  return join(cacheDir, `pglite-${pkg.version}-${latestMigration}-${schema}.tar.gz`);
}

/** Builds the template from scratch (in memory: initdb, migrations) and writes it. */
export async function buildTemplate(file?: string): Promise<string> {
  const target = file ?? (await templateFile());
  const { PGlite } = await import("@electric-sql/pglite");
  const instance = await PGlite.create("memory://");
  try {
    const handle = await openDatabase({ kind: "pglite-instance", instance });
    await migrateToLatest(handle.db);
    await writeTemplate(instance, target);
    await handle.close();
  } finally {
    await instance.close();
  }
  return target;
}

/**
 * Opens (creating when needed) the PGlite database of `pgdataDir`: an existing database as it is; a
 * missing one from the template, or by initdb and migrations (then saved as the template).
 */
export async function openEmbeddedPglite(
  pgdataDir: string,
  options: { templateFile?: string } = {},
): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const marker = `${pgdataDir}.loading`;
  if ((await exists(join(pgdataDir, "PG_VERSION"))) && !(await exists(marker))) {
    return handleOf(await PGlite.create(pgdataDir));
  }

  // A new database (or one whose creation was interrupted: it holds no data yet, start over).
  await mkdir(dirname(pgdataDir), { recursive: true });
  await writeFile(marker, "a database is being created here; if this file stays, the next start redoes it\n");
  await fsyncPath(dirname(pgdataDir));
  await rm(pgdataDir, { recursive: true, force: true });

  const file = options.templateFile ?? (await templateFile());
  const template = await readFile(file).catch(() => undefined);
  let instance: PGlite;
  if (template) {
    instance = await PGlite.create(pgdataDir, { loadDataDir: new Blob([template]) });
  } else {
    instance = await PGlite.create(pgdataDir);
    const handle = await openDatabase({ kind: "pglite-instance", instance });
    await migrateToLatest(handle.db);
    await writeTemplate(instance, file).catch((error: unknown) =>
      logger.warn("could not save the PGlite template; the next fresh start runs initdb again", {
        error: error as Error,
      }),
    );
  }
  try {
    // The loaded (or initdb'd) files reach the disk before the marker goes: after a crash, either
    // the marker is there (start over) or the whole directory is.
    await fsyncTree(pgdataDir);
    await rm(marker);
    await fsyncPath(dirname(pgdataDir));
  } catch (err) {
    await instance.close().catch(() => {});
    throw err;
  }
  return handleOf(instance);
}

/** A DatabaseHandle that owns its PGlite instance (closes it). */
async function handleOf(instance: PGlite): Promise<DatabaseHandle> {
  const handle = await openDatabase({ kind: "pglite-instance", instance });
  return {
    ...handle,
    kind: "pglite",
    close: async () => {
      await handle.close();
      await instance.close();
    },
  };
}

async function writeTemplate(instance: PGlite, file: string): Promise<void> {
  const tarball = await instance.dumpDataDir("gzip");
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, new Uint8Array(await tarball.arrayBuffer()));
  await fsyncPath(partial);
  await rename(partial, file);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every file and folder under `dir`, then `dir` itself. */
async function fsyncTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncPath(path);
  }
  await fsyncPath(dir);
}
