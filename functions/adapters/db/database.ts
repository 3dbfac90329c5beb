import type { RDSDataClient } from "@aws-sdk/client-rds-data";
import type { PGlite } from "@electric-sql/pglite";
// PostgresDialect is imported statically (it is small): an `import("kysely")` would keep the whole
// namespace, every dialect with it (~45 KB of every Lambda bundle).
import { type Dialect, Kysely, PostgresDialect, sql } from "kysely";
import type { ClientSource } from "../aws/lazy-client.ts";
import { createDataApiDialect } from "./data-api-dialect.ts";
import { DatabaseTimeoutError } from "./errors.ts";
import { usePreparedStatements } from "./prepared-statements.ts";
import type { Database } from "./schema.ts";

/** Where the data lives. One factory serves the embedded runtime, the tests and the Lambdas. */
export type DatabaseConfig =
  /** Embedded Postgres (WASM). `dataDir` is a folder, or `memory://` for a throwaway database. */
  | { kind: "pglite"; dataDir: string }
  /** An existing PGlite instance (tests clone one migrated template per worker). */
  | { kind: "pglite-instance"; instance: PGlite }
  /** Any Postgres reachable with a connection string (`DATABASE_URL`). */
  | { kind: "postgres"; url: string; maxConnections?: number; timeouts?: DatabaseTimeouts }
  /** Aurora through the RDS Data API (inside Lambda); the client may be created on the first statement. */
  | {
      kind: "data-api";
      resourceArn: string;
      secretArn: string;
      database: string;
      client: ClientSource<RDSDataClient>;
    };

/**
 * Bounds on a database that may be far away (ONCALL_DB_CONNECT_TIMEOUT_MS and
 * ONCALL_DB_STATEMENT_TIMEOUT_MS, 3 s each by default in the embedded runtime). A request must
 * answer 503 within seconds when the database is gone, and must not write anything after it
 * answered: the server cancels a statement that runs longer than `statementMs`, and a statement
 * whose answer has not come `statementMs` + 0.5 s later (a partition: the server may never have
 * seen it) has its connection reset, so that nothing the client still holds reaches the server.
 */
export interface DatabaseTimeouts {
  /** Opening a connection (or waiting for a free one). 0: no bound. */
  connectMs: number;
  /** One statement; also idle time inside a transaction. 0: no bound (migrations). */
  statementMs: number;
}

/** Without `timeouts` (tests, tools): no bounds, as node-postgres does by default. */
const unbounded: DatabaseTimeouts = { connectMs: 0, statementMs: 0 };

/** Time a client waits past the server's statement timeout before it gives the connection up. */
const clientGraceMs = 500;

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
      const timeouts = config.timeouts ?? unbounded;
      const pool = new pg.Pool({
        connectionString: config.url,
        max: config.maxConnections ?? 10,
        types: createTypeOverrides(),
        keepAlive: true,
        ...(timeouts.connectMs > 0 ? { connectionTimeoutMillis: timeouts.connectMs } : {}),
        ...(timeouts.statementMs > 0
          ? {
              statement_timeout: timeouts.statementMs,
              idle_in_transaction_session_timeout: timeouts.statementMs,
            }
          : {}),
        ...(timeouts.statementMs > 0
          ? { Client: boundedClient(pg.Client, timeouts.statementMs + clientGraceMs) }
          : {}),
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

type PgClientClass = typeof import("pg").Client;

/**
 * A node-postgres client whose statements give up after `limitMs`: the connection is reset (RST,
 * unsent bytes discarded), so a statement stuck behind a partition can never run later, and the
 * caller gets a DatabaseTimeoutError (→ 503). node-postgres's own `query_timeout` only stops
 * waiting: the statement stays queued on a connection that goes back to the pool.
 */
function boundedClient(Base: PgClientClass, limitMs: number): PgClientClass {
  return class BoundedClient extends Base {
    constructor(...args: ConstructorParameters<PgClientClass>) {
      super(...args);
      // A connection lost while checked out errors its query; the event itself must not crash us.
      this.on("error", () => {});
    }
    // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; we wrap them all
    override query(...args: any[]): any {
      // biome-ignore lint/suspicious/noExplicitAny: see above
      const result = (super.query as (...a: any[]) => any)(...args);
      if (!(result instanceof Promise)) return result;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const stream = (this as unknown as { connection?: { stream?: import("node:net").Socket } })
            .connection?.stream;
          if (stream && typeof stream.resetAndDestroy === "function") stream.resetAndDestroy();
          else stream?.destroy();
          reject(new DatabaseTimeoutError(`statement took longer than ${limitMs} ms; connection reset`));
        }, limitMs);
      });
      return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
    }
  } as unknown as PgClientClass;
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
