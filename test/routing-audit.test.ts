import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import {
  cancelMaintenanceWindow,
  createMaintenanceWindow,
  extendMaintenanceWindow,
  listMaintenanceWindowChanges,
} from "../functions/app/maintenance.ts";
import {
  createRoutingRule,
  deleteRoutingRule,
  listRoutingRuleChanges,
  reorderRoutingRules,
  routingDepsOf,
  updateRoutingRule,
} from "../functions/app/routing.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import type { RuleDraft } from "../functions/domain/routing/rules.ts";
import { createTestAppContext } from "./support/app-context.ts";
import { describeEachDatabase } from "./support/databases.ts";

// Issue 13's audit requirement: every rule and window change is recorded with who, when and the
// before/after: here the changes that are not plain edits (enable/disable, reorder, delete; a weekly
// window's extend, cancel), each with the injected clock's time and the acting principal.

describeEachDatabase("routing and maintenance audit trail", (suite) => {
  const clock = createFixedClock("2026-07-15T09:00:00Z");
  const ctx = () => createTestAppContext(suite.handle, { clock });
  const deps = () => routingDepsOf(ctx());

  beforeEach(async () => {
    await suite.handle.db.deleteFrom("routing_rules").execute();
    await sql`delete from maintenance_windows`.execute(suite.handle.db);
    await sql`delete from routing_rule_changes`.execute(suite.handle.db);
    clock.set("2026-07-15T09:00:00Z");
  });

  const draft = (name: string): RuleDraft => ({
    name,
    description: "",
    enabled: true,
    terminal: false,
    condition: { matchers: [] },
    actions: [{ kind: "suppress", reason: "noise" }],
  });

  it("records enable/disable, reorder and delete of rules: who, when, before and after", async () => {
    const a = (await createRoutingRule(deps(), { draft: draft("a"), actor: "alice" })).rule;
    const b = (await createRoutingRule(deps(), { draft: draft("b"), actor: "alice" })).rule;

    clock.set("2026-07-15T09:01:00Z");
    await updateRoutingRule(deps(), { id: a.id, patch: { enabled: false }, actor: "bob" });
    clock.set("2026-07-15T09:02:00Z");
    await updateRoutingRule(deps(), { id: a.id, patch: { enabled: true }, actor: "carol" });
    clock.set("2026-07-15T09:03:00Z");
    await reorderRoutingRules(deps(), { ids: [b.id, a.id], actor: "dave" });
    clock.set("2026-07-15T09:04:00Z");
    await deleteRoutingRule(deps(), { id: b.id, actor: "erin" });

    const changes = await listRoutingRuleChanges(deps(), { limit: 10 });
    expect(changes.map((c) => [c.change, c.actor, c.ruleId, c.createdAt.toISOString()])).toEqual([
      ["deleted", "erin", b.id, "2026-07-15T09:04:00.000Z"],
      ["reordered", "dave", null, "2026-07-15T09:03:00.000Z"],
      ["updated", "carol", a.id, "2026-07-15T09:02:00.000Z"],
      ["updated", "bob", a.id, "2026-07-15T09:01:00.000Z"],
      ["created", "alice", b.id, "2026-07-15T09:00:00.000Z"],
      ["created", "alice", a.id, "2026-07-15T09:00:00.000Z"],
    ]);
    const [deleted, reordered, enabled, disabled] = changes;
    expect(disabled).toMatchObject({
      before: { name: "a", enabled: true },
      after: { name: "a", enabled: false },
    });
    expect(enabled).toMatchObject({
      before: { enabled: false },
      after: { enabled: true, updated_by: "carol" },
    });
    expect(reordered).toMatchObject({ before: [a.id, b.id], after: [b.id, a.id] });
    expect(deleted).toMatchObject({ before: { id: b.id, name: "b", position: 1 }, after: null });
    // Each change moved the rule set's version by one.
    const versions = changes.map((c) => c.version).reverse();
    expect(versions.slice(1).map((v, i) => v - versions[i]!)).toEqual([1, 1, 1, 1, 1]);
  });

  it("records a weekly window's extend (the occurrence's new end) and cancel: who, when, before and after", async () => {
    const { window } = await createMaintenanceWindow(
      ctx(),
      {
        name: "nightly batch",
        reason: "batch",
        owner: "ops",
        action: "suppress",
        schedule: {
          kind: "weekly",
          zone: "America/New_York",
          weekdays: [3],
          startTime: "06:00",
          durationMinutes: 60,
          from: new Date("2026-07-01T00:00:00Z"),
          until: null,
        },
        scope: { serviceIds: [], labelMatchers: ['job="batch"'], cel: "" },
      },
      "alice",
    );
    // 06:00 EDT = 10:00Z.
    clock.set("2026-07-15T10:30:00Z");
    await extendMaintenanceWindow(ctx(), window.id, new Date("2026-07-15T12:00:00Z"), "bob");
    clock.set("2026-07-15T11:00:00Z");
    await cancelMaintenanceWindow(ctx(), window.id, "carol");

    const changes = await listMaintenanceWindowChanges(ctx(), { windowId: window.id, limit: 10 });
    expect(changes.map((c) => [c.change, c.actor, c.createdAt.toISOString()])).toEqual([
      ["cancelled", "carol", "2026-07-15T11:00:00.000Z"],
      ["extended", "bob", "2026-07-15T10:30:00.000Z"],
      ["created", "alice", "2026-07-15T09:00:00.000Z"],
    ]);
    const [cancelled, extended] = changes;
    expect((extended!.before as { schedule: Record<string, unknown> }).schedule.extension).toBeUndefined();
    expect(extended!.after).toMatchObject({
      schedule: {
        kind: "weekly",
        durationMinutes: 60,
        extension: { occurrenceStart: "2026-07-15T10:00:00.000Z", endAt: "2026-07-15T12:00:00.000Z" },
      },
    });
    expect(cancelled).toMatchObject({ before: { cancelled_at: null } });
    expect((cancelled!.after as { cancelled_at: string }).cancelled_at).toMatch(/^2026-07-15T11:00:00/);
  });
});
