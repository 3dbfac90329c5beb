import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { loadEscalation } from "../functions/adapters/db/stores/escalations.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createRecordingEscalationRunner, createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// Webhooks and escalations: a trigger starts one, an acknowledge or resolve from the sender stops it,
// and a start that fails answers 503 so that the sender's retry starts it. The runner records calls.
const runner = createRecordingEscalationRunner();
let failStarts = 0;
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database, {
    escalations: {
      start: (alertId, name) =>
        failStarts-- > 0 ? Promise.reject(new Error("throttled")) : runner.start(alertId, name),
      stop: (name) => runner.stop(name),
    },
  });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  runner.calls.length = 0;
  failStarts = 0;
  seeded = await seedService(database.db);
  await attachPolicy(
    database.db,
    seeded.serviceId,
    await seedPolicy(database.db, [{ delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] }]),
  );
});

async function send(body: unknown) {
  const res = await fetch(`${server.url}/v1/webhooks/generic`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.generic}` },
  });
  return { status: res.status, body: (await res.json()) as { alerts?: { id: number; outcome: string }[] } };
}

describe("webhooks and escalations", () => {
  it("starts an escalation for a new alert and stops it when the sender resolves", async () => {
    const created = await send({ summary: "disk full", dedup: "disk" });
    const id = created.body.alerts![0]!.id;
    await send({ summary: "disk full", dedup: "disk" });
    await send({ dedup: "disk", action: "resolve" });

    expect(runner.calls).toEqual([
      { op: "start", alertId: id, executionName: `alert-${id}` },
      { op: "stop", executionName: `alert-${id}` },
    ]);
    expect((await loadEscalation(database.db, id))?.escalation.status).toBe("stopped");
  });

  it("stops it when the sender acknowledges", async () => {
    const id = (await send({ summary: "disk full", dedup: "disk" })).body.alerts![0]!.id;
    await send({ dedup: "disk", action: "acknowledge" });

    expect(runner.calls.at(-1)).toEqual({ op: "stop", executionName: `alert-${id}` });
  });

  it("answers 503 when the workflow cannot start; the retry starts it", async () => {
    failStarts = 1;

    const first = await send({ summary: "disk full", dedup: "disk" });
    const retry = await send({ summary: "disk full", dedup: "disk" });
    const id = retry.body.alerts![0]!.id;

    expect(first.status).toBe(503);
    expect(retry.status).toBe(200);
    expect(retry.body.alerts![0]!.outcome).toBe("deduplicated");
    expect(runner.calls).toEqual([{ op: "start", alertId: id, executionName: `alert-${id}` }]);
  });
});
