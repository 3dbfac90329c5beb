/**
 * The remote user directory under an escalation burst: 50 people, each looked up 40 times (contact
 * methods and user), 100 lookups at a time, against a real Connect server (connect-node on 127.0.0.1)
 * that serves the embedded directory over the bench database. Baseline, measured in the same run: the
 * same lookups through a plain Connect client (one upstream call each). Printed: lookups/s of each,
 * the ratio, and how many calls reached the upstream.
 *
 * Run: `node bench/directory.bench.ts` (Node 24: `PATH=$PWD/node_modules/.bin:$PATH`).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createRemoteDirectoryTransport,
  createRemoteUserDirectory,
} from "../functions/adapters/directory/remote-directory.ts";
import { createRouterOptions } from "../functions/api/routes.ts";
import { createUserDirectoryService } from "../functions/api/services/user-directory-service.ts";
import { createDirectoryUseCases } from "../functions/app/directory.ts";
import { systemClock } from "../functions/domain/clock.ts";
import { UserDirectoryService } from "../functions/gen/kneutral/directory/v1/user_directory_pb.ts";
import {
  createRecordingContactSender,
  createTestAppContext,
  testAdminToken,
} from "../test/support/app-context.ts";
import { fmt, median, openBenchDatabase } from "./support.ts";

const PEOPLE = 50;
const LOOKUPS_PER_PERSON = 40;
const CONCURRENCY = 100;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const db = await openBenchDatabase();
const ctx = createTestAppContext(db.handle);
const directory = createDirectoryUseCases({
  db: () => db.handle.db,
  clock: systemClock,
  sender: createRecordingContactSender(),
});
for (let i = 0; i < PEOPLE; i++) {
  const id = `person-${i}`;
  await directory.createUser({
    id,
    name: `Person ${i}`,
    email: `p${i}@example.com`,
    timeZone: "UTC",
    slackUserId: "",
    teamsUserId: "",
  });
  await directory.createContactMethod({
    userId: id,
    type: "webhook",
    name: "Hook",
    value: `https://hooks.example.com/${i}`,
  });
  await directory.createContactMethod({
    userId: id,
    type: "slack_dm",
    name: "Slack",
    value: `U0${1000 + i}`,
  });
}

let upstreamCalls = 0;
const counting: Interceptor = (next) => (req) => {
  upstreamCalls++;
  return next(req);
};
const options = createRouterOptions(ctx);
const server = createServer(
  connectNodeAdapter({
    ...options,
    interceptors: [counting, ...(options.interceptors ?? [])],
    routes: (router) => router.service(UserDirectoryService, createUserDirectoryService(ctx)),
  }),
);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const transport = () => createRemoteDirectoryTransport(url, async () => testAdminToken);

/** Every person LOOKUPS_PER_PERSON times (contact methods, then the user), CONCURRENCY at a time. */
async function burst(lookup: (userId: string) => Promise<unknown>): Promise<number> {
  const work = Array.from({ length: PEOPLE * LOOKUPS_PER_PERSON }, (_, i) => `person-${i % PEOPLE}`);
  const started = performance.now();
  for (let i = 0; i < work.length; i += CONCURRENCY) {
    await Promise.all(work.slice(i, i + CONCURRENCY).map(lookup));
  }
  return (work.length / (performance.now() - started)) * 1000;
}

const plain = createClient(UserDirectoryService, transport());
const results: { baseline: number; cached: number; baselineCalls: number; cachedCalls: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  upstreamCalls = 0;
  const baseline = await burst(async (userId) => {
    await plain.listContactMethods({ userId });
    await plain.getUsers({ ids: [userId] });
  });
  const baselineCalls = upstreamCalls;
  upstreamCalls = 0;
  const remote = createRemoteUserDirectory({ transport: transport(), clock: systemClock, ttlMs: 60_000 });
  const cached = await burst(async (userId) => {
    await remote.contactMethods(userId);
    await remote.getUsers([userId]);
  });
  results.push({ baseline, cached, baselineCalls, cachedCalls: upstreamCalls });
}

const b = median(results.map((r) => r.baseline));
const c = median(results.map((r) => r.cached));
console.log(
  `directory lookups, ${db.label}: ${PEOPLE} people × ${LOOKUPS_PER_PERSON}, ${CONCURRENCY} at a time, median of ${ROUNDS}`,
);
console.log(
  `plain Connect client (baseline): ${fmt(b)} lookups/s, ${results[0]!.baselineCalls} upstream calls`,
);
console.log(
  `remote directory (cache + single-flight): ${fmt(c)} lookups/s, ${results[0]!.cachedCalls} upstream calls`,
);
console.log(`ratio: ${fmt(c / b, 1)}× the baseline`);

server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
await db.close();
