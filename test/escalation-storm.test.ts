import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import type { AppContext } from "../functions/app/context.ts";
import type { Clock } from "../functions/domain/clock.ts";
import type { EscalationRunner } from "../functions/domain/escalation/index.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { createEmbeddedEscalations } from "../local/embedded-escalations.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// An alert storm on the embedded runtime (HTTP server, effects outbox, the escalation ASL on the
// local interpreter), against the machine's Postgres (DATABASE_URL): 10,000 new alerts (100
// Alertmanager requests of 100, 20 senders) on a service with a 2-step policy. Half of them are
// acknowledged over the API mid-storm, each once its first step is recorded. Every alert gets exactly
// one step-1 record; after the first step's delay (the clock is moved, then the executions are resumed
// as a restart would: the local runner's Wait uses real timers), step 2 runs for exactly the others.
const databaseUrl = process.env.DATABASE_URL;
const requests = 100;
const perRequest = 100;
const senders = 20;
const stepDelaySeconds = 3600;

/** The system clock moved forward by `offsetMs`. */
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let escalations: Awaited<ReturnType<typeof createEmbeddedEscalations>>;
let ctx: AppContext;

/** The runner of the moment (a restart replaces it). */
const runner: EscalationRunner = {
  start: (name, options) => escalations.runner.start(name, options),
  stop: (name) => escalations.runner.stop(name),
};

async function count(query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  return (await query.execute(database.db)).rows[0]!.n;
}

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  for (let waited = 0; !(await done()); waited += 200) {
    if (waited > timeoutMs) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function sendRequest(r: number): Promise<number> {
  const res = await fetch(`${server.url}/v1/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.alertmanager}` },
    body: JSON.stringify({
      version: "4",
      status: "firing",
      receiver: "oncall",
      groupKey: `storm-${r}`,
      alerts: Array.from({ length: perRequest }, (_, i) => ({
        status: "firing",
        labels: { alertname: `storm-${r}-${i}`, ack: String(i % 2 === 0) },
        annotations: {},
        fingerprint: `storm-${r}-${i}`,
        startsAt: "2026-11-27T11:59:00Z",
      })),
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Acknowledges (over the API, in bulk) the alerts to acknowledge whose first step is recorded. */
async function acknowledgeNotifiedHalf(): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    select a.id from alerts a
    where a.status = 'triggered' and a.labels->>'ack' = 'true'
      and exists (select 1 from notifications n where n.alert_id = a.id and n.step_index = 0)
    order by a.id limit 1000
  `.execute(database.db);
  if (rows.length === 0) return 0;
  const res = await fetch(`${server.url}/oncall.v1.AlertService/BulkAcknowledgeAlerts`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${testAdminToken}` },
    body: JSON.stringify({ ids: rows.map((r) => String(r.id)) }),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return rows.length;
}

describe.skipIf(!databaseUrl)("an alert storm on the embedded runtime (Postgres)", () => {
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
    seeded = await seedService(database.db);
    await attachPolicy(
      database.db,
      seeded.serviceId,
      await seedPolicy(database.db, [
        { delaySeconds: stepDelaySeconds, targets: [{ kind: "user", id: "alice" }] },
        { delaySeconds: 0, targets: [{ kind: "user", id: "bob" }] },
      ]),
    );
    escalations = await createEmbeddedEscalations({ db: database.db, clock });
    ctx = createTestAppContext(database, {
      clock,
      escalations: runner,
      ingestAlertLimitPerMinute: 1_000_000,
      ingestRateLimitPerMinute: 100_000,
    });
    server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
  }, 120_000);

  afterAll(async () => {
    escalations?.runner.close();
    await server?.close();
    await database?.close();
  });

  it("escalates every alert exactly once per step; an acknowledge mid-storm stops exactly those", async () => {
    const started = Date.now();
    let next = 0;
    let stormOver = false;
    const statuses: number[] = [];
    const sender = async () => {
      for (let r = next++; r < requests; r = next++) statuses.push(await sendRequest(r));
    };
    let acknowledged = 0;
    const acker = (async () => {
      while (!stormOver || acknowledged < (requests * perRequest) / 2) {
        const n = await acknowledgeNotifiedHalf();
        acknowledged += n;
        if (n === 0) await new Promise((r) => setTimeout(r, 100));
      }
      return acknowledged;
    })();
    await Promise.all(Array.from({ length: senders }, sender));
    const answeredMs = Date.now() - started;
    const acknowledgedMidStorm = acknowledged;
    stormOver = true;

    const total = requests * perRequest;
    await until("every alert has its first step", async () => {
      return (
        (await count(
          sql`select count(distinct alert_id)::int as n from notifications where step_index = 0`,
        )) === total
      );
    });
    const stepOneMs = Date.now() - started;
    expect(await acker).toBe(total / 2);

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await count(sql`select count(*)::int as n from alerts`)).toBe(total);
    // One execution per request, not per alert.
    expect(await count(sql`select count(distinct execution_name)::int as n from alert_escalations`)).toBe(
      requests,
    );
    // Exactly one step-1 record per alert (one recipient: one notification, one log entry).
    expect(
      await count(sql`
        select count(*)::int as n from alerts a
        where (select count(*) from notifications n where n.alert_id = a.id and n.step_index = 0) <> 1
          or (select count(*) from alert_events e where e.alert_id = a.id and e.type = 'escalated') <> 1`),
    ).toBe(0);
    const { rows: latency } = await sql<{ p50: number; p99: number; max: number }>`
      select percentile_cont(0.5) within group (order by ms)::float8 as p50,
        percentile_cont(0.99) within group (order by ms)::float8 as p99, max(ms)::float8 as max
      from (
        select extract(epoch from (n.created_at - a.created_at)) * 1000 as ms
        from alerts a join notifications n on n.alert_id = a.id and n.step_index = 0
      ) x
    `.execute(database.db);

    // After the first step's delay, step 2 for the alerts nobody acknowledged, and only for them.
    offsetMs += (stepDelaySeconds + 1) * 1000;
    escalations.runner.close();
    escalations = await createEmbeddedEscalations({ db: database.db, clock });
    const resumed = await escalations.resume();
    await until("no escalation is active", async () => {
      return (
        (await count(sql`select count(*)::int as n from alert_escalations where status = 'active'`)) === 0
      );
    });

    expect(resumed).toBeLessThanOrEqual(requests);
    expect(
      await count(sql`
        select count(*)::int as n from alerts a
        where (select count(*) from notifications n where n.alert_id = a.id and n.step_index = 1)
          <> case when a.labels->>'ack' = 'true' then 0 else 1 end`),
    ).toBe(0);
    expect(
      await count(sql`
        select count(*)::int as n from alerts a join alert_escalations e on e.alert_id = a.id
        where e.status <> case when a.labels->>'ack' = 'true' then 'stopped' else 'completed' end`),
    ).toBe(0);

    console.info(
      `storm: ${total} alerts in ${requests} requests (${senders} senders) answered in ${answeredMs} ms ` +
        `(${Math.round((total / answeredMs) * 1000)} alerts/s); every first step recorded after ${stepOneMs} ms; ` +
        `alert created → step 1 recorded: p50 ${Math.round(latency[0]!.p50)} ms, p99 ${Math.round(latency[0]!.p99)} ms, ` +
        `max ${Math.round(latency[0]!.max)} ms; ${acknowledgedMidStorm} acknowledged before the last request was answered; ` +
        `${resumed} executions resumed for step 2`,
    );
  }, 600_000);
});
