import { createHash } from "node:crypto";
import { sql } from "kysely";

/**
 * Put first in a hot statement to have Postgres parse and plan it once per connection instead of
 * on every call: `sql\`${prepared} with ... \``. For the ingest statement (a dozen CTEs) parsing
 * and planning cost about as much as running it. Only node-postgres connections (Postgres, PGlite)
 * act on it; elsewhere (the RDS Data API, which has no prepared statements) it is a comment.
 */
export const prepared = sql.raw("/* prepared */\n");

const marker = "/* prepared */";

/**
 * Statement names per connection are not evicted, so a statement's text must come from a bounded
 * set (a fixed query, or a few variants of it); beyond this many, marked statements run unnamed.
 */
const maxPreparedPerConnection = 64;

interface PgClient {
  query(text: unknown, values?: unknown): unknown;
}

/**
 * Makes the clients of a node-postgres pool run statements marked with `prepared` as named
 * prepared statements (the name is a hash of the text, so every variant of a statement gets its
 * own). node-postgres remembers which names a connection has parsed and skips the parse next time.
 */
export function usePreparedStatements(pool: {
  on(event: "connect", listener: (client: PgClient) => void): unknown;
}): void {
  pool.on("connect", (client) => {
    const names = new Set<string>();
    const query = client.query.bind(client);
    client.query = (text: unknown, values?: unknown) => {
      if (typeof text !== "string" || !text.startsWith(marker)) return query(text, values);
      const name = statementName(text);
      if (!names.has(name)) {
        if (names.size >= maxPreparedPerConnection) return query(text, values);
        names.add(name);
      }
      return query({ name, text, values });
    };
  });
}

const namesByText = new Map<string, string>();

function statementName(text: string): string {
  let name = namesByText.get(text);
  if (name === undefined) {
    name = `oncall_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    if (namesByText.size < 1024) namesByText.set(text, name);
  }
  return name;
}
