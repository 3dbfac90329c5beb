// Escalating ingest over HTTP through the embedded runtime (local HTTP server, effects outbox, the
// escalation ASL on the local interpreter): Alertmanager batches of 100 new alerts to a service WITH
// an escalation policy, to one WITHOUT, and the same rows upserted raw by one SQL statement, taking
// turns in the same run, on Postgres and on PGlite (a data folder on disk, as `npm start` runs it).
// An escalating turn is timed until its requests are answered; its first steps (which run in the
// background) are then drained untimed so that they do not slow the next turn, and also reported as
// "with step 1": until every alert of the turn has its first step recorded. Then a single 1,000-alert
// request to the escalating service (time to answer). Goals (issue 10): escalating ≥ 0.5× non-
// escalating on both databases; the 1,000-alert request ≤ 3 s on PGlite. Deliveries are planned as
// `npm start` plans them (a step's right after it, a first step recorded with the alerts by the
// request), on both sides of the ratio's escalating turn.
//
// The two paged users have a verified email and SMS each, as users have in real use, so that every
// page is written as two delivery records (nothing is sent: no sender runs). PAGED=0 gives them none
// (a `no_contact_method` entry per alert instead of deliveries), as the figures before 2026-11-30
// were measured.
//
//   node bench/escalation-storm.bench.ts     (ONLY=postgres|pglite, SENDERS=4, ROUNDS=5, PAGED=0)
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

const { mkdtempSync, rmSync } = await import("node:fs");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");
const { sql } = await import("kysely");
const { openDatabase } = await import("../functions/adapters/db/database.ts");
const { migrateToLatest } = await import("../functions/adapters/db/migrate.ts");
const { effectDepsOf } = await import("../functions/app/effect-registry.ts");
const { runOwedEffectsOfAlerts } = await import("../functions/app/effects.ts");
const { createLocalDispatch } = await import("../local/dispatch.ts");
const { createEmbeddedEscalations } = await import("../local/embedded-escalations.ts");
const { startLocalServer } = await import("../local/server.ts");
const { createTestAppContext } = await import("../test/support/app-context.ts");
const { seedService } = await import("../test/support/seed.ts");
const { attachPolicy, seedDirectoryUsers, seedPolicy } = await import("../test/support/seed-oncall.ts");
const { insertContactMethod } = await import("../functions/adapters/db/stores/directory.ts");
const { fmt, median, openBenchDatabase } = await import("./support.ts");

type Handle = Awaited<ReturnType<typeof openDatabase>>;

const batchSize = 100;
const batchesPerTurn = 10;
const rounds = Number(process.env.ROUNDS ?? 5);
const senders = Number(process.env.SENDERS ?? 4);
const paged = process.env.PAGED !== "0";

let next = 0;
function alertEntry() {
  const n = next++;
  return {
    status: "firing",
    labels: { alertname: "HighLoad", instance: `host-${n}`, job: "node", severity: "warning", team: "infra" },
    annotations: { summary: `Load above 4 on host-${n}`, description: "15m load average above 4" },
    startsAt: "2026-11-27T12:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.local/graph?g0.expr=node_load15",
    fingerprint: n.toString(16).padStart(16, "0"),
  };
}
const batch = (size: number) => Array.from({ length: size }, alertEntry);
const body = (alerts: ReturnType<typeof alertEntry>[]) =>
  JSON.stringify({ version: "4", status: "firing", receiver: "oncall", groupKey: "{}", alerts });

async function concurrently<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (i < items.length) await work(items[i++]!);
    }),
  );
}

async function measure(label: string, handle: Handle): Promise<void> {
  const { db } = handle;
  const escalating = await seedService(db, { name: "escalating", rateLimitPerMinute: 1_000_000 });
  const quiet = await seedService(db, { name: "quiet", rateLimitPerMinute: 1_000_000 });
  await attachPolicy(
    db,
    escalating.serviceId,
    await seedPolicy(db, [
      { delaySeconds: 3600, targets: [{ kind: "user", id: "alice" }] },
      { delaySeconds: 0, targets: [{ kind: "user", id: "bob" }] },
    ]),
  );
  if (paged) {
    await seedDirectoryUsers(db, ["alice", "bob"]);
    for (const userId of ["alice", "bob"]) {
      for (const [type, value] of [
        ["email", `${userId}@example.com`],
        ["sms", "+15550100001"],
      ] as const) {
        const method = { userId, type, name: type, value, verified: true, disabled: false };
        await insertContactMethod(db, method, new Date());
      }
    }
  }
  // As the embedded runtime wires it (local/embedded-context.ts): a step plans its deliveries at once.
  let ctx: ReturnType<typeof createTestAppContext> | undefined;
  const escalations = await createEmbeddedEscalations({
    db,
    clock: { now: () => new Date() },
    notified: (alertIds) => runOwedEffectsOfAlerts(effectDepsOf(ctx!), "notifications.deliver", alertIds),
  });
  ctx = createTestAppContext(handle, {
    escalations: escalations.runner,
    ingestAlertLimitPerMinute: 100_000_000,
  });
  const server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });

  const post = (secret: string) => async (payload: string) => {
    const res = await fetch(`${server.url}/v1/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: payload,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${text}`);
  };
  const raw = async (payload: string) => {
    await sql`
      insert into alerts (service_id, dedup_key, status, severity, summary, details, source, labels, annotations, raw)
      select ${quiet.serviceId}::uuid, x.a->>'fingerprint', 'triggered', 'warning', x.a->'annotations'->>'summary',
        x.a->'annotations'->>'description', 'alertmanager', x.a->'labels', x.a->'annotations', x.a
      from jsonb_array_elements(${payload}::jsonb->'alerts') as x(a)
      on conflict (service_id, dedup_key) where status <> 'resolved'
      do update set last_seen_at = now(), duplicate_count = alerts.duplicate_count + 1
    `.execute(db);
  };
  const stepOneMissing = async () =>
    (
      await sql<{ n: number }>`
        select count(*)::int as n from alerts a
        where a.service_id = ${escalating.serviceId}::uuid
          and not exists (select 1 from notifications n where n.alert_id = a.id and n.step_index = 0)
      `.execute(db)
    ).rows[0]!.n;
  const drain = async () => {
    while ((await stepOneMissing()) > 0) await new Promise((r) => setTimeout(r, 5));
  };
  const turn = async (work: (payload: string) => Promise<void>) => {
    const payloads = Array.from({ length: batchesPerTurn }, () => body(batch(batchSize)));
    const started = performance.now();
    await concurrently(payloads, work);
    return (batchesPerTurn * batchSize) / ((performance.now() - started) / 1000);
  };

  try {
    const rates = {
      escalating: [] as number[],
      withStep1: [] as number[],
      quiet: [] as number[],
      raw: [] as number[],
    };
    for (let r = 0; r <= rounds; r++) {
      const started = performance.now();
      const escalatingRate = await turn(post(escalating.secrets.alertmanager));
      await drain();
      const withStep1 = (batchesPerTurn * batchSize) / ((performance.now() - started) / 1000);
      const quietRate = await turn(post(quiet.secrets.alertmanager));
      const rawRate = await turn(raw);
      if (r === 0) continue; // warm-up: JIT, pools, plans
      rates.escalating.push(escalatingRate);
      rates.withStep1.push(withStep1);
      rates.quiet.push(quietRate);
      rates.raw.push(rawRate);
    }
    const e = median(rates.escalating);
    const s1 = median(rates.withStep1);
    const q = median(rates.quiet);
    const w = median(rates.raw);
    const bigTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const payload = body(batch(1_000));
      const started = performance.now();
      await post(escalating.secrets.alertmanager)(payload);
      bigTimes.push(performance.now() - started);
      await drain();
    }
    console.log(
      `escalation storm bench (${label}; over HTTP, ${rounds} rounds × ${batchesPerTurn} requests × ${batchSize} alerts per side, ${senders} senders${paged ? ", paging two contact methods per user" : ", PAGED=0: users without contact methods"})`,
    );
    console.log(
      `  escalating service:       ${fmt(e)} alerts/s (median; ${fmt(s1)} alerts/s until step 1 is recorded)`,
    );
    console.log(`  non-escalating service:   ${fmt(q)} alerts/s`);
    console.log(`  raw upsert (same rows):   ${fmt(w)} alerts/s`);
    console.log(
      `  ratio escalating/non-escalating: ${fmt(e / q, 2)} (goal ≥ 0.50; until step 1: ${fmt(s1 / q, 2)}); non-escalating/raw ${fmt(q / w, 2)}; escalating/raw ${fmt(e / w, 2)}`,
    );
    console.log(
      `  one 1,000-alert request to the escalating service: ${fmt(median(bigTimes))} ms (median of 3: ${bigTimes.map((t) => fmt(t)).join(", ")}; goal on PGlite ≤ 3,000 ms)`,
    );
  } finally {
    escalations.runner.close();
    await server.close();
  }
}

const only = process.env.ONLY;
if (only !== "pglite") {
  const database = await openBenchDatabase();
  try {
    await measure(database.label, database.handle);
  } finally {
    await database.close();
  }
}
if (only !== "postgres") {
  const dataDir = mkdtempSync(join(tmpdir(), "oncall-bench-pglite-"));
  const handle = await openDatabase({ kind: "pglite", dataDir });
  try {
    await migrateToLatest(handle.db);
    await measure("PGlite in a data folder", handle);
  } finally {
    await handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
