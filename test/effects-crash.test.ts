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
    // The storm below sends 10,000 alerts in seconds through the one demo key.
    ONCALL_INGEST_ALERT_LIMIT_PER_MINUTE: "1000000",
    ONCALL_INGEST_RATE_LIMIT_PER_MINUTE: "100000",
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
            where not exists (select 1 from alert_escalations e where e.alert_id = a.id)
              or exists (select 1 from alert_effects f
                where f.kind = 'escalation.start' and f.status = 'pending' and f.alert_ids @> to_jsonb(a.id))
          ) as unescalated,
          (select count(*)::int from alert_effects where status = 'pending') as pending`);
      unescalated = rows[0].unescalated;
      pending = rows[0].pending;
      if (unescalated === 0 && pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stored = (await client.query("select count(*)::int as n from alerts")).rows[0].n as number;
    // An escalation opens once: its `escalation_started` entry, or, when its first step was taken as
    // it opened (nothing pending to announce), that step's entry.
    const starts = await client.query(`
      select a.id, (select count(*)::int from alert_events ev where ev.alert_id = a.id
        and (ev.type = 'escalation_started'
          or (ev.type in ('escalated', 'no_one_to_notify') and ev.data->>'stepIndex' = '0' and ev.data->>'repeatCycle' = '0'
            and not exists (select 1 from alert_events s where s.alert_id = a.id and s.type = 'escalation_started')))) as n
      from alerts a`);
    console.info(
      `crash test: ${sent} requests sent, ${stored} alerts stored, ${pendingAfterKill} effect(s) pending right after the kill`,
    );

    expect(stored).toBeGreaterThanOrEqual(150);
    expect(unescalated).toBe(0);
    expect(starts.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(pending).toBe(0);
  }, 180_000);

  it("a storm of 10,000 alerts killed mid-way and retried: every alert escalates exactly once per step", async () => {
    for (const s of servers) s.child.kill("SIGKILL");
    await Promise.all(servers.map((s) => s.exited));
    await client.query("truncate alerts, alert_events, alert_effects cascade");
    // The demo policy, made short: step 1, 3 s, step 2, once through (the server runs on the real clock).
    await client.query("update escalation_steps set delay_seconds = 3 where position = 0");
    await client.query("update escalation_policies set repeat_count = 0");

    const requests = 100;
    const answered = new Set<number>();
    const send = async (url: string, r: number) => {
      const res = await fetch(`${url}/v1/webhooks/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${demoKey}` },
        body: JSON.stringify({
          version: "4",
          status: "firing",
          receiver: "oncall",
          groupKey: `storm-${r}`,
          alerts: Array.from({ length: 100 }, (_, i) => ({
            status: "firing",
            labels: { alertname: `storm-${r}-${i}` },
            annotations: {},
            fingerprint: `storm-${r}-${i}`,
            startsAt: "2026-11-27T11:59:00Z",
          })),
        }),
      }).catch(() => undefined);
      if (res?.status === 200) answered.add(r);
      await res?.arrayBuffer();
    };
    /** 20 senders through `url`; each request not answered 200 is left for the sender's retry. */
    const storm = (url: string) => {
      const pending = Array.from({ length: requests }, (_, r) => r).filter((r) => !answered.has(r));
      return Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let r = pending.shift(); r !== undefined; r = pending.shift()) await send(url, r);
        }),
      );
    };

    const first = start();
    const sending = storm(await waitHealthy(first));
    // Kill once a few thousand alerts are in, while requests are in flight.
    for (let waited = 0; waited < 60_000; waited += 20) {
      const { rows } = await client.query("select count(*)::int as n from alerts");
      if (rows[0].n >= 3_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill("SIGKILL");
    await first.exited;
    await sending;
    const storedAtKill = (await client.query("select count(*)::int as n from alerts")).rows[0].n as number;
    const stepOneAtKill = (
      await client.query("select count(distinct alert_id)::int as n from notifications where step_index = 0")
    ).rows[0].n as number;

    // The senders retry what was not answered (Alertmanager does), against the restarted process.
    await storm(await waitHealthy(start()));
    const stored = (await client.query("select count(*)::int as n from alerts")).rows[0].n as number;
    // The restart runs the owed starts and resumes every cohort: wait until no escalation is active.
    let active = -1;
    for (let waited = 0; waited < 120_000; waited += 200) {
      const { rows } = await client.query(`
        select (select count(*)::int from alerts a where not exists (select 1 from alert_escalations e where e.alert_id = a.id))
          + (select count(*)::int from alert_escalations where status = 'active') as n`);
      active = rows[0].n;
      if (active === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const perStep = await client.query(`
      select a.id,
        (select count(*)::int from alert_events e where e.alert_id = a.id and e.type = 'escalation_started') as started,
        (select count(*)::int from alert_events e where e.alert_id = a.id and e.type = 'escalated'
          and (e.data->>'stepIndex')::int = 0) as step1_logged,
        (select count(*)::int from alert_events e where e.alert_id = a.id and e.type = 'escalated'
          and (e.data->>'stepIndex')::int = 1) as step2_logged,
        (select count(distinct n.step_index)::int from notifications n where n.alert_id = a.id) as steps_notified
      from alerts a`);
    console.info(
      `storm crash test: ${storedAtKill} alerts stored at the kill, ${stepOneAtKill} of them with step 1 recorded; ` +
        `${stored} after the senders' retries`,
    );

    expect(storedAtKill).toBeGreaterThanOrEqual(3_000);
    expect(answered.size).toBe(requests);
    expect(stored).toBe(requests * 100);
    expect(active).toBe(0);
    expect(perStep.rows).toHaveLength(stored);
    expect(
      perStep.rows.filter(
        // `escalation_started` only when the first step was not taken as the escalation opened
        (r) => r.started > 1 || r.step1_logged !== 1 || r.step2_logged !== 1 || r.steps_notified !== 2,
      ),
    ).toEqual([]);
  }, 300_000);
});
