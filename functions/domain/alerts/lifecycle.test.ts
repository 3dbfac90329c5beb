import { describe, expect, it } from "vitest";
import {
  ALERT_STATUSES,
  type AlertStatus,
  type AlertTransition,
  autoResolveMessage,
  TRANSITIONS,
} from "./lifecycle.ts";

describe("alert lifecycle", () => {
  // [transition, starts from, moves to] — the stores change an alert only from these statuses.
  it.each<[AlertTransition, AlertStatus[], AlertStatus | null]>([
    ["trigger", [], "triggered"],
    ["deduplicate", ["triggered", "acknowledged"], null], // keeps its status
    ["acknowledge", ["triggered"], "acknowledged"],
    ["resolve", ["triggered", "acknowledged"], "resolved"],
    ["auto_resolve", ["triggered", "acknowledged"], "resolved"],
  ])("%s starts from %j and moves to %s", (transition, from, to) => {
    expect(TRANSITIONS[transition].from).toEqual(from);
    expect(TRANSITIONS[transition].to).toBe(to);
  });

  it("owes the routing of a new alert (which starts its escalation); a stop and status updates for every way out of triggered", () => {
    expect(TRANSITIONS.trigger.effects).toEqual(["route"]);
    expect(TRANSITIONS.aggregate.effects).toEqual([]);
    expect(TRANSITIONS.deduplicate.effects).toEqual([]);
    for (const t of ["acknowledge", "resolve", "auto_resolve"] as const) {
      expect(TRANSITIONS[t].effects).toEqual(["escalation.stop", "notifications.status_update"]);
    }
  });

  it("names the log entry of each change and starts only from known statuses", () => {
    expect(Object.fromEntries(Object.entries(TRANSITIONS).map(([t, r]) => [t, r.event]))).toEqual({
      trigger: "created",
      deduplicate: "duplicate_suppressed",
      acknowledge: "acknowledged",
      resolve: "resolved",
      auto_resolve: "resolved",
      aggregate: "aggregated",
    });
    for (const rule of Object.values(TRANSITIONS)) {
      for (const from of rule.from) expect(ALERT_STATUSES).toContain(from);
    }
  });

  it.each([
    [1, "auto-resolved: no signal for more than 1 day"],
    [7, "auto-resolved: no signal for more than 7 days"],
  ])("says why an alert was auto-resolved after %i day(s)", (days, message) => {
    expect(autoResolveMessage(days)).toBe(message);
  });
});
