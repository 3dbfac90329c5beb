import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import type { AlertSeverity } from "../schema.ts";
import { applySignals, type StoredSignal } from "./alert-signals.ts";
import {
  type AlertFilter,
  acknowledgeAlert,
  addNote,
  autoResolveOlderThan,
  bulkAcknowledgeAlerts,
  bulkResolveAlerts,
  getAlert,
  listAlertEvents,
  listAlerts,
  resolveAlert,
} from "./alerts.ts";
import { createService } from "./services.ts";

const t0 = new Date("2026-11-27T12:00:00Z");
const minutes = (n: number) => new Date(t0.getTime() + n * 60_000);
const days = (n: number) => new Date(t0.getTime() + n * 86_400_000);
const noFilter: AlertFilter = { statuses: [], serviceIds: [], severities: [], labels: {}, search: "" };

describeEachDatabase("alerts store", (suite) => {
  const db = () => suite.handle.db;
  let serviceA: string;
  let serviceB: string;

  beforeEach(async () => {
    await db().deleteFrom("services").execute();
    serviceA = (await createService(db(), { name: "a", description: "", escalationPolicyId: null, now: t0 }))!
      .id;
    serviceB = (await createService(db(), { name: "b", description: "", escalationPolicyId: null, now: t0 }))!
      .id;
  });

  async function trigger(
    summary: string,
    options: {
      serviceId?: string;
      severity?: AlertSeverity;
      labels?: Record<string, string>;
      at?: Date;
    } = {},
  ): Promise<number> {
    const signal: StoredSignal = {
      action: "trigger",
      dedupKey: summary,
      summary,
      details: "",
      severity: options.severity ?? "error",
      source: "generic",
      labels: options.labels ?? {},
      annotations: {},
    };
    const {
      results: [result],
    } = await applySignals(db(), {
      serviceId: options.serviceId ?? serviceA,
      actor: "integration_key:test",
      now: options.at ?? t0,
      signals: [signal],
    });
    return result!.alertId!;
  }

  const eventsOf = async (alertId: number) =>
    (await listAlertEvents(db(), { alertId, limit: 100 }))!.events.map((e) => [
      e.type,
      e.actor,
      e.created_at.toISOString(),
    ]);

  it("reads an alert with its JSONB labels and timestamps", async () => {
    const id = await trigger("disk full", {
      labels: { host: "db1", "app.kubernetes.io/name": "pg" },
      at: minutes(1),
    });
    expect(await getAlert(db(), id)).toMatchObject({
      id,
      service_id: serviceA,
      status: "triggered",
      severity: "error",
      summary: "disk full",
      labels: { host: "db1", "app.kubernetes.io/name": "pg" },
      annotations: {},
      duplicate_count: 0,
      created_at: minutes(1),
      last_seen_at: minutes(1),
      acknowledged_at: null,
      resolved_at: null,
    });
    expect(await getAlert(db(), id + 1000)).toBeUndefined();
  });

  it("filters on each criterion, alone and combined, newest first", async () => {
    const cpu1 = await trigger("CPU hot 1", {
      severity: "warning",
      labels: { team: "web", env: "prod" },
      at: minutes(0),
    });
    const disk = await trigger("Disk 95% full", {
      severity: "critical",
      labels: { team: "db", env: "prod" },
      at: minutes(1),
    });
    const io = await trigger("disk_io slow", {
      serviceId: serviceB,
      severity: "warning",
      labels: { team: "db" },
      at: minutes(2),
    });
    const cpu2 = await trigger("cpu hot 2", {
      serviceId: serviceB,
      severity: "info",
      labels: { team: "web" },
      at: minutes(3),
    });
    await acknowledgeAlert(db(), { id: disk, actor: "admin", now: minutes(4) });
    await resolveAlert(db(), { id: io, actor: "admin", now: minutes(4) });

    const ids = async (filter: Partial<AlertFilter>) =>
      (await listAlerts(db(), { ...noFilter, ...filter }, { limit: 100 })).alerts.map((a) => a.id);

    expect(await ids({})).toEqual([cpu2, io, disk, cpu1]);
    expect(await ids({ statuses: ["triggered"] })).toEqual([cpu2, cpu1]);
    expect(await ids({ statuses: ["acknowledged", "resolved"] })).toEqual([io, disk]);
    expect(await ids({ serviceIds: [serviceB] })).toEqual([cpu2, io]);
    expect(await ids({ severities: ["warning", "info"] })).toEqual([cpu2, io, cpu1]);
    expect(await ids({ labels: { team: "db" } })).toEqual([io, disk]);
    expect(await ids({ labels: { team: "web", env: "prod" } })).toEqual([cpu1]);
    expect(await ids({ labels: { env: "staging" } })).toEqual([]);
    expect(await ids({ createdAfter: minutes(1) })).toEqual([cpu2, io, disk]);
    expect(await ids({ createdBefore: minutes(1) })).toEqual([cpu1]);
    expect(await ids({ createdAfter: minutes(1), createdBefore: minutes(3) })).toEqual([io, disk]);
    expect(await ids({ search: "CPU HOT" })).toEqual([cpu2, cpu1]);
    expect(await ids({ search: "95%" })).toEqual([disk]);
    expect(await ids({ search: "9%f" })).toEqual([]);
    expect(await ids({ search: "k_i" })).toEqual([io]);
    expect(await ids({ search: "k i" })).toEqual([]);

    expect(await ids({ statuses: ["triggered"], serviceIds: [serviceA], labels: { team: "web" } })).toEqual([
      cpu1,
    ]);
    expect(await ids({ severities: ["warning"], labels: { team: "db" }, search: "disk" })).toEqual([io]);
    expect(
      await ids({ serviceIds: [serviceA, serviceB], createdAfter: minutes(2), statuses: ["triggered"] }),
    ).toEqual([cpu2]);
  });

  it("pages newest first with no duplicates or gaps", async () => {
    const created: number[] = [];
    for (let i = 0; i < 12; i++)
      created.push(await trigger(`alert ${i}`, { at: minutes(i), labels: { n: String(i % 2) } }));
    const pages: number[][] = [];
    let beforeId: number | undefined;
    do {
      const page = await listAlerts(db(), noFilter, { limit: 5, beforeId });
      pages.push(page.alerts.map((a) => a.id));
      beforeId = page.nextBeforeId;
    } while (beforeId !== undefined);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual([...created].reverse());

    // Exactly a page's worth: no empty trailing page.
    const evens = await listAlerts(db(), { ...noFilter, labels: { n: "0" } }, { limit: 6 });
    expect(evens.alerts).toHaveLength(6);
    expect(evens.nextBeforeId).toBeUndefined();
  });

  it("acknowledges and resolves idempotently, writing one event per change", async () => {
    const id = await trigger("latency");
    const ack = await acknowledgeAlert(db(), { id, actor: "user:u1", now: minutes(1) });
    expect(ack).toMatchObject({
      changed: true,
      alert: { status: "acknowledged", acknowledged_at: minutes(1), acknowledged_by: "user:u1" },
      // The lifecycle table: an acknowledge owes the stop of the alert's escalation and status updates.
      effects: [
        { kind: "escalation.stop", serviceId: serviceA, alertIds: [id], payload: {}, attempts: 0 },
        {
          kind: "notifications.status_update",
          serviceId: serviceA,
          alertIds: [id],
          payload: {},
          attempts: 0,
        },
      ],
    });
    const ackAgain = await acknowledgeAlert(db(), { id, actor: "user:u2", now: minutes(2) });
    expect(ackAgain).toEqual({ changed: false, alert: ack!.alert, effects: [] });

    const resolved = await resolveAlert(db(), { id, actor: "admin", now: minutes(3) });
    expect(resolved).toMatchObject({
      changed: true,
      alert: { status: "resolved", resolved_at: minutes(3), resolved_by: "admin" },
    });
    expect(await resolveAlert(db(), { id, actor: "admin", now: minutes(4) })).toEqual({
      changed: false,
      alert: resolved!.alert,
      effects: [],
    });
    expect(await acknowledgeAlert(db(), { id, actor: "admin", now: minutes(5) })).toEqual({
      changed: false,
      alert: resolved!.alert,
      effects: [],
    });

    expect(await eventsOf(id)).toEqual([
      ["created", "integration_key:test", t0.toISOString()],
      ["acknowledged", "user:u1", minutes(1).toISOString()],
      ["resolved", "admin", minutes(3).toISOString()],
    ]);
    expect(await acknowledgeAlert(db(), { id: id + 1000, actor: "admin", now: t0 })).toBeUndefined();
    expect(await resolveAlert(db(), { id: id + 1000, actor: "admin", now: t0 })).toBeUndefined();
  });

  it("changes many alerts in one statement, each once", async () => {
    const [a, b, c] = [await trigger("a"), await trigger("b"), await trigger("c")];
    await resolveAlert(db(), { id: c, actor: "admin", now: t0 });

    expect(
      (await bulkAcknowledgeAlerts(db(), { ids: [c, b, a, a, 99_999], actor: "admin", now: minutes(1) })).ids,
    ).toEqual([a, b]);
    expect((await bulkAcknowledgeAlerts(db(), { ids: [a, b], actor: "admin", now: minutes(2) })).ids).toEqual(
      [],
    );
    expect(
      (await bulkResolveAlerts(db(), { ids: [a, b, c], actor: "api_key:k", now: minutes(3) })).ids,
    ).toEqual([a, b]);
    expect(
      (await bulkResolveAlerts(db(), { ids: [a, b, c], actor: "api_key:k", now: minutes(4) })).ids,
    ).toEqual([]);
    expect((await bulkResolveAlerts(db(), { ids: [], actor: "admin", now: minutes(4) })).ids).toEqual([]);

    expect(await eventsOf(a)).toEqual([
      ["created", "integration_key:test", t0.toISOString()],
      ["acknowledged", "admin", minutes(1).toISOString()],
      ["resolved", "api_key:k", minutes(3).toISOString()],
    ]);
    expect((await eventsOf(c)).map(([type]) => type)).toEqual(["created", "resolved"]);
    expect((await getAlert(db(), b))?.resolved_by).toBe("api_key:k");
  });

  it("adds notes and pages through the event log oldest first", async () => {
    const id = await trigger("noisy");
    for (let i = 1; i <= 4; i++) {
      const note = await addNote(db(), { alertId: id, actor: "admin", text: `note ${i}`, now: minutes(i) });
      expect(note).toMatchObject({
        alert_id: id,
        type: "note_added",
        actor: "admin",
        message: `note ${i}`,
        created_at: minutes(i),
      });
    }
    expect(await addNote(db(), { alertId: id + 1000, actor: "admin", text: "x", now: t0 })).toBeUndefined();

    const first = await listAlertEvents(db(), { alertId: id, limit: 3 });
    expect(first?.events.map((e) => e.message || e.type)).toEqual(["created", "note 1", "note 2"]);
    const second = await listAlertEvents(db(), { alertId: id, limit: 3, afterId: first!.nextAfterId });
    expect(second?.events.map((e) => e.message)).toEqual(["note 3", "note 4"]);
    expect(second?.nextAfterId).toBeUndefined();

    expect(await listAlertEvents(db(), { alertId: id + 1000, limit: 3 })).toBeUndefined();
    const beyond = await listAlertEvents(db(), { alertId: id, limit: 3, afterId: 1e12 });
    expect(beyond).toEqual({ events: [], nextAfterId: undefined });
  });

  it("auto-resolves open alerts not seen for more than N days, with an event", async () => {
    const stale = await trigger("stale", { at: days(0) });
    const staleAcked = await trigger("stale acked", { at: days(0) });
    await acknowledgeAlert(db(), { id: staleAcked, actor: "admin", now: days(1) });
    const refreshed = await trigger("refreshed", { at: days(0) });
    await trigger("refreshed", { at: days(6) }); // a duplicate moves last_seen_at
    const fresh = await trigger("fresh", { at: days(5) });
    const done = await trigger("done", { at: days(0) });
    await resolveAlert(db(), { id: done, actor: "admin", now: days(0) });

    const now = days(8);
    const autoResolved = await autoResolveOlderThan(db(), { days: 7, now, limit: 1000 });
    expect(autoResolved.ids).toEqual([stale, staleAcked]);
    // Stopping their escalations is owed, in one effect for the service.
    expect(autoResolved.effects).toMatchObject([
      { kind: "escalation.stop", serviceId: serviceA, alertIds: [stale, staleAcked], attempts: 0 },
      {
        kind: "notifications.status_update",
        serviceId: serviceA,
        alertIds: [stale, staleAcked],
        attempts: 0,
      },
    ]);
    expect((await autoResolveOlderThan(db(), { days: 7, now, limit: 1000 })).ids).toEqual([]);

    expect(await getAlert(db(), stale)).toMatchObject({
      status: "resolved",
      resolved_at: now,
      resolved_by: "system",
    });
    expect((await getAlert(db(), refreshed))?.status).toBe("triggered");
    expect((await getAlert(db(), fresh))?.status).toBe("triggered");
    const log = (await listAlertEvents(db(), { alertId: staleAcked, limit: 10 }))!.events;
    expect(log.at(-1)).toMatchObject({
      type: "resolved",
      actor: "system",
      message: "auto-resolved: no signal for more than 7 days",
      data: { reason: "auto_resolve", days: 7 },
      created_at: now,
    });

    // A limit bounds one call; the next call continues.
    expect((await autoResolveOlderThan(db(), { days: 1, now: days(8), limit: 1 })).ids).toEqual([refreshed]);
    expect((await autoResolveOlderThan(db(), { days: 1, now: days(8), limit: 1 })).ids).toEqual([fresh]);
    await expect(autoResolveOlderThan(db(), { days: 0, now, limit: 1 })).rejects.toThrow(RangeError);
  });
});
