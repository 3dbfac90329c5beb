import { type Kysely, sql } from "kysely";
import { isSchemaMissing } from "./errors.ts";
import { latestSchemaVersion } from "./migrate.ts";

/** What `/healthz` says about the database. */
export type DatabaseHealth = "ok" | "unavailable" | "schema_missing";

/**
 * Checks that the database answers, within `timeoutMs`, and that it holds our schema (the newest
 * migration this code knows is recorded): a database recreated empty answers `select 1` but
 * serves nothing.
 */
export async function checkDatabase(
  // biome-ignore lint/suspicious/noExplicitAny: the check reads Kysely's own migration table
  db: Kysely<any>,
  timeoutMs: number,
): Promise<{ health: DatabaseHealth; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const check = sql<{ found: number }>`
    select count(*)::int as found from kysely_migration where name = ${latestSchemaVersion}
  `
    .execute(db)
    .then(
      ({ rows }) => ({ health: rows[0]?.found ? "ok" : "schema_missing" }) as const,
      (error: unknown) => ({
        health: isSchemaMissing(error) ? ("schema_missing" as const) : ("unavailable" as const),
        error,
      }),
    );
  try {
    const result = await Promise.race([check, timedOut]);
    if (result === "timeout")
      return { health: "unavailable", error: new Error(`no answer in ${timeoutMs} ms`) };
    return result;
  } finally {
    clearTimeout(timer);
  }
}
