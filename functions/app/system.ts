// The constant, not migrate.ts: the API Lambda then does not bundle every migration to name the last.
import { latestMigration as latestSchemaVersion } from "../adapters/db/migrations/latest.ts";
import type { AppContext } from "./context.ts";

// What SystemService reports: the build and schema, and whether the database answers.

export function versionInfo(ctx: Pick<AppContext, "version" | "runtime">) {
  return { version: ctx.version, runtime: ctx.runtime, schemaVersion: latestSchemaVersion };
}

/** The database's round-trip latency in ms, or undefined when it does not answer. */
export async function databaseLatency(ctx: Pick<AppContext, "database">): Promise<number | undefined> {
  try {
    return await ctx.database.ping();
  } catch {
    return undefined;
  }
}
