import type { RDSDataClient } from "@aws-sdk/client-rds-data";
import type { PGlite } from "@electric-sql/pglite";
// PostgresDialect is imported statically (it is small): an `import("kysely")` would keep the whole
// namespace, every dialect with it (~45 KB of every Lambda bundle).
import { type Dialect, Kysely, PostgresDialect, sql } from "kysely";
import type { ClientSource } from "../aws/lazy-client.ts";
import { createDataApiDialect } from "./data-api-dialect.ts";
import { usePreparedStatements } from "./prepared-statements.ts";
import type { Database } from "./schema.ts";

/** Where the data lives. One factory serves the embedded runtime, the tests and the Lambdas. */
export type DatabaseConfig =
  /** Embedded Postgres (WASM). `dataDir` is a folder, or `memory://` for a throwaway database. */
  | { kind: "pglite"; dataDir: string }
  /** An existing PGlite instance (tests clone one migrated template per worker). */
  | { kind: "pglite-instance"; instance: PGlite }
  /** Any Postgres reachable with a connection string (`DATABASE_URL`). */
  | { kind: "postgres"; url: string; maxConnections?: number }
  /** Aurora through the RDS Data API (inside Lambda); the client may be created on the first statement. */
  | {
      kind: "data-api";
      resourceArn: string;
      secretArn: string;
      database: string;
      client: ClientSource<RDSDataClient>;
    };

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseConfig["kind"];
  /** Runs `select 1`; resolves with the round trip in ms, rejects when the database is unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export async function openDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  const { dialect, closeExtra } = await createDialect(config);
  const db = new Kysely<Database>({ dialect });
  return {
    db,
    kind: config.kind,
    async ping() {
      const started = performance.now();
      await sql`select 1`.execute(db);
      return performance.now() - started;
    },
    async close() {
      await db.destroy();
      await closeExtra();
    },
  };
}

// PGlite and node-postgres are loaded only where used: a Lambda on the Data API never pays for
// their ~600 KB in its bundle's init time.
async function createDialect(
  config: DatabaseConfig,
): Promise<{ dialect: Dialect; closeExtra(): Promise<void> }> {
  switch (config.kind) {
    case "pglite": {
      const { PGlite } = await import("@electric-sql/pglite");
      const instance = await PGlite.create(config.dataDir);
      return { dialect: await pgliteDialect(instance), closeExtra: () => instance.close() };
    }
    case "pglite-instance":
      // The caller owns the instance and closes it.
      return { dialect: await pgliteDialect(config.instance), closeExtra: async () => {} };
    case "postgres": {
      const [{ default: pg }, { createTypeOverrides }] = await Promise.all([
        import("pg"),
        import("./type-parsers.ts"),
      ]);
      const pool = new pg.Pool({
        connectionString: config.url,
        max: config.maxConnections ?? 10,
        types: createTypeOverrides(),
      });
      // An idle connection dropped by the server (restart, failover) must not crash the process:
      // the pool discards it, and the next query opens a new one or fails as `unavailable`.
      pool.on("error", (err) => {
        process.emitWarning(`postgres pool: idle connection lost (${err.message})`);
      });
      usePreparedStatements(pool);
      return { dialect: new PostgresDialect({ pool }), closeExtra: async () => {} };
    }
    case "data-api":
      return { dialect: createDataApiDialect(config), closeExtra: async () => {} };
  }
}

/**
 * PGlite through its node-postgres shim: the same PostgresDialect, the same pg type parsing, so
 * PGlite and a real Postgres return identical values. PGlite is single-connection.
 */
async function pgliteDialect(instance: PGlite): Promise<Dialect> {
  const [{ default: pg }, { createPgConfig }, { createTypeOverrides }] = await Promise.all([
    import("pg"),
    import("@electric-sql/pglite/node-postgres"),
    import("./type-parsers.ts"),
  ]);
  const pool = new pg.Pool({ ...createPgConfig(instance), max: 1, types: createTypeOverrides() });
  usePreparedStatements(pool);
  return new PostgresDialect({ pool });
}
