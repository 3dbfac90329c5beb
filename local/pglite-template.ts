import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { migrateToLatest } from "../functions/adapters/db/migrate.ts";
import { migrations } from "../functions/adapters/db/migrations/index.ts";

/**
 * A fresh data folder starts from a template: an initialized, migrated PGlite data directory, shut
 * down cleanly, kept in a cache outside every data folder. A fresh start copies it (files copied in
 * parallel by the OS, then fsynced) and opens the copy like any restart: a fraction of initdb plus the
 * migrations (the 5–50 s of a first start), and 2–5× faster than PGlite's `loadDataDir` of a tarball,
 * which unpacks through the WebAssembly file system. The template is made at install (`postinstall`:
 * local/build-pglite-template.ts) or, failing that, by the first start that needs one.
 *
 * The migrations still run after a copy (a no-op when the template is current), so a stale template
 * costs time, never correctness. Durability is Postgres's own (no fsync setting is touched); the
 * copied files and folders are fsynced before the folder counts as a database, and a marker file
 * makes a copy that a crash interrupted start over instead of opening half a directory. The template
 * itself is only ever read: it is made under another name and renamed into place when complete.
 */

const repoRoot = join(import.meta.dirname, "..");

/** Files copied or fsynced at once: enough to keep the disk's queue busy, few enough for any ulimit. */
const ioConcurrency = 16;

/** Where templates are kept: `node_modules/.cache/oncall/` (survives data folders, not `npm ci`). */
export function templateCacheDir(): string {
  return join(repoRoot, "node_modules", ".cache", "oncall");
}

/**
 * The template's folder: by PGlite version (a data directory is tied to its Postgres) and schema.
 * The schema is every migration's name, not only the newest: a merge can add migrations that sort
 * before the newest one, and a template without them is one the migrator refuses ("corrupted
 * migrations").
 */
export async function templateDir(cacheDir = templateCacheDir()): Promise<string> {
  const pkg = JSON.parse(
    await readFile(join(repoRoot, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8"),
  ) as { version: string };
  return join(cacheDir, templateName(pkg.version, Object.keys(migrations)));
}

/** `pglite-<version>-<newest migration>-<hash of every migration's name>`. */
export function templateName(pgliteVersion: string, migrationNames: readonly string[]): string {
  const sorted = [...migrationNames].sort();
  const schema = createHash("sha256").update(sorted.join("\n")).digest("hex");
  return `pglite-${pgliteVersion}-${sorted.at(-1) ?? "empty"}-${schema.slice(0, 12)}`;
}

/**
 * Builds the template (initdb, migrations, a clean shutdown) unless it is there; returns its folder.
 * Two processes may build at once: each in its own folder, the first rename wins.
 */
export async function buildTemplate(dir?: string): Promise<string> {
  const target = dir ?? (await templateDir());
  if (await exists(join(target, "PG_VERSION"))) return target;
  const { PGlite } = await import("@electric-sql/pglite");
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  try {
    const instance = await PGlite.create(partial);
    try {
      const handle = await openDatabase({ kind: "pglite-instance", instance });
      await migrateToLatest(handle.db);
      await handle.close();
    } finally {
      await instance.close();
    }
    await fsyncTree(partial);
    await rename(partial, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process renamed its template first: same schema, same PGlite; keep theirs.
      if (!(await exists(join(target, "PG_VERSION")))) throw error;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return target;
}

/**
 * Removes the templates of other PGlite versions or schemas from the cache (each is ~40 MB), and the
 * tarballs of the former format. For the install script, when no start can be copying one.
 */
export async function pruneTemplates(keep: string, cacheDir = templateCacheDir()): Promise<string[]> {
  const stale = (await readdir(cacheDir).catch(() => [] as string[]))
    .filter((name) => name.startsWith("pglite-") && !name.endsWith(".partial"))
    .map((name) => join(cacheDir, name))
    .filter((path) => path !== keep);
  for (const path of stale) await rm(path, { recursive: true, force: true });
  return stale;
}

/**
 * Opens (creating when needed) the PGlite database of `pgdataDir`: an existing database as it is; a
 * missing one as a copy of the template (made first if there is none).
 */
export async function openEmbeddedPglite(
  pgdataDir: string,
  options: { templateDir?: string } = {},
): Promise<DatabaseHandle> {
  const { PGlite } = await import("@electric-sql/pglite");
  const marker = `${pgdataDir}.loading`;
  if (!(await exists(join(pgdataDir, "PG_VERSION"))) || (await exists(marker))) {
    // A new database (or one whose creation was interrupted: it holds no data yet, start over).
    const template = await buildTemplate(options.templateDir);
    await mkdir(dirname(pgdataDir), { recursive: true });
    await writeFile(
      marker,
      "a database is being created here; if this file stays, the next start redoes it\n",
    );
    await fsyncPath(dirname(pgdataDir));
    await rm(pgdataDir, { recursive: true, force: true });
    // The copied files and folders reach the disk before the marker goes: after a crash, either the
    // marker is there (start over) or the whole directory is.
    await copyTree(template, pgdataDir);
    await fsyncTree(pgdataDir);
    await rm(marker);
    await fsyncPath(dirname(pgdataDir));
  }
  return handleOf(await PGlite.create(pgdataDir));
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

/** Every file and folder under `dir` (folders after their contents), relative to `dir`. */
async function listTree(dir: string, relative = ""): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
    const path = join(relative, entry.name);
    if (entry.isDirectory()) {
      const inner = await listTree(dir, path);
      files.push(...inner.files);
      dirs.push(...inner.dirs, path);
    } else if (entry.isFile()) {
      files.push(path);
    }
  }
  return { files, dirs };
}

/** Copies the files of `from` into a new folder `to`, several at a time (the OS copies the bytes). */
async function copyTree(from: string, to: string): Promise<void> {
  const { files, dirs } = await listTree(from);
  await mkdir(to, { recursive: true });
  // Parents first (listTree puts them after their contents).
  for (const dir of [...dirs].reverse()) await mkdir(join(to, dir), { recursive: true });
  await eachAtMost(ioConcurrency, files, (file) =>
    // A copy-on-write clone where the file system has them (btrfs, XFS, APFS): no bytes copied.
    copyFile(join(from, file), join(to, file), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
  );
}

/** fsyncs every file under `dir`, then every folder (each after its contents), then `dir` itself. */
async function fsyncTree(dir: string): Promise<void> {
  const { files, dirs } = await listTree(dir);
  await eachAtMost(ioConcurrency, files, (file) => fsyncPath(join(dir, file)));
  // A folder's entries are durable once it is fsynced; its files' contents already are.
  await eachAtMost(ioConcurrency, dirs, (sub) => fsyncPath(join(dir, sub)));
  await fsyncPath(dir);
}

async function eachAtMost<T>(
  limit: number,
  items: readonly T[],
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
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
