import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createMaintenanceCheck } from "../functions/app/maintenance.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import { AlertService } from "../functions/gen/oncall/v1/alerts_pb.ts";
import { MaintenanceAction, MaintenanceService } from "../functions/gen/oncall/v1/maintenance_pb.ts";
import { createHousekeeping } from "../functions/handlers/housekeeping.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { alertmanagerAvailable, useAlertmanager, waitFor } from "./support/alertmanager.ts";
import {
  createRecordingEscalationRunner,
  createTestAppContext,
  startedAlertIds,
} from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { admin, createInMemoryTransport } from "./support/rpc.ts";
import { type SeededService, seedService } from "./support/seed.ts";
import { attachPolicy, seedPolicy } from "./support/seed-oncall.ts";

// Issue 13's maintenance scenario with a real Alertmanager (Debian's prometheus-alertmanager): a
// window on the db service's staging alerts, made through MaintenanceService; Alertmanager posts a
// staging and a production alert; the staging one is suppressed (stored, visible, not escalated), the
// other escalates; the app's clock is moved past the window's end and housekeeping runs: the still-open
// staging alert escalates then. The oncall side runs on a fixed clock; Alertmanager on its own.

const clock = createFixedClock("2026-07-15T10:30:00Z");
const runner = createRecordingEscalationRunner();
let database: DatabaseHandle;
let server: LocalServer;
let seeded: SeededService;
let ctx: ReturnType<typeof createTestAppContext>;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  seeded = await seedService(database.db, { name: "db" });
  await attachPolicy(
    database.db,
    seeded.serviceId,
    // Two steps: a one-step policy owes no execution once ingest records its first step (which it
    // does when Alertmanager's second group arrives after routing was cached), and the test counts starts.
    await seedPolicy(database.db, [
      { delaySeconds: 0, targets: [{ kind: "user", id: "oncall" }] },
      { delaySeconds: 600, targets: [{ kind: "user", id: "oncall" }] },
    ]),
  );
  ctx = createTestAppContext(database, {
    clock,
    escalations: runner,
    maintenance: createMaintenanceCheck({ db: () => database.db, clock }),
  });
  server = await startLocalServer(createLocalDispatch(ctx), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

describe.skipIf(!alertmanagerAvailable)("maintenance scenario: real Alertmanager → oncall", () => {
  const alertmanager = useAlertmanager(() => ({
    webhookUrl: `${server.url}/v1/webhooks/alertmanager`,
    credentials: seeded.secrets.alertmanager,
  }));

  it("suppresses the window's alerts; when it ends, the still-open ones escalate", async () => {
    const transport = createInMemoryTransport(ctx);
    const maintenance = createClient(MaintenanceService, transport);
    const alerts = createClient(AlertService, transport);
    const { window } = await maintenance.createMaintenanceWindow(
      {
        window: {
          name: "staging rebuild",
          reason: "cluster rebuild",
          owner: "u-ops",
          action: MaintenanceAction.SUPPRESS,
          schedule: {
            kind: {
              case: "oneTime",
              value: {
                startTime: timestampFromDate(new Date("2026-07-15T10:00:00Z")),
                endTime: timestampFromDate(new Date("2026-07-15T12:00:00Z")),
              },
            },
          },
          scope: { serviceIds: [seeded.serviceId], labelMatchers: ['env="staging"'] },
        },
      },
      admin,
    );

    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alert = (alertname: string, labels: Record<string, string>) => ({
      labels: { alertname, ...labels },
      annotations: { summary: alertname },
      startsAt,
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert("StagingDiskFull", { env: "staging", severity: "critical" }),
        alert("ProdDiskFull", { env: "prod", severity: "critical" }),
      ]),
    });
    expect(posted.ok).toBe(true);

    const rows = () =>
      database.db.selectFrom("alerts as a").select(["a.id", "a.summary", "a.routing_state"]).execute();
    const started = () => startedAlertIds(database.db, runner);
    await waitFor(
      async () => (await rows()).length === 2 && (await rows()).some((r) => r.routing_state === "suppressed"),
      30_000,
      () => alertmanager.output(),
    );
    const id = async (summary: string) => Number((await rows()).find((r) => r.summary === summary)!.id);
    const staging = await id("StagingDiskFull");
    const prod = await id("ProdDiskFull");
    await waitFor(async () => (await started()).includes(prod), 10_000);
    expect(await started()).toEqual([prod]);
    const suppressed = (await alerts.getAlert({ id: BigInt(staging) }, admin)).alert!;
    expect(suppressed).toMatchObject({
      status: 1,
      routingState: "suppressed",
      routingReason: "maintenance window staging rebuild: cluster rebuild",
    });
    expect(
      await maintenance.checkAlertMaintenance({ alert: { case: "alertId", value: BigInt(staging) } }, admin),
    ).toMatchObject({ action: MaintenanceAction.SUPPRESS, window: { id: window!.id } });

    // The window ends; the next housekeeping run (a minute's timer embedded) routes the alert again.
    clock.set("2026-07-15T12:00:30Z");
    // The recording runner walks nothing, so prod's escalation, 90 minutes overdue, also walks again.
    expect(await createHousekeeping(ctx)(undefined)).toMatchObject({
      alertsReleasedFromMaintenance: 1,
      escalationsRedriven: 1,
    });
    expect((await started()).sort((x, y) => x - y)).toEqual([prod, staging].sort((x, y) => x - y));
    const { events } = await alerts.listAlertEvents({ alertId: BigInt(staging) }, admin);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["created", "maintenance_ended", "escalation_started"]),
    );
    // Its decision: suppressed (its own entry, or its created one when ingest decided); routed again
    // by the service default, as without rules (no entry: the escalation's own entries say it).
    const decisions = await database.db
      .selectFrom("alert_events as e")
      .innerJoin("routing_decisions as d", "d.id", "e.decision_id")
      .select("d.type")
      .where("e.alert_id", "=", staging)
      .orderBy("e.id")
      .execute();
    expect(decisions.map((d) => d.type)).toEqual(["suppressed"]);
  });
});
