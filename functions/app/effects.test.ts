import { type RawNode, sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { describeEachDatabase } from "../../test/support/databases.ts";
import { completeEffects, insertEffects } from "../adapters/db/stores/alert-effects.ts";
import type { EffectKind, OwedEffect } from "../domain/alerts/lifecycle.ts";
import { createFixedClock } from "../domain/clock.ts";
import { UnavailableError } from "../domain/errors.ts";
import {
  dispatchEffects,
  type EffectDeps,
  type EffectRegistry,
  EffectsPartlyFailed,
  effectRetryDelayMs,
  sweepEffects,
} from "./effects.ts";

// The outbox at run time over a real database: effects written as a statement writes them, run by
// handlers that record what they got and fail on demand.

describe("effectRetryDelayMs", () => {
  it.each([
    [0, 5_000],
    [1, 10_000],
    [3, 40_000],
    [6, 300_000],
    [50, 300_000],
  ])("after %i failed run(s) waits %i ms", (attempts, ms) => {
    expect(effectRetryDelayMs(attempts)).toBe(ms);
  });
});

describeEachDatabase("effects outbox", (suite) => {
  const clock = createFixedClock("2026-11-29T08:00:00Z");
  let ran: { kind: EffectKind; ids: number[] }[];
  let failing: Set<EffectKind>;

  const handler = (kind: EffectKind, critical: boolean) => ({
    critical,
    async run(effects: readonly OwedEffect[]) {
      if (failing.has(kind)) throw new Error(`${kind} is down`);
      ran.push({ kind, ids: effects.map((e) => e.id) });
    },
  });
  const registry: EffectRegistry = {
    route: handler("route", true),
    "escalation.start": handler("escalation.start", true),
    "escalation.stop": handler("escalation.stop", false),
    "notifications.deliver": handler("notifications.deliver", false),
    "notifications.status_update": handler("notifications.status_update", false),
  };
  const deps = (): EffectDeps => ({ db: suite.handle.db, clock, registry });

  /** Writes effects as an alert-changing statement would, at the clock's time. */
  async function owe(...kinds: EffectKind[]): Promise<OwedEffect[]> {
    const rows = sql.join(
      kinds.map((k, i) => sql`select ${k}::text, null::uuid, ${JSON.stringify([i + 1])}::jsonb, '{}'::jsonb`),
      sql` union all `,
    );
    const { rows: written } = await sql<{ effect: [number, EffectKind, null, number[], unknown, number] }>`
      with effects as (${insertEffects(rows, clock.now())}) select effect from effects
    `.execute(suite.handle.db);
    return written.map(({ effect: [id, kind, serviceId, alertIds, payload, attempts] }) => ({
      id,
      kind,
      serviceId,
      alertIds,
      payload,
      attempts,
    }));
  }

  const statuses = async () =>
    (
      await suite.handle.db
        .selectFrom("alert_effects")
        .select(["kind", "status", "attempts"])
        .orderBy("id")
        .execute()
    ).map((r) => `${r.kind}:${r.status}:${r.attempts}`);

  beforeEach(async () => {
    await suite.handle.db.deleteFrom("alert_effects").execute();
    clock.set("2026-11-29T08:00:00Z");
    ran = [];
    failing = new Set();
  });

  it("runs each kind once for its batch and marks the effects done", async () => {
    const effects = await owe("escalation.stop", "escalation.start", "escalation.start");
    await dispatchEffects(deps(), effects);
    expect(ran).toEqual([
      { kind: "escalation.start", ids: [effects[1]!.id, effects[2]!.id] },
      { kind: "escalation.stop", ids: [effects[0]!.id] },
    ]);
    expect(await statuses()).toEqual([
      "escalation.stop:done:0",
      "escalation.start:done:0",
      "escalation.start:done:0",
    ]);
  });

  it("requests completing effects while a completion is being written share the next statement", async () => {
    const completions: number[] = [];
    const db = suite.handle.db.withPlugin({
      transformQuery({ node }) {
        const text = node.kind === "RawNode" ? (node as RawNode).sqlFragments.join("") : "";
        if (text.includes("set status = 'done'")) completions.push(completions.length);
        return node;
      },
      transformResult: async ({ result }) => result,
    });
    const owed = await Promise.all([
      owe("escalation.start"),
      owe("escalation.start"),
      owe("escalation.start"),
    ]);
    await Promise.all(owed.map((effects) => dispatchEffects({ ...deps(), db }, effects)));
    // The first is written at once; the two that came while it was in flight, together after it.
    expect(completions).toHaveLength(2);
    expect(await statuses()).toEqual([
      "escalation.start:done:0",
      "escalation.start:done:0",
      "escalation.start:done:0",
    ]);
  });

  it("marks effects done without waiting for the WAL flush of that statement only", async () => {
    const [effect] = await owe("escalation.start");
    const setting = await suite.handle.db.connection().execute(async (connection) => {
      await completeEffects(connection, { ids: [effect!.id], now: clock.now() });
      return (await sql<{ s: string }>`select current_setting('synchronous_commit') as s`.execute(connection))
        .rows[0]?.s;
    });
    expect(setting).toBe("on"); // the next statement on that connection commits as before
    expect(await statuses()).toEqual(["escalation.start:done:0"]);
  });

  it("fails the request when a critical effect fails, records it, and still runs the other kinds", async () => {
    failing.add("escalation.start");
    const effects = await owe("escalation.start", "escalation.stop");
    await expect(dispatchEffects(deps(), effects)).rejects.toBeInstanceOf(UnavailableError);
    expect(ran.map((r) => r.kind)).toEqual(["escalation.stop"]);
    expect(await statuses()).toEqual(["escalation.start:pending:1", "escalation.stop:done:0"]);
  });

  it("a handler that failed only some effects of its batch fails only those (the 503 names their alerts)", async () => {
    const effects = await owe("escalation.start", "escalation.start");
    const [done, notDone] = effects as [OwedEffect, OwedEffect];
    const partial: EffectRegistry = {
      ...registry,
      "escalation.start": {
        critical: true,
        completesItself: true,
        async run() {
          await completeEffects(suite.handle.db, { ids: [done.id], now: clock.now() });
          throw new EffectsPartlyFailed("one start failed", new Set([notDone.id]));
        },
      },
    };
    const error = await dispatchEffects({ ...deps(), registry: partial }, effects).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(
      `the reaction to alert ${notDone.alertIds.join(", ")} could not run; retry the request`,
    );
    expect(await statuses()).toEqual(["escalation.start:done:0", "escalation.start:pending:1"]);
  });

  it("only logs a failed non-critical effect; it stays owed", async () => {
    failing.add("escalation.stop");
    await dispatchEffects(deps(), await owe("escalation.stop"));
    expect(await statuses()).toEqual(["escalation.stop:pending:1"]);
  });

  it("sweeps an effect only once it is due, and takes it once while it runs", async () => {
    await owe("escalation.start");
    expect(await sweepEffects(deps(), { limit: 10 })).toEqual({ ran: 0, failed: 0 }); // within the grace
    clock.advance(30_000);
    const [a, b] = await Promise.all([
      sweepEffects(deps(), { limit: 10 }),
      sweepEffects(deps(), { limit: 10 }),
    ]);
    expect(a.ran + b.ran).toBe(1);
    expect(ran).toHaveLength(1);
    expect(await sweepEffects(deps(), { limit: 10 })).toEqual({ ran: 0, failed: 0 });
  });

  it("backs off a failing effect and runs it when it is due again", async () => {
    await owe("escalation.start");
    failing.add("escalation.start");
    clock.advance(30_000);
    expect(await sweepEffects(deps(), { limit: 10 })).toEqual({ ran: 0, failed: 1 });
    failing.clear();
    clock.advance(4_000);
    expect(await sweepEffects(deps(), { limit: 10 })).toEqual({ ran: 0, failed: 0 });
    clock.advance(1_000);
    expect(await sweepEffects(deps(), { limit: 10 })).toEqual({ ran: 1, failed: 0 });
    expect(await statuses()).toEqual(["escalation.start:done:1"]);
  });

  it("at start, takes everything still pending at once", async () => {
    await owe("escalation.start", "escalation.stop");
    expect(await sweepEffects(deps(), { limit: 10, everything: true })).toEqual({ ran: 2, failed: 0 });
  });
});
