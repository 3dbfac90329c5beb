import { ExecutionLimitExceeded, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSfnEscalationRunner } from "../functions/adapters/aws/sfn-escalation-runner.ts";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import type { AppContext } from "../functions/app/context.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import { createHousekeeping } from "../functions/handlers/housekeeping.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// Step Functions throttles StartExecution per account and region. A throttled start must never lose
// an escalation: the request answers 503 (its sender retries), the start effect stays owed with a
// backoff, and housekeeping starts it later. The real AWS runner over a mocked SFN client.
const stateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:Oncall-Escalation";
const sfn = mockClient(SFNClient);
const clock = createFixedClock("2026-11-27T12:00:00Z");
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let ctx: AppContext;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database, {
    clock,
    escalations: createSfnEscalationRunner({
      client: new SFNClient({ region: "eu-west-1" }),
      stateMachineArn,
    }),
  });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  sfn.reset();
  await database.db.deleteFrom("services").execute();
  clock.set("2026-11-27T12:00:00Z");
  seeded = await seedService(database.db);
  await attachPolicy(
    database.db,
    seeded.serviceId,
    // Two steps: an execution is owed even when the first step is recorded with the alerts (issue 10).
    await seedPolicy(database.db, [
      { delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] },
      { delaySeconds: 0, targets: [{ kind: "user", id: "bob" }] },
    ]),
  );
});

/** One Alertmanager-like request of `count` new alerts. */
async function sendBatch(count: number, prefix: string) {
  const res = await fetch(`${server.url}/v1/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.alertmanager}` },
    body: JSON.stringify({
      version: "4",
      status: "firing",
      receiver: "oncall",
      groupKey: prefix,
      alerts: Array.from({ length: count }, (_, i) => ({
        status: "firing",
        labels: { alertname: `${prefix}-${i}` },
        annotations: {},
        fingerprint: `${prefix}-${i}`,
        startsAt: "2026-11-27T11:59:00Z",
      })),
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Alerts without an escalation, or whose start is still owed (its effect pending in the outbox). */
async function unstarted(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from alerts a
    where not exists (select 1 from alert_escalations e where e.alert_id = a.id)
      or exists (select 1 from alert_effects f
        where f.kind = 'escalation.start' and f.status = 'pending' and f.alert_ids @> to_jsonb(a.id))
  `.execute(database.db);
  return rows[0]!.n;
}

const throttled = [
  ["ThrottlingException", () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" })],
  [
    "ExecutionLimitExceeded",
    () => new ExecutionLimitExceeded({ message: "too many executions", $metadata: {} }),
  ],
] as const;

describe.each(throttled)("StartExecution answers %s", (_name, error) => {
  it("the request answers 503, nothing is lost, and housekeeping starts the cohort after a backoff, once", async () => {
    sfn.on(StartExecutionCommand).rejects(error());

    expect(await sendBatch(100, "a")).toBe(503);
    // The alerts and their escalation state are stored; only the start is owed.
    expect(await unstarted()).toBe(100);

    sfn.reset();
    sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Oncall-Escalation:${input.name}`,
      startDate: new Date(),
    }));
    const sweep = createHousekeeping(ctx);
    // Backoff: not before it is due again (5 s after its first failure).
    expect((await sweep(undefined)).effectsRun).toBe(0);
    clock.advance(5_000);
    expect((await sweep(undefined)).effectsRun).toBe(1);
    expect((await sweep(undefined)).effectsRun).toBe(0);

    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!.input!)).toEqual({ executionName: calls[0]!.name });
    expect(await unstarted()).toBe(0);
  });
});

it("a storm of 100 requests of 100 alerts makes 100 StartExecution calls, not 10,000", async () => {
  sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Oncall-Escalation:${input.name}`,
    startDate: new Date(),
  }));

  const statuses: number[] = [];
  for (let wave = 0; wave < 10; wave++) {
    statuses.push(
      ...(await Promise.all(Array.from({ length: 10 }, (_, i) => sendBatch(100, `storm-${wave}-${i}`)))),
    );
  }

  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(100);
  expect(await unstarted()).toBe(0);
}, 120_000);
