// Reads must not delay ingestion: a webhook's latency alone, then while 4 clients walk the
// heaviest shift listing the limits allow (a schedule of 50 rules, each a 1-hour rotation, over
// 366 days: 439,200 shifts, in pages of the maximum 1,000), in the same process as the API
// Lambda and the embedded server run them. Prints p50/p99 of each and the p99 ratio (goal <= 2).
//
//   node bench/shift-reads.bench.ts            (npm run bench runs every benchmark)
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

const { timestampFromDate } = await import("@bufbuild/protobuf/wkt");
const { createClient } = await import("@connectrpc/connect");
const { createIngestHandler } = await import("../functions/handlers/ingest.ts");
const { ScheduleService, ShiftUnit, Weekday } = await import("../functions/gen/oncall/v1/schedules_pb.ts");
const { createLocalLambdaContext } = await import("../local/lambda-http-bridge.ts");
const { createTestAppContext } = await import("../test/support/app-context.ts");
const { admin, createInMemoryTransport } = await import("../test/support/rpc.ts");
const { seedService } = await import("../test/support/seed.ts");
const { fmt, openBenchDatabase } = await import("./support.ts");

const WEBHOOKS = Number(process.env.WEBHOOKS ?? 200);
const READERS = 4;

const database = await openBenchDatabase();
const ctx = createTestAppContext(database.handle);
const seeded = await seedService(database.handle.db, { rateLimitPerMinute: 1_000_000 });
const ingest = createIngestHandler(ctx);
const schedules = createClient(ScheduleService, createInMemoryTransport(ctx));

const start = new Date("2026-01-01T00:00:00Z");
const end = new Date(start.getTime() + 366 * 24 * 3600 * 1000);
const rotationIds: string[] = [];
for (let i = 0; i < 50; i++) {
  const { rotation } = await schedules.createRotation(
    {
      name: `r${i}`,
      timeZone: "UTC",
      shiftLength: { count: 1, unit: ShiftUnit.HOUR },
      startTime: timestampFromDate(start),
      participants: [`a${i}`, `b${i}`, `c${i}`],
    },
    admin,
  );
  rotationIds.push(rotation!.id);
}
const allWeek = [
  Weekday.MONDAY,
  Weekday.TUESDAY,
  Weekday.WEDNESDAY,
  Weekday.THURSDAY,
  Weekday.FRIDAY,
  Weekday.SATURDAY,
  Weekday.SUNDAY,
];
const { schedule } = await schedules.createSchedule(
  {
    name: "heaviest",
    timeZone: "UTC",
    rules: rotationIds.map((id) => ({
      target: { kind: { case: "rotationId" as const, value: id } },
      weekdays: allWeek,
      start: "00:00",
      end: "00:00",
    })),
  },
  admin,
);

let n = 0;
async function webhook(): Promise<number> {
  const body = JSON.stringify({ summary: `probe ${n}`, dedup_key: `probe-${n++}`, severity: "warning" });
  const t = performance.now();
  const result = await ingest(
    {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/v1/webhooks/generic",
      rawQueryString: "",
      headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.generic}` },
      requestContext: {
        accountId: "bench",
        apiId: "bench",
        domainName: "bench",
        domainPrefix: "bench",
        http: {
          method: "POST",
          path: "/v1/webhooks/generic",
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
  );
  if (result.statusCode !== 200 && result.statusCode !== 202) {
    throw new Error(`webhook answered ${result.statusCode}: ${result.body}`);
  }
  return performance.now() - t;
}

async function sample(count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await webhook());
  return times.sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

await sample(20); // warm-up
const alone = await sample(WEBHOOKS);

let reading = true;
let pages = 0;
let shifts = 0;
const readers = Array.from({ length: READERS }, async () => {
  while (reading) {
    let pageToken = "";
    do {
      const page = await schedules.listShifts(
        {
          scheduleId: schedule!.id,
          startTime: timestampFromDate(start),
          endTime: timestampFromDate(end),
          pageSize: Number(process.env.PAGE_SIZE ?? 1000),
          pageToken,
        },
        admin,
      );
      pages++;
      shifts += page.shifts.length;
      pageToken = page.nextPageToken;
    } while (pageToken && reading);
  }
});
const loaded = await sample(WEBHOOKS);
reading = false;
await Promise.all(readers);

console.log(`database: ${database.label}`);
console.log(
  `webhook alone:           p50 ${fmt(pct(alone, 50), 2)} ms, p99 ${fmt(pct(alone, 99), 2)} ms (${WEBHOOKS} requests)`,
);
console.log(
  `webhook with ${READERS} readers:  p50 ${fmt(pct(loaded, 50), 2)} ms, p99 ${fmt(pct(loaded, 99), 2)} ms (${WEBHOOKS} requests; readers fetched ${pages} pages, ${shifts} shifts meanwhile)`,
);
console.log(`p99 ratio (loaded / alone): ${fmt(pct(loaded, 99) / pct(alone, 99), 2)} (goal <= 2)`);
await database.close();
