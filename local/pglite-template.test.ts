import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { migrations } from "../functions/adapters/db/migrations/index.ts";
import { openEmbeddedPglite, templateName } from "./pglite-template.ts";

// Real PGlite data folders on disk: the first fresh one makes the template (initdb, migrations), then
// every fresh one is a copy of it.
const root = mkdtempSync(join(tmpdir(), "oncall-template-"));
const templateDir = join(root, "cache", "template");

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function applied(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
    handle.db,
  );
  return rows.map((r) => r.name);
}

async function setting(handle: DatabaseHandle, key: string): Promise<unknown> {
  const row = await handle.db
    .selectFrom("settings")
    .select("value")
    .where("key", "=", key)
    .executeTakeFirst();
  return row?.value;
}

describe("templateName", () => {
  it("changes when a merge adds a migration that sorts before the newest one", () => {
    const before = templateName("0.5.17", ["2026-11-29T1300-a", "2026-11-29T1900-c"]);
    const merged = templateName("0.5.17", ["2026-11-29T1300-a", "2026-11-29T1500-b", "2026-11-29T1900-c"]);
    expect(merged).not.toBe(before);
    expect(merged).toMatch(/^pglite-0\.5\.17-2026-11-29T1900-c-[0-9a-f]{12}$/);
    expect(templateName("0.5.18", ["2026-11-29T1300-a", "2026-11-29T1900-c"])).not.toBe(before);
  });
});

describe("openEmbeddedPglite", () => {
  const allMigrations = Object.keys(migrations).sort();

  it("without a template: makes the template by initdb and the migrations, and the database from it", async () => {
    const db = await openEmbeddedPglite(join(root, "first", "pgdata"), { templateDir });
    try {
      expect(await applied(db)).toEqual(allMigrations);
      expect(existsSync(join(templateDir, "PG_VERSION"))).toBe(true);
      expect(readdirSync(join(root, "cache"))).toEqual(["template"]); // no partial folder left
    } finally {
      await db.close();
    }
  }, 600_000); // a safety net only: initdb took 45 s on a 2-core machine at load 25

  it("from the template: a fully migrated database whose writes persist across a restart", async () => {
    const pgdata = join(root, "fresh", "pgdata");
    const db = await openEmbeddedPglite(pgdata, { templateDir });
    try {
      expect(await applied(db)).toEqual(allMigrations);
      expect(existsSync(`${pgdata}.loading`)).toBe(false);
      await db.db
        .insertInto("settings")
        .values({ key: "probe", value: sql`'{"kept":true}'::jsonb` })
        .execute();
    } finally {
      await db.close();
    }

    const reopened = await openEmbeddedPglite(pgdata, { templateDir });
    try {
      expect(await setting(reopened, "probe")).toEqual({ kept: true });
      expect(await applied(reopened)).toEqual(allMigrations);
    } finally {
      await reopened.close();
    }

    // The template was copied, not used: another fresh folder does not see the first one's writes.
    const other = await openEmbeddedPglite(join(root, "other", "pgdata"), { templateDir });
    try {
      expect(await setting(other, "probe")).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it("starts over when a previous creation was interrupted (its marker is still there)", async () => {
    const pgdata = join(root, "interrupted", "pgdata");
    mkdirSync(pgdata, { recursive: true });
    writeFileSync(join(pgdata, "PG_VERSION"), "18\n"); // half a directory, as a crash leaves it
    writeFileSync(`${pgdata}.loading`, "");

    const db = await openEmbeddedPglite(pgdata, { templateDir });
    try {
      expect(await applied(db)).toEqual(allMigrations);
      expect(existsSync(`${pgdata}.loading`)).toBe(false);
    } finally {
      await db.close();
    }
  });
});
