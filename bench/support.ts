import { randomBytes } from "node:crypto";
import pg from "pg";
import { type DatabaseHandle, openDatabase } from "../functions/adapters/db/database.ts";
import { migrateToLatest } from "../functions/adapters/db/migrate.ts";

export interface BenchDatabase {
  handle: DatabaseHandle;
  /** A plain node-postgres pool on the same database, for baselines (undefined on PGlite). */
  label: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for a benchmark: a new database on the Postgres server of
 * DATABASE_URL (default: this machine's, 127.0.0.1:5432), dropped afterwards; PGlite in memory
 * when no server answers.
 */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch {
    const handle = await openDatabase({ kind: "pglite", dataDir: "memory://" });
    await migrateToLatest(handle.db);
    return { handle, label: "PGlite (no Postgres server answered)", close: () => handle.close() };
  }
  const name = `oncall_bench_${randomBytes(4).toString("hex")}`;
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ kind: "postgres", url: url.toString() });
  await migrateToLatest(handle.db);
  return {
    handle,
    label: `Postgres at ${url.host}`,
    close: async () => {
      await handle.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
