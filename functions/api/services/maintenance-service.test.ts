import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import { createFixedClock } from "../../domain/clock.ts";
import {
  MaintenanceAction,
  MaintenanceService,
  MaintenanceState,
  type MaintenanceWindowSchema,
} from "../../gen/oncall/v1/maintenance_pb.ts";

type WindowInit = MessageInitShape<typeof MaintenanceWindowSchema>;

// MaintenanceService in memory: the real router, interceptors, use cases and store, on a PGlite clone.
const clock = createFixedClock("2026-07-15T09:00:00Z");
let database: DatabaseHandle;
let client: ReturnType<typeof createClient<typeof MaintenanceService>>;
let serviceId = "";

const ts = (iso: string) => timestampFromDate(new Date(iso));

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  client = createClient(
    MaintenanceService,
    createInMemoryTransport(createTestAppContext(database, { clock })),
  );
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  // Windows first: a service a live window names cannot be deleted (routing_references).
  await sql`delete from maintenance_windows`.execute(database.db);
  await database.db.deleteFrom("services").execute();
  const { rows } = await sql<{ id: string }>`insert into services (name) values ('db') returning id`.execute(
    database.db,
  );
  serviceId = rows[0]!.id;
  clock.set("2026-07-15T09:00:00Z");
});

function oneOff(overrides: Record<string, unknown> = {}): WindowInit {
  return {
    name: "db upgrade",
    reason: "postgres 18",
    owner: "u-alice",
    action: MaintenanceAction.SUPPRESS,
    schedule: {
      kind: {
        case: "oneTime",
        value: { startTime: ts("2026-07-15T10:00:00Z"), endTime: ts("2026-07-15T12:00:00Z") },
      },
    },
    scope: {
      serviceIds: [serviceId],
      labelMatchers: ['env="staging"'],
      cel: "",
    },
    ...overrides,
  } as WindowInit;
}

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error = await failure(call);
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.rawMessage).toMatch(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: `));
}

describe("MaintenanceService", () => {
  it("creates a window whose state follows the clock; cancel ends it; the changes are listed", async () => {
    const { window } = await client.createMaintenanceWindow({ window: oneOff() }, admin);
    expect(window).toMatchObject({
      name: "db upgrade",
      state: MaintenanceState.SCHEDULED,
      nextStartTime: ts("2026-07-15T10:00:00Z"),
      createdBy: "admin",
    });
    clock.set("2026-07-15T10:15:00Z");
    const { window: active } = await client.getMaintenanceWindow({ id: window!.id }, admin);
    expect(active).toMatchObject({
      state: MaintenanceState.ACTIVE,
      currentEndTime: ts("2026-07-15T12:00:00Z"),
    });

    const { window: extended } = await client.extendMaintenanceWindow(
      { id: window!.id, endTime: ts("2026-07-15T14:00:00Z") },
      admin,
    );
    expect(extended?.currentEndTime).toEqual(ts("2026-07-15T14:00:00Z"));

    const { window: cancelled } = await client.cancelMaintenanceWindow({ id: window!.id }, admin);
    expect(cancelled).toMatchObject({
      state: MaintenanceState.ENDED,
      cancelTime: ts("2026-07-15T10:15:00Z"),
    });
    expect((await failure(client.cancelMaintenanceWindow({ id: window!.id }, admin))).code).toBe(
      Code.FailedPrecondition,
    );

    const { changes } = await client.listMaintenanceWindowChanges({ windowId: window!.id }, admin);
    expect(changes.map((c) => c.change)).toEqual(["cancelled", "extended", "created"]);
    expect(changes[1]?.before).toMatchObject({ schedule: { endAt: "2026-07-15T12:00:00.000Z" } });
    expect(changes[1]?.after).toMatchObject({ schedule: { endAt: "2026-07-15T14:00:00.000Z" } });

    expect((await client.listMaintenanceWindows({}, admin)).windows).toEqual([]);
    expect(
      (await client.listMaintenanceWindows({ includeEnded: true }, admin)).windows.map((w) => w.id),
    ).toEqual([window!.id]);
  });

  it("updates the fields in the mask only", async () => {
    const { window } = await client.createMaintenanceWindow({ window: oneOff() }, admin);
    const { window: updated } = await client.updateMaintenanceWindow(
      {
        window: { id: window!.id, name: "ignored", action: MaintenanceAction.ANNOTATE },
        updateMask: { paths: ["action"] },
      },
      admin,
    );
    expect(updated).toMatchObject({ name: "db upgrade", action: MaintenanceAction.ANNOTATE });
  });

  it("creates a weekly window", async () => {
    const { window } = await client.createMaintenanceWindow(
      {
        window: oneOff({
          schedule: {
            kind: {
              case: "weekly",
              value: { timeZone: "Europe/Berlin", weekdays: [6], startTime: "22:00", durationMinutes: 480 },
            },
          },
        }),
      },
      admin,
    );
    // Saturday 2026-07-18 22:00 CEST = 20:00Z
    expect(window).toMatchObject({
      state: MaintenanceState.SCHEDULED,
      nextStartTime: ts("2026-07-18T20:00:00Z"),
    });
    expect(window?.schedule?.kind).toMatchObject({
      case: "weekly",
      value: { fromTime: ts("2026-07-15T09:00:00Z") },
    });
  });

  it("extends a weekly window's running occurrence (FAILED_PRECONDITION while none runs)", async () => {
    const { window } = await client.createMaintenanceWindow(
      {
        window: oneOff({
          schedule: {
            kind: {
              case: "weekly",
              value: { timeZone: "Europe/Berlin", weekdays: [6], startTime: "22:00", durationMinutes: 480 },
            },
          },
        }),
      },
      admin,
    );
    const idle = await failure(
      client.extendMaintenanceWindow({ id: window!.id, endTime: ts("2026-07-19T08:00:00Z") }, admin),
    );
    expect(idle.code).toBe(Code.FailedPrecondition);
    expect(idle.rawMessage).toContain(
      "no occurrence is active now (the next starts 2026-07-18T20:00:00.000Z)",
    );
    // Sunday 05:00 CEST = 03:00Z: the occurrence (Sat 20:00Z + 8 h) runs until 04:00Z; extended to 08:00Z.
    clock.set("2026-07-19T03:00:00Z");
    const { window: extended } = await client.extendMaintenanceWindow(
      { id: window!.id, endTime: ts("2026-07-19T08:00:00Z") },
      admin,
    );
    expect(extended).toMatchObject({
      state: MaintenanceState.ACTIVE,
      currentStartTime: ts("2026-07-18T20:00:00Z"),
      currentEndTime: ts("2026-07-19T08:00:00Z"),
    });
    const early = await failure(
      client.extendMaintenanceWindow({ id: window!.id, endTime: ts("2026-07-19T07:00:00Z") }, admin),
    );
    expect(early.code).toBe(Code.InvalidArgument);
    expect(early.rawMessage).toMatch(/^end_time: must be after the current occurrence's end/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no name", { name: "" }, "window.name"],
    ["no action", { action: MaintenanceAction.UNSPECIFIED }, "window.action"],
    ["no schedule", { schedule: undefined }, "window.schedule"],
    [
      "end before start",
      {
        schedule: {
          kind: {
            case: "oneTime",
            value: { startTime: ts("2026-07-15T12:00:00Z"), endTime: ts("2026-07-15T10:00:00Z") },
          },
        },
      },
      "window.schedule.one_time.end_time",
    ],
    [
      "bad weekly zone",
      {
        schedule: {
          kind: {
            case: "weekly",
            value: { timeZone: "Nowhere", weekdays: [1], startTime: "09:00", durationMinutes: 60 },
          },
        },
      },
      "window.schedule.weekly.time_zone",
    ],
    [
      "service not a uuid",
      { scope: { serviceIds: ["x"], labelMatchers: [], cel: "" } as never },
      "window.scope.service_ids[0]",
    ],
    [
      "unknown service",
      {
        scope: { serviceIds: ["00000000-0000-4000-8000-000000000000"], labelMatchers: [], cel: "" } as never,
      },
      "window.scope.service_ids[0]",
    ],
    [
      "bad matcher",
      { scope: { serviceIds: [], labelMatchers: ["env=staging"], cel: "" } as never },
      "window.scope.label_matchers[0]",
    ],
    [
      "bad CEL",
      { scope: { serviceIds: [], labelMatchers: [], cel: "alert.severity ==" } as never },
      "window.scope.cel",
    ],
    ["empty scope", { scope: { serviceIds: [], labelMatchers: [], cel: "" } as never }, "window.scope"],
  ])("rejects %s naming %s", async (_name, overrides, field) => {
    await expectInvalid(client.createMaintenanceWindow({ window: oneOff(overrides) }, admin), field);
    expect((await client.listMaintenanceWindows({ includeEnded: true }, admin)).windows).toEqual([]);
  });

  it("CheckAlertMaintenance answers for a sample alert at a chosen time", async () => {
    const { window } = await client.createMaintenanceWindow({ window: oneOff() }, admin);
    const sample = { serviceId, summary: "disk", severity: "critical", labels: { env: "staging" } };
    const during = await client.checkAlertMaintenance(
      { alert: { case: "sample", value: sample }, checkTime: ts("2026-07-15T11:00:00Z") },
      admin,
    );
    expect(during).toMatchObject({
      action: MaintenanceAction.SUPPRESS,
      window: { id: window!.id, state: MaintenanceState.ACTIVE },
    });
    const before = await client.checkAlertMaintenance({ alert: { case: "sample", value: sample } }, admin);
    expect(before.action).toBe(MaintenanceAction.UNSPECIFIED);
    expect(before.window).toBeUndefined();
    const prod = await client.checkAlertMaintenance(
      {
        alert: { case: "sample", value: { ...sample, labels: { env: "prod" } } },
        checkTime: ts("2026-07-15T11:00:00Z"),
      },
      admin,
    );
    expect(prod.action).toBe(MaintenanceAction.UNSPECIFIED);
    expect(
      (await failure(client.checkAlertMaintenance({ alert: { case: "alertId", value: 424242n } }, admin)))
        .code,
    ).toBe(Code.NotFound);
    await expectInvalid(client.checkAlertMaintenance({}, admin), "alert");
  });
});
