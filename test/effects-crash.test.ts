import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedProcess, startEmbeddedProcess, waitHealthy } from "./support/embedded-process.ts";

// The crash window between an alert change and its effects, on the embedded runtime as a user runs
// it, against the machine's Postgres (DATABASE_URL): webhook load on the demo service (which has an
// escalation policy), SIGKILL in the middle, restart. Before the effects outbox, 6 of 606 stored
// alerts were left without an escalation. Every stored alert must end up escalated exactly once.
const serverUrl = process.env.DATABASE_URL;
const demoKey = `crash-test-key-${randomBytes(8).toString("hex")}`;
const dbName = `oncall_crash_${randomBytes(6).toString("hex")}`;
let dataDir: string;
let client: pg.Client;
const servers: EmbeddedProcess[] = [];

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function start(): EmbeddedProcess {
  const url = new URL(serverUrl!);
  url.pathname = `/${dbName}`;
  const server = startEmbeddedProcess({
    ONCALL_DATA_DIR: dataDir,
    DATABASE_URL: url.toString(),
    ONCALL_DEMO_INTEGRATION_KEY: demoKey,
  });
  servers.push(server);
  return server;
}

describe.skipIf(!serverUrl)("a SIGKILL between alert changes and their effects (Postgres)", () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-crash-"));
    await admin(`create database ${dbName}`);
    const url = new URL(serverUrl!);
    url.pathname = `/${dbName}`;
    client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
  });

  afterAll(async () => {
    for (const s of servers) s.child.kill("SIGKILL");
    await client?.end();
    await admin(`drop database if exists ${dbName} with (force)`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("escalates every stored alert exactly once after the restart", async () => {
    const first = start();
    const url = await waitHealthy(first);
    let sent = 0;
    let stop = false;
    const sender = async (n: number) => {
      for (let i = 0; !stop && i < 2_000; i++) {
        await fetch(`${url}/v1/webhooks/generic`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${demoKey}` },
          body: JSON.stringify({ summary: `load ${n}-${i}`, dedup: `load-${n}-${i}` }),
        }).catch(() => undefined);
        sent++;
      }
    };
    const senders = [1, 2, 3, 4, 5, 6].map(sender);
    // Kill once some alerts are in, while requests are in flight.
    for (let waited = 0; waited < 30_000; waited += 50) {
      const { rows } = await client.query("select count(*)::int as n from alerts");
      if (rows[0].n >= 150) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGKILL");
    stop = true;
    await first.exited;
    await Promise.all(senders);
    const pendingAfterKill = (
      await client.query("select count(*)::int as n from alert_effects where status = 'pending'")
    ).rows[0].n as number;

    await waitHealthy(start());
    // The restarted process runs what the dead one owed (at start, then housekeeping): wait until
    // every alert is escalated and no effect is left pending (an effect whose start had run before
    // the kill but was not yet marked done is completed by the restart, as a no-op).
    let unescalated = -1;
    let pending = -1;
    for (let waited = 0; waited < 60_000; waited += 100) {
      const { rows } = await client.query(`
        select
          (select count(*)::int from alerts a
            where not exists (select 1 from alert_escalations e where e.alert_id = a.id and e.execution_arn is not null)
          ) as unescalated,
          (select count(*)::int from alert_effects where status = 'pending') as pending`);
      unescalated = rows[0].unescalated;
      pending = rows[0].pending;
      if (unescalated === 0 && pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stored = (await client.query("select count(*)::int as n from alerts")).rows[0].n as number;
    const starts = await client.query(`
      select a.id, (select count(*)::int from alert_events ev where ev.alert_id = a.id and ev.type = 'escalation_started') as n
      from alerts a`);
    console.info(
      `crash test: ${sent} requests sent, ${stored} alerts stored, ${pendingAfterKill} effect(s) pending right after the kill`,
    );

    expect(stored).toBeGreaterThanOrEqual(150);
    expect(unescalated).toBe(0);
    expect(starts.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(pending).toBe(0);
  }, 180_000);
});
