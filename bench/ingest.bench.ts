// Ingest throughput: Alertmanager batches of 100 alerts through the real ingest handler into
// Postgres, against the raw ceiling measured in the same run: the same rows upserted by one
// plain SQL statement per batch (no parsing, no auth, no event log). Within each round the two
// take turns, 5 batches per sender at a time, so that machine noise hits both alike (turns of a
// single batch flatter the handler: the raw side then pays for the handler's garbage collection
// and WAL flushes); each side's rate is its alerts over its own summed time, pauses included.
// The median over the rounds is printed; the ratio is what to compare across runs. With Postgres on
// this machine it also prints the CPU time per batch of each side (this process plus the server's
// backends, from /proc): on a busy shared machine wall time swings with the neighbours, CPU time
// much less, so its ratio tells whether a change made a side cheaper.
//
//   node bench/ingest.bench.ts            (npm run bench runs every benchmark)
//   RULES=100 node bench/ingest.bench.ts  (with 100 routing rules active: every alert is routed)
//   ROUNDS=3 BATCHES=20 node bench/ingest.bench.ts  (a shorter run)
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

const { readFileSync } = await import("node:fs");
const { sql } = await import("kysely");
const { createIngestHandler } = await import("../functions/handlers/ingest.ts");
const { createLocalLambdaContext } = await import("../local/lambda-http-bridge.ts");
const { createTestAppContext } = await import("../test/support/app-context.ts");
const { seedService } = await import("../test/support/seed.ts");
const { fmt, median, openBenchDatabase } = await import("./support.ts");

const batchSize = 100;
const batchesPerRound = Number(process.env.BATCHES ?? 40);
const rounds = Number(process.env.ROUNDS ?? 7);
/** Senders posting at once (`SENDERS=4 node bench/ingest.bench.ts`); 1 = one request after another. */
const senders = Number(process.env.SENDERS ?? 1);

/** Routing rules in scope of the service (`RULES=100`); 0 = none (routing as before rules existed). */
const ruleCount = Number(process.env.RULES ?? 0);

/** Batches per turn: each side runs this many before the other takes over. */
const turn = 5 * senders;

/** Runs `work` over `items` with `senders` workers, each taking the next item when done. */
async function concurrently<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const database = await openBenchDatabase();
const { db } = database.handle;
const seeded = await seedService(db, { rateLimitPerMinute: 1_000_000 });
if (ruleCount > 0) await seedRules(ruleCount);
// No alert budget in the way: the benchmark measures throughput, not the limit.
const handler = createIngestHandler(
  createTestAppContext(database.handle, { ingestAlertLimitPerMinute: 100_000_000 }),
);

/**
 * `count` rules of the shapes users write: team matchers routing elsewhere, CEL suppressions, and
 * one rule that matches every bench alert and adds a label. The bench service has no default
 * policy, so each alert is recorded unrouted (a decision in its log, a state on the alert): the
 * routing write is paid in full, escalation starts are not measured here.
 */
async function seedRules(count: number): Promise<void> {
  const { createRoutingRule, routingDepsOf } = await import("../functions/app/routing.ts");
  const { seedPolicy } = await import("../test/support/seed-oncall.ts");
  const deps = routingDepsOf(createTestAppContext(database.handle));
  const policyId = await seedPolicy(db, [{ delaySeconds: 0, targets: [{ kind: "user", id: "bench" }] }]);
  for (let i = 0; i < count - 1; i++) {
    const draft =
      i % 2 === 0
        ? {
            condition: {
              matchers: [
                {
                  field: { kind: "label" as const, name: "team" },
                  operator: "equals" as const,
                  value: `team-${i}`,
                },
              ],
            },
            actions: [{ kind: "route" as const, policyId }],
          }
        : {
            condition: {
              matchers: [],
              cel: `alert.severity == "critical" && alert.label("instance", "").startsWith("db-${i}-")`,
            },
            actions: [{ kind: "suppress" as const, reason: `rule ${i}` }],
          };
    await createRoutingRule(deps, {
      draft: { name: `rule ${i}`, description: "", enabled: true, terminal: false, ...draft },
      actor: "bench",
    });
  }
  await createRoutingRule(deps, {
    draft: {
      name: "node alerts",
      description: "",
      enabled: true,
      terminal: false,
      condition: { matchers: [], cel: 'has(alert.labels.job) && alert.labels.job == "node"' },
      actions: [{ kind: "set_labels", labels: { routed: "yes" } }],
    },
    actor: "bench",
  });
}

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
function batchBody(alerts: ReturnType<typeof alertEntry>[]): string {
  return JSON.stringify({
    version: "4",
    groupKey: '{}:{alertname="HighLoad"}',
    truncatedAlerts: 0,
    status: "firing",
    receiver: "oncall",
    groupLabels: { alertname: "HighLoad" },
    commonLabels: { alertname: "HighLoad" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.local",
    alerts,
  });
}

function postToHandler(body: string): Promise<void> {
  return handler(
    {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/v1/webhooks/alertmanager",
      rawQueryString: "",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${seeded.secrets.alertmanager}`,
      },
      requestContext: {
        accountId: "bench",
        apiId: "bench",
        domainName: "bench",
        domainPrefix: "bench",
        http: {
          method: "POST",
          path: "/v1/webhooks/alertmanager",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "bench",
        },
        requestId: "bench",
        routeKey: "$default",
        stage: "$default",
        time: "",
        timeEpoch: 0,
      },
      body,
      isBase64Encoded: false,
    },
    createLocalLambdaContext("bench"),
  ).then((result) => {
    if (result.statusCode !== 200) throw new Error(`handler answered ${result.statusCode}: ${result.body}`);
  });
}

async function upsertRaw(batch: string): Promise<void> {
  await sql`
    insert into alerts (service_id, dedup_key, status, severity, summary, details, source, labels, annotations, raw)
    select ${seeded.serviceId}::uuid, dedup_key, 'triggered', severity, summary, details, 'alertmanager',
      labels, annotations, raw
    from jsonb_to_recordset(${batch}::jsonb)
      as x(dedup_key text, summary text, details text, severity text, labels jsonb, annotations jsonb, raw jsonb)
    on conflict (service_id, dedup_key) where status <> 'resolved'
    do update set last_seen_at = now(), duplicate_count = alerts.duplicate_count + 1
  `.execute(db);
}

function rawBatch(): string {
  return JSON.stringify(
    Array.from({ length: batchSize }, alertEntry).map((a) => ({
      dedup_key: a.fingerprint,
      summary: a.annotations.summary,
      details: a.annotations.description,
      severity: "warning",
      labels: a.labels,
      annotations: a.annotations,
      raw: a,
    })),
  );
}

/**
 * CPU time spent so far, in ms: this process and the Postgres backends serving the bench database
 * (their on-CPU nanoseconds from /proc/<pid>/schedstat; only when the server runs on this machine;
 * a connection the pool opened in between counts from its start). Unlike wall time it hardly moves
 * with other work on a shared machine: what each side costs.
 */
const onThisMachine = /^Postgres at (127\.|localhost)/.test(database.label);
async function cpuReading(): Promise<Map<number, number> | undefined> {
  if (!onThisMachine) return undefined;
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database()`.execute(db);
  const { user, system } = process.cpuUsage();
  const reading = new Map([[0, (user + system) / 1000]]);
  for (const { pid } of rows) {
    try {
      reading.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6);
    } catch {
      return undefined;
    }
  }
  return reading;
}
function cpuBetween(from: Map<number, number> | undefined, to: Map<number, number> | undefined) {
  if (!from || !to) return undefined;
  let ms = 0;
  for (const [pid, at] of to) ms += at - (from.get(pid) ?? 0);
  return { ms, process: to.get(0)! - from.get(0)! };
}

/** One round: handler and raw ceiling take turns of `turn` batches; alerts/s of each, and CPU ms per batch. */
async function round(): Promise<{
  handler: number;
  raw: number;
  handlerCpu?: number;
  rawCpu?: number;
  handlerProcessCpu?: number;
}> {
  // Request bodies and raw batches are built before timing: neither side pays for making them.
  const bodies = Array.from({ length: batchesPerRound }, () =>
    batchBody(Array.from({ length: batchSize }, alertEntry)),
  );
  const rawBatches = Array.from({ length: batchesPerRound }, rawBatch);
  let handlerMs = 0;
  let rawMs = 0;
  let handlerCpu: number | undefined = 0;
  let rawCpu: number | undefined = 0;
  let handlerProcessCpu = 0;
  const add = (sum: number | undefined, cpu: { ms: number; process: number } | undefined, own = false) => {
    if (own && cpu) handlerProcessCpu += cpu.process;
    return sum === undefined || cpu === undefined ? undefined : sum + cpu.ms;
  };
  for (let i = 0; i < batchesPerRound; i += turn) {
    const cpuBefore = await cpuReading();
    let started = performance.now();
    await concurrently(bodies.slice(i, i + turn), postToHandler);
    handlerMs += performance.now() - started;
    const cpuBetweenTurns = await cpuReading();
    started = performance.now();
    await concurrently(rawBatches.slice(i, i + turn), upsertRaw);
    rawMs += performance.now() - started;
    handlerCpu = add(handlerCpu, cpuBetween(cpuBefore, cpuBetweenTurns), true);
    rawCpu = add(rawCpu, cpuBetween(cpuBetweenTurns, await cpuReading()));
  }
  const alerts = batchesPerRound * batchSize;
  return {
    handler: alerts / (handlerMs / 1000),
    raw: alerts / (rawMs / 1000),
    ...(handlerCpu !== undefined && rawCpu !== undefined
      ? {
          handlerCpu: handlerCpu / batchesPerRound,
          rawCpu: rawCpu / batchesPerRound,
          handlerProcessCpu: handlerProcessCpu / batchesPerRound,
        }
      : {}),
  };
}

try {
  await round(); // warm-up: JIT, connection pool, plans
  const viaHandler: number[] = [];
  const raw: number[] = [];
  const handlerCpu: number[] = [];
  const rawCpu: number[] = [];
  const handlerProcessCpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const rates = await round();
    viaHandler.push(rates.handler);
    raw.push(rates.raw);
    if (rates.handlerCpu !== undefined && rates.rawCpu !== undefined) {
      handlerCpu.push(rates.handlerCpu);
      rawCpu.push(rates.rawCpu);
      handlerProcessCpu.push(rates.handlerProcessCpu ?? 0);
    }
  }
  const handlerRate = median(viaHandler);
  const rawRate = median(raw);
  console.log(
    `ingest (${database.label}; ${ruleCount} routing rules; ${rounds} rounds × ${batchesPerRound} batches × ${batchSize} alerts, ${senders === 1 ? "one sender, sequential" : `${senders} concurrent senders, one key`})`,
  );
  console.log(`  through the ingest handler: ${fmt(handlerRate)} alerts/s (median)`);
  console.log(`  raw ceiling (one upsert per batch): ${fmt(rawRate)} alerts/s (median)`);
  const roundRatios = viaHandler.map((rate, i) => rate / raw[i]!).sort((a, b) => a - b);
  console.log(
    `  ratio handler/raw: ${fmt(handlerRate / rawRate, 2)}  (rounds ${fmt(roundRatios[0]!, 2)}–${fmt(roundRatios.at(-1)!, 2)}; target ≥ 0.50; absolute target ≥ 5,000 alerts/s)`,
  );
  if (handlerCpu.length === rounds) {
    // CPU per batch (this process + the Postgres backends): what each side costs, whatever else runs.
    const h = median(handlerCpu);
    const r = median(rawCpu);
    console.log(
      `  CPU per batch (bench process + Postgres backends, median): handler ${fmt(h, 2)} ms (of which this process ${fmt(median(handlerProcessCpu), 2)}), raw ${fmt(r, 2)} ms; ratio raw/handler ${fmt(r / h, 2)}`,
    );
  }
} finally {
  await database.close();
}
