import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import { listDecisions } from "./routing.ts";
import { createService } from "./services.ts";

// routing_decisions lists a decision once per statement (the entries of a request's alerts that share
// it, migration 2026-11-30T0600): ListRoutingDecisions still pages entry by entry, newest first, also
// when rows of concurrent requests interleave their entry ids, and entries leave with their alerts.

const t0 = new Date("2026-11-30T12:00:00Z");

describeEachDatabase("routing decisions store", (suite) => {
  const db = () => suite.handle.db;
  let serviceA: string;
  let serviceB: string;

  beforeEach(async () => {
    await db().deleteFrom("services").execute();
    const service = async (name: string) =>
      (await createService(db(), { name, description: "", escalationPolicyId: null, now: t0 }))!.id;
    serviceA = await service("a");
    serviceB = await service("b");
  });

  /** An alert of `serviceId` with a plain entry; returns its id. */
  async function alertOf(serviceId: string, key: string): Promise<number> {
    const { rows } = await sql<{ id: number }>`
      insert into alerts (service_id, dedup_key, status, severity, summary, source)
      values (${serviceId}::uuid, ${key}, 'triggered', 'critical', ${key}, 'generic')
      returning id`.execute(db());
    return Number(rows[0]!.id);
  }

  /** A log entry of `alertId`, listed by decision `decisionId` when given; returns its id. */
  async function entry(alertId: number, decisionId?: number): Promise<number> {
    const { rows } = await sql<{ id: number }>`
      insert into alert_events (alert_id, type, actor, message, data, decision_id)
      values (${alertId}::bigint, 'created', 'test', ${`decided ${decisionId ?? "-"}`},
        ${JSON.stringify({ decision: decisionId ?? null })}::jsonb, ${decisionId ?? null}::bigint)
      returning id`.execute(db());
    return Number(rows[0]!.id);
  }

  /** One decision listing the entries of `alertIds` (their ids in the order written). */
  async function decision(serviceId: string, type: string, alertIds: number[], entries: number[]) {
    const events = [...entries].sort((x, y) => x - y);
    const { rows } = await sql<{ id: number }>`
      insert into routing_decisions (service_id, type, first_event_id, last_event_id, event_ids, alert_ids)
      values (${serviceId}::uuid, ${type}, ${events[0]}::bigint, ${events.at(-1)}::bigint,
        (select array_agg(value::bigint) from jsonb_array_elements_text(${JSON.stringify(events)}::jsonb)),
        (select array_agg(value::bigint) from jsonb_array_elements_text(${JSON.stringify(alertIds)}::jsonb)))
      returning id`.execute(db());
    return Number(rows[0]!.id);
  }

  /** Two requests whose entries interleave (1st, 2nd, 2nd, 1st, 2nd, 1st), and one of service B. */
  async function interleaved() {
    const a = await Promise.all(["a1", "a2", "a3", "a4", "a5", "a6"].map((k) => alertOf(serviceA, k)));
    const b = await alertOf(serviceB, "b1");
    const first = Number(
      (await sql<{ id: number }>`select nextval('routing_decisions_id_seq') as id`.execute(db())).rows[0]!.id,
    );
    const second = Number(
      (await sql<{ id: number }>`select nextval('routing_decisions_id_seq') as id`.execute(db())).rows[0]!.id,
    );
    const order = [
      [a[0]!, first],
      [a[1]!, second],
      [a[2]!, second],
      [a[3]!, first],
      [a[4]!, second],
      [a[5]!, first],
    ] as const;
    const ids: number[] = [];
    for (const [alertId, decisionId] of order) ids.push(await entry(alertId, decisionId));
    await entry(a[0]!); // a plain entry of a listed alert: not a decision
    const byDecision = (d: number) =>
      order.flatMap(([alertId, x], i) => (x === d ? [[alertId, ids[i]!]] : []));
    for (const [d, type] of [
      [first, "routed"],
      [second, "suppressed"],
    ] as const) {
      const rows = byDecision(d);
      await sql`
        insert into routing_decisions (id, service_id, type, first_event_id, last_event_id, event_ids, alert_ids)
        values (${d}::bigint, ${serviceA}::uuid, ${type}, ${rows[0]![1]}::bigint, ${rows.at(-1)![1]}::bigint,
          (select array_agg(value::bigint) from jsonb_array_elements_text(${JSON.stringify(rows.map((r) => r[1]))}::jsonb)),
          (select array_agg(value::bigint) from jsonb_array_elements_text(${JSON.stringify(rows.map((r) => r[0]))}::jsonb)))
      `.execute(db());
    }
    const bEntry = await entry(b);
    await decision(serviceB, "unrouted", [b], [bEntry]);
    await sql`update alert_events set decision_id = (select max(id) from routing_decisions) where id = ${bEntry}::bigint`.execute(
      db(),
    );
    return { a, b, ids, bEntry };
  }

  /** Every page of `pageSize` (by service or all), as [alert id, type] newest first. */
  async function allPages(pageSize: number, serviceId?: string) {
    const seen: [number, string][] = [];
    let beforeId: number | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await listDecisions(db(), { serviceId, limit: pageSize, beforeId });
      expect(page.length).toBeLessThanOrEqual(pageSize);
      seen.push(...page.map((d): [number, string] => [d.alertId, d.type]));
      if (page.length < pageSize) break;
      beforeId = page.at(-1)!.eventId;
    }
    return seen;
  }

  it("pages entry by entry, newest first, when rows of two requests interleave", async () => {
    const { a, b } = await interleaved();
    const newestFirst: [number, string][] = [
      [a[5]!, "routed"],
      [a[4]!, "suppressed"],
      [a[3]!, "routed"],
      [a[2]!, "suppressed"],
      [a[1]!, "suppressed"],
      [a[0]!, "routed"],
    ];
    for (const size of [1, 2, 3, 4, 7]) {
      expect(await allPages(size, serviceA)).toEqual(newestFirst);
      expect(await allPages(size)).toEqual([[b, "unrouted"], ...newestFirst]);
    }
    expect(await allPages(5, serviceB)).toEqual([[b, "unrouted"]]);
    // One alert's: its decision entries only (not its plain entry), with the decision's message and data.
    const ofOne = await listDecisions(db(), { alertId: a[0]!, limit: 10 });
    expect(ofOne).toHaveLength(1);
    expect(ofOne[0]).toMatchObject({ alertId: a[0], serviceId: serviceA, type: "routed" });
    expect(ofOne[0]!.message).toMatch(/^decided \d+$/);
  });

  it("lets entries leave with their alerts: a row keeps the rest, and goes with the last", async () => {
    const { a } = await interleaved();
    await db().deleteFrom("alerts").where("id", "in", [a[1]!, a[3]!]).execute();
    expect(await allPages(2, serviceA)).toEqual([
      [a[5]!, "routed"],
      [a[4]!, "suppressed"],
      [a[2]!, "suppressed"],
      [a[0]!, "routed"],
    ]);
    const rows = await db()
      .selectFrom("routing_decisions")
      .select(["type", "alert_ids"])
      .orderBy("id")
      .execute();
    expect(rows.filter((r) => r.type !== "unrouted").map((r) => r.alert_ids.map(Number))).toEqual([
      [a[0], a[5]],
      [a[2], a[4]],
    ]);
    await db().deleteFrom("alerts").where("id", "in", [a[0]!, a[5]!]).execute();
    expect(
      (await db().selectFrom("routing_decisions").select("type").execute()).map((r) => r.type).sort(),
    ).toEqual(["suppressed", "unrouted"]);
  });
});
