import { sql } from "kysely";
import { expect, it } from "vitest";
import { describeEachDatabase } from "../../test/support/databases.ts";
import {
  findSuppressedAlerts,
  readMaintenanceVersion,
  releaseSuppressedAlerts,
} from "../adapters/db/stores/maintenance.ts";
import { OPEN_STATUSES } from "../domain/alerts/lifecycle.ts";
import { createFixedClock } from "../domain/clock.ts";
import type { MaintenanceWindowSpec } from "../domain/maintenance/windows.ts";
import type { RoutableAlert } from "../domain/routing/model.ts";
import {
  cancelMaintenanceWindow,
  checkAlertMaintenance,
  createMaintenanceCheck,
  createMaintenanceWindow,
  extendMaintenanceWindow,
  getMaintenanceWindow,
  listMaintenanceWindowChanges,
  listMaintenanceWindows,
  updateMaintenanceWindow,
} from "./maintenance.ts";

// The use cases and the store on every database path (PGlite, Postgres with DATABASE_URL, Data API).
describeEachDatabase("maintenance windows", (suite) => {
  const clock = createFixedClock("2026-07-15T09:00:00Z");
  const deps = () => ({ database: suite.handle, clock });
  let serviceId = "";

  const spec = (overrides: Partial<MaintenanceWindowSpec> = {}): MaintenanceWindowSpec => ({
    name: "db upgrade",
    reason: "postgres 18",
    owner: "u-alice",
    action: "suppress",
    schedule: {
      kind: "once",
      startAt: new Date("2026-07-15T10:00:00Z"),
      endAt: new Date("2026-07-15T12:00:00Z"),
    },
    scope: { serviceIds: [serviceId], labelMatchers: ['env="staging"'], cel: "" },
    ...overrides,
  });
  const alert = (overrides: Partial<RoutableAlert> = {}): RoutableAlert => ({
    serviceId,
    summary: "disk full",
    details: "",
    severity: "critical",
    source: "alertmanager",
    dedupKey: "fp",
    labels: { env: "staging" },
    annotations: {},
    createdAt: clock.now(),
    ...overrides,
  });

  it("creates, reads, updates, cancels and extends, recording every change with before/after", async () => {
    clock.set("2026-07-15T09:00:00Z");
    // Raw SQL with casts: the Data API sends parameters as varchar.
    const { rows } = await sql<{
      id: string;
    }>`insert into services (name) values ('maint'::text) returning id`.execute(suite.handle.db);
    serviceId = rows[0]!.id;
    const created = await createMaintenanceWindow(deps(), spec(), "admin");
    expect(created.timing).toEqual({ state: "scheduled", nextStart: new Date("2026-07-15T10:00:00Z") });
    expect(created.window).toMatchObject({
      name: "db upgrade",
      owner: "u-alice",
      createdBy: "admin",
      cancelledAt: null,
    });
    expect((await getMaintenanceWindow(deps(), created.window.id)).window).toEqual(created.window);

    clock.set("2026-07-15T10:30:00Z");
    expect((await getMaintenanceWindow(deps(), created.window.id)).timing.state).toBe("active");
    const renamed = await updateMaintenanceWindow(
      deps(),
      created.window.id,
      { name: "pg 18 upgrade" },
      "api_key:k1",
    );
    expect(renamed.window).toMatchObject({ name: "pg 18 upgrade", updatedBy: "api_key:k1" });

    const extended = await extendMaintenanceWindow(
      deps(),
      created.window.id,
      new Date("2026-07-15T13:00:00Z"),
      "admin",
    );
    expect(extended.timing.currentEnd).toEqual(new Date("2026-07-15T13:00:00Z"));

    clock.set("2026-07-15T11:00:00Z");
    const cancelled = await cancelMaintenanceWindow(deps(), created.window.id, "admin");
    expect(cancelled.timing.state).toBe("ended");
    expect(cancelled.window.cancelledAt).toEqual(new Date("2026-07-15T11:00:00Z"));
    await expect(cancelMaintenanceWindow(deps(), created.window.id, "admin")).rejects.toThrow(/has ended/);
    await expect(updateMaintenanceWindow(deps(), created.window.id, { name: "x" }, "admin")).rejects.toThrow(
      /has ended/,
    );

    const changes = await listMaintenanceWindowChanges(deps(), { windowId: created.window.id, limit: 10 });
    expect(changes.map((c) => [c.change, c.actor])).toEqual([
      ["cancelled", "admin"],
      ["extended", "admin"],
      ["updated", "api_key:k1"],
      ["created", "admin"],
    ]);
    expect(changes[2]).toMatchObject({ before: { name: "db upgrade" }, after: { name: "pg 18 upgrade" } });
    expect(changes[3]!.before).toBeNull();
    expect(changes[0]!.after).toMatchObject({ cancelled_at: expect.stringMatching(/^2026-07-15T11:00:00/) });
    // Versions strictly increase with the changes.
    const versions = changes.map((c) => c.version).reverse();
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(4);

    const live = await listMaintenanceWindows(deps(), { includeEnded: false, limit: 10 });
    expect(live.windows.map((w) => w.window.id)).not.toContain(created.window.id);
    const all = await listMaintenanceWindows(deps(), { includeEnded: true, limit: 10 });
    expect(all.windows.map((w) => w.window.id)).toContain(created.window.id);
  });

  it("refuses an unknown service naming it, and an extend that is not later", async () => {
    clock.set("2026-07-15T09:00:00Z");
    await expect(
      createMaintenanceWindow(
        deps(),
        spec({
          scope: {
            serviceIds: [serviceId, "00000000-0000-4000-8000-000000000000"],
            labelMatchers: [],
            cel: "",
          },
        }),
        "admin",
      ),
    ).rejects.toThrow(/^scope\.service_ids\[1\]: unknown service/);
    const w = await createMaintenanceWindow(deps(), spec(), "admin");
    await expect(
      extendMaintenanceWindow(deps(), w.window.id, new Date("2026-07-15T11:00:00Z"), "admin"),
    ).rejects.toThrow(/^end_time: must be after/);
  });

  it("pages windows newest start first", async () => {
    clock.set("2026-08-01T00:00:00Z");
    for (let day = 2; day <= 6; day++) {
      const startAt = new Date(`2026-08-0${day}T10:00:00Z`);
      await createMaintenanceWindow(
        deps(),
        spec({
          name: `w${day}`,
          schedule: { kind: "once", startAt, endAt: new Date(startAt.getTime() + 3_600_000) },
        }),
        "admin",
      );
    }
    const names: string[] = [];
    let after: Parameters<typeof listMaintenanceWindows>[1]["after"];
    do {
      const page = await listMaintenanceWindows(deps(), { includeEnded: false, limit: 2, after });
      names.push(...page.windows.map((w) => w.window.name));
      after = page.next;
    } while (after);
    expect(names.filter((n) => /^w\d$/.test(n))).toEqual(["w6", "w5", "w4", "w3", "w2"]);
  });

  it("CheckAlertMaintenance: suppress vs annotate, scope, check time", async () => {
    clock.set("2026-09-01T00:00:00Z");
    const suppress = await createMaintenanceWindow(
      deps(),
      spec({
        name: "suppress staging",
        schedule: {
          kind: "once",
          startAt: new Date("2026-09-01T10:00:00Z"),
          endAt: new Date("2026-09-01T12:00:00Z"),
        },
      }),
      "admin",
    );
    await createMaintenanceWindow(
      deps(),
      spec({
        name: "annotate all db",
        action: "annotate",
        schedule: {
          kind: "once",
          startAt: new Date("2026-09-01T09:00:00Z"),
          endAt: new Date("2026-09-01T13:00:00Z"),
        },
        scope: { serviceIds: [serviceId], labelMatchers: [], cel: "" },
      }),
      "admin",
    );
    const at = (iso: string) => new Date(iso);
    expect(
      (await checkAlertMaintenance(deps(), { alert: alert(), at: at("2026-09-01T08:00:00Z") })).verdict,
    ).toEqual({
      action: "none",
    });
    expect(
      (await checkAlertMaintenance(deps(), { alert: alert(), at: at("2026-09-01T09:30:00Z") })).verdict,
    ).toMatchObject({ action: "annotate", windowName: "annotate all db" });
    const both = await checkAlertMaintenance(deps(), { alert: alert(), at: at("2026-09-01T10:30:00Z") });
    expect(both.verdict).toMatchObject({
      action: "suppress",
      windowId: suppress.window.id,
      reason: "postgres 18",
    });
    expect(both.window?.timing.state).toBe("active");
    const prod = await checkAlertMaintenance(deps(), {
      alert: alert({ labels: { env: "prod" } }),
      at: at("2026-09-01T10:30:00Z"),
    });
    expect(prod.verdict).toMatchObject({ action: "annotate" });
    await expect(checkAlertMaintenance(deps(), { alertId: 999_999_999 })).rejects.toThrow(
      /alert 999999999 not found/,
    );
  });

  it("the cached check reads the version stamp at most once per TTL and reloads only when it moved", async () => {
    clock.set("2026-10-01T00:00:00Z");
    const check = createMaintenanceCheck({ db: () => suite.handle.db, clock, ttlMs: 5_000 });
    const now = new Date("2026-10-01T10:30:00Z");
    expect(await check.verdictFor(alert(), now)).toEqual({ action: "none" });
    expect(check.loads()).toBe(1);

    const window = await createMaintenanceWindow(
      deps(),
      spec({
        name: "october",
        schedule: {
          kind: "once",
          startAt: new Date("2026-10-01T10:00:00Z"),
          endAt: new Date("2026-10-01T12:00:00Z"),
        },
      }),
      "admin",
    );
    // Within the TTL the copy answers (no read): the new window is not seen yet.
    clock.advance(4_999);
    expect(await check.verdictFor(alert(), now)).toEqual({ action: "none" });
    expect(check.loads()).toBe(1);
    // After it, the moved stamp triggers one reload.
    clock.advance(1);
    expect(await check.verdictFor(alert(), now)).toMatchObject({
      action: "suppress",
      windowId: window.window.id,
    });
    expect(check.loads()).toBe(2);
    // Many alerts later, an unchanged stamp reloads nothing; the clock alone moves the state.
    for (let i = 0; i < 100; i++) await check.verdictFor(alert(), now);
    clock.advance(60_000);
    expect(await check.verdictFor(alert(), new Date("2026-10-01T12:00:00Z"))).toEqual({ action: "none" });
    expect(check.loads()).toBe(2);
    // A cancel is a change: seen after the TTL.
    const versionBefore = await readMaintenanceVersion(suite.handle.db);
    await cancelMaintenanceWindow(deps(), window.window.id, "admin");
    expect(await readMaintenanceVersion(suite.handle.db)).toBe(versionBefore + 1);
    clock.advance(5_000);
    expect(await check.verdictFor(alert(), clock.now())).toEqual({ action: "none" });
    expect(check.loads()).toBe(3);
    // A clock stepped back re-reads the stamp too (else the copy would be trusted until it caught up).
    await createMaintenanceWindow(deps(), spec({ name: "after the step" }), "admin");
    clock.advance(-3_600_000);
    await check.verdictFor(alert(), clock.now());
    expect(check.loads()).toBe(4);
  });

  it("the cached check answers a question about the past from that time (a simulation)", async () => {
    clock.set("2026-10-10T00:00:00Z");
    const past = await createMaintenanceWindow(
      deps(),
      spec({
        name: "last week",
        schedule: {
          kind: "once",
          startAt: new Date("2026-10-03T10:00:00Z"),
          endAt: new Date("2026-10-03T12:00:00Z"),
        },
      }),
      "admin",
    );
    const check = createMaintenanceCheck({ db: () => suite.handle.db, clock });
    expect(await check.verdictFor(alert(), clock.now())).toEqual({ action: "none" }); // the copy: live windows only
    expect(await check.verdictFor(alert(), new Date("2026-10-03T10:30:00Z"))).toMatchObject({
      action: "suppress",
      windowId: past.window.id,
    });
  });

  it("finds the open alerts an ended window suppressed and releases each once, with a route effect", async () => {
    clock.set("2026-11-01T00:00:00Z");
    const window = await createMaintenanceWindow(
      deps(),
      spec({
        name: "november",
        schedule: {
          kind: "once",
          startAt: new Date("2026-11-01T10:00:00Z"),
          endAt: new Date("2026-11-01T12:00:00Z"),
        },
      }),
      "admin",
    );
    // A `suppressed` decision as routing writes it: the log entry, listed in routing_decisions.
    const suppressionEntry = (id: number, maintenance: Record<string, string>) =>
      sql`
        with e as (
          insert into alert_events (alert_id, type, actor, data, decision_id)
          values (${id}::bigint, 'suppressed'::text, 'system'::text, ${JSON.stringify({ maintenance })}::jsonb,
            nextval('routing_decisions_id_seq'))
          returning id, alert_id, decision_id
        )
        insert into routing_decisions (id, service_id, type, first_event_id, last_event_id, event_ids, alert_ids)
        select e.decision_id, ${serviceId}::uuid, 'suppressed'::text, e.id, e.id, array[e.id], array[e.alert_id]
        from e`.execute(suite.handle.db);
    const suppressed = async (dedup: string, status: string, action = "suppress") => {
      const { rows } = await sql<{ id: number }>`
        insert into alerts (service_id, dedup_key, status, severity, summary, source, routing_state)
        values (${serviceId}::uuid, ${dedup}::text, ${status}::text, 'critical'::text, 'disk'::text, 'generic'::text,
          'suppressed'::text)
        returning id`.execute(suite.handle.db);
      const id = Number(rows[0]!.id);
      await suppressionEntry(id, { action, windowId: window.window.id, windowName: "november", reason: "" });
      return id;
    };
    const open = await suppressed("open", "triggered");
    await suppressed("resolved", "resolved");
    await suppressed("annotated", "triggered", "annotate");
    const find = () =>
      findSuppressedAlerts(suite.handle.db, {
        suppressedState: "suppressed",
        suppressedEvent: "suppressed",
        openStatuses: OPEN_STATUSES,
        now: clock.now(),
        limit: 10,
      });

    clock.set("2026-11-01T11:00:00Z");
    expect(await find()).toEqual([]); // the one-off window has not ended
    clock.set("2026-11-01T12:00:00Z");
    const found = await find();
    expect(found).toMatchObject([{ alertId: open, serviceId, windowId: window.window.id }]);

    const release = () =>
      releaseSuppressedAlerts(suite.handle.db, {
        releases: [
          {
            alertId: open,
            windowId: window.window.id,
            windowName: "november",
            suppressionEventId: found[0]!.suppressionEventId,
            reason: "ended",
          },
        ],
        suppressedState: "suppressed",
        openStatuses: OPEN_STATUSES,
        releaseEvent: "maintenance_ended",
        routeEffect: "route",
        actor: "system",
        now: clock.now(),
      });
    const effects = await release();
    expect(effects).toMatchObject([{ kind: "route", serviceId, alertIds: [open] }]);
    expect(await release()).toEqual([]); // once
    expect(await find()).toEqual([]);
    const { rows } = await sql<{ routing_state: string | null; last: string }>`
      select a.routing_state, (select e.type from alert_events e where e.alert_id = a.id order by e.id desc limit 1) as last
      from alerts a where a.id = ${open}::bigint`.execute(suite.handle.db);
    expect(rows[0]).toEqual({ routing_state: null, last: "maintenance_ended" });

    // Suppressed again later (a new routing entry): that suppression is released in its turn.
    await sql`update alerts set routing_state = 'suppressed' where id = ${open}::bigint`.execute(
      suite.handle.db,
    );
    await suppressionEntry(open, { action: "suppress", windowId: window.window.id });
    const again = await find();
    expect(again).toMatchObject([{ alertId: open }]);
    expect(again[0]!.suppressionEventId).toBeGreaterThan(found[0]!.suppressionEventId);
  });
});
