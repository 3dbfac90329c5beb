import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import type { AppContext } from "../functions/app/context.ts";
import {
  cancelMaintenanceWindow,
  checkAlertMaintenance,
  createMaintenanceCheck,
  createMaintenanceWindow,
  extendMaintenanceWindow,
  updateMaintenanceWindow,
} from "../functions/app/maintenance.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import { PreconditionError } from "../functions/domain/errors.ts";
import type { MaintenanceWindowSpec } from "../functions/domain/maintenance/windows.ts";
import { createHousekeeping } from "../functions/handlers/housekeeping.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import {
  createRecordingEscalationRunner,
  createTestAppContext,
  startedAlertIds,
} from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// Maintenance windows end to end on the embedded runtime's pieces: real webhooks through the local
// server, routing (the route effect) asking the cached maintenance check, housekeeping releasing the
// alerts a window suppressed when it ends. The clock is moved; the escalation runner records starts.
const runner = createRecordingEscalationRunner();
const clock = createFixedClock("2026-07-15T10:30:00Z");
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let ctx: AppContext;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database, {
    clock,
    escalations: runner,
    // TTL 0: every alert re-reads the version stamp, so a window made by the test is seen at once.
    maintenance: createMaintenanceCheck({ db: () => database.db, clock, ttlMs: 0 }),
  });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

beforeEach(async () => {
  // Windows first: a service a live window names cannot be deleted (routing_references).
  await sql`delete from maintenance_windows`.execute(database.db);
  await database.db.deleteFrom("services").execute();
  runner.calls.length = 0;
  clock.set("2026-07-15T09:00:00Z");
  seeded = await seedService(database.db);
  // Two steps: a policy that its first step ends owes no execution once ingest records that step
  // with the alert (issue 10), and these tests count executions.
  await attachPolicy(
    database.db,
    seeded.serviceId,
    await seedPolicy(database.db, [
      { delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] },
      { delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] },
    ]),
  );
});

function windowSpec(overrides: Partial<MaintenanceWindowSpec> = {}): MaintenanceWindowSpec {
  return {
    name: "staging rebuild",
    reason: "cluster rebuild",
    owner: "u-alice",
    action: "suppress",
    schedule: {
      kind: "once",
      startAt: new Date("2026-07-15T10:00:00Z"),
      endAt: new Date("2026-07-15T12:00:00Z"),
    },
    scope: { serviceIds: [seeded.serviceId], labelMatchers: ['env="staging"'], cel: "" },
    ...overrides,
  };
}

async function send(body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${server.url}/v1/webhooks/generic`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", authorization: `Bearer ${seeded.secrets.generic}` },
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { alerts: { id: number }[] };
  return json.alerts[0]!.id;
}

async function alertState(id: number) {
  const { rows } = await sql<{ status: string; routing_state: string | null; events: string[] }>`
    select a.status, a.routing_state,
      (select json_agg(e.type order by e.id) from alert_events e where e.alert_id = a.id) as events
    from alerts a where a.id = ${id}
  `.execute(database.db);
  return rows[0]!;
}

const starts = () => startedAlertIds(database.db, runner);

describe("maintenance windows at ingest and when they end", () => {
  it("suppresses matching alerts while active; when the window ends they escalate, once", async () => {
    await createMaintenanceWindow(ctx, windowSpec(), "admin");
    clock.set("2026-07-15T10:30:00Z");
    const staging = await send({ summary: "disk full", dedup: "disk-staging", labels: { env: "staging" } });
    const prod = await send({ summary: "disk full", dedup: "disk-prod", labels: { env: "prod" } });

    expect(await alertState(staging)).toMatchObject({ status: "triggered", routing_state: "suppressed" });
    expect((await alertState(staging)).events).toContain("suppressed");
    expect(await starts()).toEqual([prod]);
    expect((await checkAlertMaintenance(ctx, { alertId: staging })).verdict).toMatchObject({
      action: "suppress",
      windowName: "staging rebuild",
    });
    expect((await checkAlertMaintenance(ctx, { alertId: prod })).verdict).toEqual({ action: "none" });

    const housekeeping = createHousekeeping(ctx);
    clock.set("2026-07-15T11:59:59Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);
    expect(await starts()).toEqual([prod]);

    clock.set("2026-07-15T12:00:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([prod, staging]);
    const released = await alertState(staging);
    expect(released.routing_state).toBeNull();
    expect(released.events.slice(-2)).toEqual(["maintenance_ended", "escalation_started"]);

    clock.advance(60_000);
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);
    expect(await starts()).toEqual([prod, staging]);
  });

  it("a cancelled window releases its alerts at the next sweep; resolved ones stay resolved", async () => {
    const { window } = await createMaintenanceWindow(ctx, windowSpec(), "admin");
    clock.set("2026-07-15T10:30:00Z");
    const open = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    const resolved = await send({ summary: "b", dedup: "b", labels: { env: "staging" } });
    await send({ dedup: "b", action: "resolve" });
    expect(await starts()).toEqual([]);

    clock.set("2026-07-15T10:45:00Z");
    await cancelMaintenanceWindow(ctx, window.id, "admin");
    expect((await createHousekeeping(ctx)(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([open]);
    expect(await alertState(resolved)).toMatchObject({ status: "resolved", routing_state: "suppressed" });
  });

  it("an alert still covered by another suppressing window stays suppressed, now by that one", async () => {
    await createMaintenanceWindow(ctx, windowSpec(), "admin");
    await createMaintenanceWindow(
      ctx,
      windowSpec({
        name: "longer",
        schedule: {
          kind: "once",
          startAt: new Date("2026-07-15T11:00:00Z"),
          endAt: new Date("2026-07-15T14:00:00Z"),
        },
      }),
      "admin",
    );
    clock.set("2026-07-15T10:30:00Z");
    const id = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    const housekeeping = createHousekeeping(ctx);

    clock.set("2026-07-15T12:00:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([]);
    expect(await alertState(id)).toMatchObject({ routing_state: "suppressed" });

    clock.set("2026-07-15T14:00:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([id]);
  });

  it("a window changed so it no longer covers an alert releases it; one still covered stays", async () => {
    const { window } = await createMaintenanceWindow(
      ctx,
      windowSpec({
        scope: { serviceIds: [seeded.serviceId], labelMatchers: ['env=~"staging|dev"'], cel: "" },
      }),
      "admin",
    );
    clock.set("2026-07-15T10:30:00Z");
    const staging = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    const dev = await send({ summary: "b", dedup: "b", labels: { env: "dev" } });
    expect(await starts()).toEqual([]);
    const housekeeping = createHousekeeping(ctx);
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);

    clock.set("2026-07-15T10:40:00Z");
    await updateMaintenanceWindow(
      ctx,
      window.id,
      { scope: { serviceIds: [seeded.serviceId], labelMatchers: ['env="staging"'], cel: "" } },
      "admin",
    );
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([dev]);
    expect(await alertState(staging)).toMatchObject({ routing_state: "suppressed" });
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);

    // Annotate from now on: suppressing no longer, so the staging alert escalates too.
    clock.set("2026-07-15T10:50:00Z");
    await updateMaintenanceWindow(ctx, window.id, { action: "annotate" }, "admin");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([dev, staging]);
    expect(await alertState(staging)).toMatchObject({ routing_state: "in_maintenance" });
  });

  it("annotate: alerts escalate, marked in maintenance", async () => {
    await createMaintenanceWindow(ctx, windowSpec({ action: "annotate" }), "admin");
    clock.set("2026-07-15T10:30:00Z");
    const id = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    expect(await starts()).toEqual([id]);
    expect(await alertState(id)).toMatchObject({ routing_state: "in_maintenance" });
    clock.set("2026-07-15T12:00:00Z");
    expect((await createHousekeeping(ctx)(undefined)).alertsReleasedFromMaintenance).toBe(0);
    expect(await starts()).toEqual([id]);
  });

  it("a weekly window: suppressed during the occurrence, released after it", async () => {
    // Wednesdays 12:00–13:00 in Berlin (10:00–11:00Z in summer).
    await createMaintenanceWindow(
      ctx,
      windowSpec({
        schedule: {
          kind: "weekly",
          zone: "Europe/Berlin",
          weekdays: [3],
          startTime: "12:00",
          durationMinutes: 60,
          from: new Date("2026-07-01T00:00:00Z"),
          until: null,
        },
      }),
      "admin",
    );
    clock.set("2026-07-15T10:30:00Z");
    const id = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    expect(await starts()).toEqual([]);
    const housekeeping = createHousekeeping(ctx);
    clock.set("2026-07-15T10:59:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);
    clock.set("2026-07-15T11:00:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(1);
    expect(await starts()).toEqual([id]);
  });

  it("extending a weekly window lengthens the current occurrence: ingest's cache and the check see it, its alerts escalate when it ends", async () => {
    // Wednesdays 12:00–13:00 in Berlin (CEST: 10:00–11:00Z).
    const weeklySchedule = {
      kind: "weekly" as const,
      zone: "Europe/Berlin",
      weekdays: [3],
      startTime: "12:00",
      durationMinutes: 60,
      from: new Date("2026-07-01T00:00:00Z"),
      until: null,
    };
    const { window } = await createMaintenanceWindow(ctx, windowSpec({ schedule: weeklySchedule }), "admin");
    // No occurrence running: nothing to extend.
    clock.set("2026-07-15T09:30:00Z");
    const early = await extendMaintenanceWindow(
      ctx,
      window.id,
      new Date("2026-07-15T12:00:00Z"),
      "ops",
    ).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(PreconditionError);
    expect((early as Error).message).toContain(
      "no occurrence is active now (the next starts 2026-07-15T10:00:00.000Z)",
    );

    // A process's cached copy with the default TTL, loaded before the extension.
    const cached = createMaintenanceCheck({ db: () => database.db, clock, ttlMs: 5_000 });
    const sample = {
      serviceId: seeded.serviceId,
      summary: "s",
      details: "",
      severity: "critical",
      source: "generic",
      dedupKey: "k",
      labels: { env: "staging" },
      annotations: {},
      createdAt: new Date("2026-07-15T11:10:00Z"),
    };
    clock.set("2026-07-15T10:30:00Z");
    const first = await send({ summary: "a", dedup: "a", labels: { env: "staging" } });
    expect(await cached.verdictFor(sample, new Date("2026-07-15T11:10:00Z"))).toEqual({ action: "none" });

    const extended = await extendMaintenanceWindow(ctx, window.id, new Date("2026-07-15T11:30:00Z"), "ops");
    expect(extended.timing).toEqual({
      state: "active",
      currentStart: new Date("2026-07-15T10:00:00Z"),
      currentEnd: new Date("2026-07-15T11:30:00Z"),
    });
    // Within the TTL the copy answers as before; past it the version stamp moved and it reloads.
    clock.set("2026-07-15T10:30:04Z");
    expect((await cached.verdictFor(sample, new Date("2026-07-15T11:10:00Z"))).action).toBe("none");
    clock.set("2026-07-15T10:30:05Z");
    expect((await cached.verdictFor(sample, new Date("2026-07-15T11:10:00Z"))).action).toBe("suppress");

    // Past the series' own end (11:00Z) the occurrence still holds: suppressed at ingest, and the check says so.
    clock.set("2026-07-15T11:10:00Z");
    const second = await send({ summary: "b", dedup: "b", labels: { env: "staging" } });
    expect(await starts()).toEqual([]);
    const check = await checkAlertMaintenance(ctx, { alertId: second });
    expect(check.verdict).toMatchObject({ action: "suppress", windowId: window.id });
    expect(check.window?.timing.currentEnd).toEqual(new Date("2026-07-15T11:30:00Z"));

    const housekeeping = createHousekeeping(ctx);
    clock.set("2026-07-15T11:29:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(0);
    clock.set("2026-07-15T11:30:00Z");
    expect((await housekeeping(undefined)).alertsReleasedFromMaintenance).toBe(2);
    expect((await starts()).sort()).toEqual([first, second].sort());

    // The next Wednesday's occurrence keeps its hour.
    clock.set("2026-07-22T10:30:00Z");
    const next = await checkAlertMaintenance(ctx, { alert: sample });
    expect(next.window?.timing.currentEnd).toEqual(new Date("2026-07-22T11:00:00Z"));
  });
});
