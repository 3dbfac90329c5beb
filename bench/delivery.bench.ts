// Delivery on the embedded runtime (the composition `npm start` uses: PGlite in a data folder, the
// local escalation runner, the delivery worker, the provider registry), against a local receiver.
//
// 1. Latency: an alert ingested (POST /v1/webhooks/generic sent) → the first delivery request for
//    it received by a local webhook receiver, p50/p99 over 200 alerts, one every 50 ms. Each alert goes
//    to its own service whose policy pages its own user (its own webhook URL), so no throttle is in the
//    way: this measures the pipeline (effect → escalation start → step → plan → worker → provider).
//    Baseline in the same run: the ingest request's own round trip.
// 2. Throughput: 2,000 deliveries (SendNotification-style, each its own URL) sent by the sender use
//    case against the receiver, deliveries/s, with the deliveries failed and the duplicates (requests
//    beyond the first for one delivery: a send that timed out and went again); baseline: the same
//    number of bare node:http POSTs of the same body, 16 at once, on the same machine.
//
//   node bench/delivery.bench.ts            (npm run bench runs every benchmark)
//   BENCH_DELIVERIES=6000 node bench/delivery.bench.ts   (a bigger throughput run)
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

// Imported after the variables above: Powertools reads them when its modules load.
const { mkdtempSync, rmSync } = await import("node:fs");
const { default: http } = await import("node:http");
const { tmpdir } = await import("node:os");
const { join } = await import("node:path");
const { sql } = await import("kysely");
const { readEmbeddedConfig } = await import("../functions/adapters/config.ts");
const { insertPlannedDeliveries } = await import("../functions/adapters/db/stores/deliveries.ts");
const { insertContactMethod, insertUser } = await import("../functions/adapters/db/stores/directory.ts");
const { deliveryDepsOf, sendDueDeliveries } = await import("../functions/app/deliveries.ts");
const { destinationKey } = await import("../functions/domain/notifications/plan.ts");
const { createLocalDispatch } = await import("../local/dispatch.ts");
const { createEmbeddedRuntime } = await import("../local/embedded-context.ts");
const { startLocalServer } = await import("../local/server.ts");
const { seedService } = await import("../test/support/seed.ts");
const { attachPolicy, seedPolicy } = await import("../test/support/seed-oncall.ts");
const { fmt } = await import("./support.ts");

const alerts = 200;
const gapMs = 50;
const throughputCount = Number(process.env.BENCH_DELIVERIES ?? 2_000);

// The receiver notes when the first request for each path arrived.
const firstSeen = new Map<string, number>();
let received = 0;
let duplicates = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    received++;
    const path = req.url ?? "/";
    if (!firstSeen.has(path)) firstSeen.set(path, performance.now());
    else duplicates++;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
receiver.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

const dataDir = mkdtempSync(join(tmpdir(), "oncall-delivery-bench-"));
// BENCH_DATABASE_URL: run on that (empty) Postgres database instead of PGlite.
const env = {
  ONCALL_DATA_DIR: dataDir,
  ONCALL_ADMIN_TOKEN: "bench-admin-token-0123456789",
  ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
};
const where = process.env.BENCH_DATABASE_URL ? "Postgres" : "PGlite";
const runtime = await createEmbeddedRuntime(readEmbeddedConfig(env), { env });
const server = await startLocalServer(createLocalDispatch(runtime.ctx), { port: 0 });
const db = runtime.ctx.database.db;

try {
  // Setup: per alert a user with a webhook, a policy paging them at once, a service with a key.
  const keys: string[] = [];
  const now = new Date();
  for (let i = 0; i < alerts; i++) {
    const userId = `bench-user-${i}`;
    await insertUser(
      db,
      {
        id: userId,
        name: userId,
        email: `${userId}@example.com`,
        timeZone: "UTC",
        slackUserId: "",
        teamsUserId: "",
      },
      now,
    );
    await insertContactMethod(
      db,
      {
        userId,
        type: "webhook",
        name: "hook",
        value: `${receiverUrl}/u/${i}`,
        verified: true,
        disabled: false,
      },
      now,
    );
    const service = await seedService(db, { name: `bench-${i}` });
    const policyId = await seedPolicy(db, [{ delaySeconds: 600, targets: [{ kind: "user", id: userId }] }]);
    await attachPolicy(db, service.serviceId, policyId);
    keys.push(service.secrets.generic);
  }

  // 1. Latency.
  const ingestedAt: number[] = [];
  const ingestMs: number[] = [];
  for (let i = 0; i < alerts; i++) {
    const started = performance.now();
    const res = await fetch(`${server.url}/v1/webhooks/generic`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${keys[i]}` },
      body: JSON.stringify({ summary: `bench alert ${i}`, dedup: `bench-${i}` }),
    });
    await res.text();
    if (!res.ok) throw new Error(`ingest answered ${res.status}`);
    // The embedded ingest request runs the effects it owes before answering (escalation start, step,
    // planning), so a page may reach the receiver before the answer: latency counts from the request.
    ingestedAt.push(started);
    ingestMs.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const deadline = Date.now() + 60_000;
  while (firstSeen.size < alerts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (firstSeen.size < alerts)
    throw new Error(`only ${firstSeen.size} of ${alerts} alerts reached the receiver`);
  const latency = ingestedAt
    .map((at, i) => (firstSeen.get(`/u/${i}`) ?? Number.NaN) - at)
    .sort((a, b) => a - b);
  const ingestSorted = [...ingestMs].sort((a, b) => a - b);
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
  console.log(
    `alert ingested → first delivery request (${alerts} alerts, embedded, ${where}): p50 ${fmt(pct(latency, 50), 1)} ms, p99 ${fmt(pct(latency, 99), 1)} ms, max ${fmt(latency.at(-1)!, 1)} ms (goal: p99 ≤ 1000 ms)`,
  );
  console.log(
    `baseline, the ingest request itself: p50 ${fmt(pct(ingestSorted, 50), 1)} ms, p99 ${fmt(pct(ingestSorted, 99), 1)} ms → ratio p50 ${fmt(pct(latency, 50) / pct(ingestSorted, 50), 2)}, p99 ${fmt(pct(latency, 99) / pct(ingestSorted, 99), 2)}`,
  );

  // 2. Throughput of the sender use case (the embedded worker is stopped: the bench drives it).
  await runtime.close();
  const again = await createEmbeddedRuntime(readEmbeddedConfig(env), { env });
  try {
    const deps = deliveryDepsOf(again.ctx);
    const body = { alert: { id: 1, summary: "throughput" } };
    const before = received;
    const duplicatesBefore = duplicates;
    const planned = Array.from({ length: throughputCount }, (_, i) => {
      const destination = { kind: "webhook" as const, url: `${receiverUrl}/t/${i}` };
      return {
        idempotencyKey: `bench-throughput-${i}`,
        alertId: null,
        notificationId: null,
        repeatCycle: null,
        stepIndex: null,
        recipientKind: "external" as const,
        recipientId: "bench",
        contactMethodId: null,
        channelId: null,
        destination,
        destinationKey: destinationKey(destination),
        messageKind: "alert" as const,
        ruleDelayMinutes: 0,
        context: body,
        nextAttemptAt: new Date(0),
        maxAttempts: 3,
        template: { id: "default-alert", version: 1 },
      };
    });
    // Written before the clock starts; the worker of `again` would race the bench, so it claims them
    // too: both are the same use case, and the count is of deliveries sent.
    await insertPlannedDeliveries(again.ctx.database.db, { deliveries: planned, now: new Date(0) });
    // Done when none of them is pending or sending any more. Counted from the table, not from the
    // receiver: a send that timed out may still arrive there, and one that failed for good is no
    // delivery (the receiver's count of requests included both).
    const outcome = async () => {
      const { rows } = await sql<{ status: string; n: number }>`
        select status, count(*)::int as n from deliveries
        where idempotency_key like 'bench-throughput-%' group by status
      `.execute(again.ctx.database.db);
      return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    };
    const started = performance.now();
    for (;;) {
      const r = await sendDueDeliveries(deps, { limit: 200 });
      if (r.claimed > 0) continue;
      const now = await outcome();
      if (!now.pending && !now.sending) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const senderSeconds = (performance.now() - started) / 1000;
    const requests = received - before;
    const repeated = duplicates - duplicatesBefore;
    const counts = await outcome();
    const sent = counts.sent ?? 0;
    const senderRate = sent / senderSeconds;

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const payload = JSON.stringify(body);
    const post = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          `${receiverUrl}/b/${i}`,
          { method: "POST", agent, headers: { "content-type": "application/json" } },
          (res) => {
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    const bareStarted = performance.now();
    for (let i = 0; i < throughputCount; i += 16) {
      await Promise.all(Array.from({ length: Math.min(16, throughputCount - i) }, (_, j) => post(i + j)));
    }
    const bareRate = throughputCount / ((performance.now() - bareStarted) / 1000);
    agent.destroy();
    console.log(
      `sender throughput (${where}): ${fmt(senderRate)} deliveries/s (${throughputCount} deliveries: claim, render, sign-free webhook POST, record; ${sent} sent, ${counts.failed ?? 0} failed, ${requests} requests received of which ${repeated} duplicates, in ${fmt(senderSeconds, 1)} s); baseline bare node:http POSTs 16 at once: ${fmt(bareRate)}/s → ratio ${fmt(senderRate / bareRate, 3)}`,
    );
  } finally {
    await again.close();
  }
} finally {
  await server.close();
  await runtime.close().catch(() => {});
  receiver.closeAllConnections();
  receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
}
