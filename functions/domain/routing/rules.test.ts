import { describe, expect, it } from "vitest";
import type { MaintenanceVerdict } from "../maintenance/model.ts";
import { compileCondition } from "./conditions.ts";
import type { Condition, RoutableAlert } from "./model.ts";
import {
  type CompiledRule,
  checkRuleShape,
  conditionError,
  decideRouting,
  evaluateRules,
  firstMissingReference,
  indexRules,
  labelChanges,
  type RuleAction,
  type RuleDraft,
  referencesOf,
} from "./rules.ts";

const now = new Date("2026-11-30T14:00:00Z");
const service = "11111111-1111-4111-8111-111111111111";
const otherService = "22222222-2222-4222-8222-222222222222";

const alert = (overrides: Partial<RoutableAlert> = {}): RoutableAlert => ({
  serviceId: service,
  summary: "disk full",
  details: "",
  severity: "critical",
  source: "alertmanager",
  dedupKey: "k",
  labels: { team: "db", env: "prod" },
  annotations: {},
  createdAt: now,
  ...overrides,
});

let nextId = 0;
function compiledRule(
  condition: Condition,
  actions: RuleAction[],
  extra: Partial<CompiledRule> = {},
  idPrefix = "r",
): CompiledRule {
  const compiled = compileCondition(condition, { calendars: [] });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
  nextId++;
  return {
    id: `${idPrefix}${nextId}`,
    name: `rule ${nextId}`,
    enabled: true,
    terminal: false,
    actions,
    condition: compiled.condition,
    ...extra,
  };
}

const rule = (cel: string, actions: RuleAction[], extra: Partial<CompiledRule> = {}): CompiledRule =>
  compiledRule({ matchers: [], cel }, actions, extra);

const route = (policyId: string): RuleAction => ({ kind: "route", policyId });
const none: MaintenanceVerdict = { action: "none" };

describe("evaluateRules", () => {
  it("walks rules in order; disabled, out of scope, errors and not-matched are told apart", () => {
    const rules = [
      rule('alert.severity == "critical"', [route("A")], { id: "a" }),
      rule("true", [route("B")], { id: "b", enabled: false }),
      rule("true", [route("C")], { id: "c", serviceIds: [otherService] }),
      rule("alert.labels.missing == 'x'", [route("D")], { id: "d" }),
      rule('alert.severity == "info"', [route("E")], { id: "e" }),
    ];
    const result = evaluateRules(rules, alert(), now);
    expect(result.results.map((r) => [r.ruleId, r.outcome])).toEqual([
      ["a", "matched"],
      ["b", "disabled"],
      ["c", "out_of_scope"],
      ["d", "error"],
      ["e", "not_matched"],
    ]);
    expect(result.results[3]?.message).toMatch(/missing/); // the evaluation error names the absent label
    expect(result.actions).toEqual([{ ruleId: "a", action: route("A") }]);
    expect(result.evaluated).toBe(3);
  });

  it("stops after a terminal match: later rules are not reached", () => {
    const rules = [
      rule("true", [{ kind: "set_severity", severity: "info" }], { id: "first" }),
      rule("true", [route("A")], { id: "stop", terminal: true }),
      rule("true", [route("B")], { id: "after" }),
    ];
    const result = evaluateRules(rules, alert(), now);
    expect(result.results.map((r) => r.outcome)).toEqual(["matched", "matched", "not_reached"]);
    expect(result.actions.map((a) => a.ruleId)).toEqual(["first", "stop"]);
  });

  it("routes on what matched so far when the alert's budget is spent", () => {
    let checks = 0;
    const budget = { maxRules: 100, overTime: () => ++checks > 1 };
    const rules = [rule("true", [route("A")]), rule("true", [route("B")]), rule("true", [route("C")])];
    const result = evaluateRules(rules, alert(), now, budget);
    expect(result.budgetExhausted).toBe(true);
    expect(result.results.map((r) => r.outcome)).toEqual(["matched", "matched", "not_reached"]);
    expect(evaluateRules(rules, alert(), now, { maxRules: 1, overTime: () => false }).evaluated).toBe(1);
  });

  it("reports a draft rule that does not compile as that rule's error", () => {
    const broken: CompiledRule = {
      ...rule("true", [route("A")]),
      condition: { problem: "cel: syntax error" },
    };
    expect(evaluateRules([broken], alert(), now).results[0]).toMatchObject({
      outcome: "error",
      message: "cel: syntax error",
    });
  });
});

describe("indexRules", () => {
  const withMatchers = (
    matchers: Condition["matchers"],
    cel: string | undefined,
    actions: RuleAction[],
    extra: Partial<CompiledRule> = {},
  ): CompiledRule => compiledRule({ matchers, ...(cel ? { cel } : {}) }, actions, extra, "x");
  const team = (value: string) => ({
    field: { kind: "label" as const, name: "team" },
    operator: "equals" as const,
    value,
  });
  // Conditions of every kind an index reads or cannot read, enabled or not, in scope or not.
  const rules: CompiledRule[] = [
    withMatchers([team("db")], undefined, [route("A")]),
    withMatchers([], 'alert.severity == "critical" && alert.label("env", "") == "prod"', [route("B")]),
    withMatchers([], 'alert.labels.env == "staging"', [{ kind: "suppress", reason: "staging" }]),
    withMatchers([], 'has(alert.labels.env) && alert.labels.env == "prod"', [
      { kind: "set_labels", labels: { prod: "yes" } },
    ]),
    withMatchers([team("web")], 'alert.severity == "info"', [route("C")], { terminal: true }),
    withMatchers([], "alert.labels.missing == 'x' || true", [route("D")], { enabled: false }),
    withMatchers([], 'alert.label("team", "none") == "none"', [route("E")], { serviceIds: [otherService] }),
    withMatchers([{ field: { kind: "severity" }, operator: "equals", value: "warning" }], undefined, [
      { kind: "set_severity", severity: "critical" },
    ]),
    withMatchers([], 'alert.labels.team.startsWith("d")', [route("F")]),
    withMatchers([], 'alert.summary == "disk full" && alert.labels.team == "db"', [route("G")], {
      terminal: true,
    }),
    { ...withMatchers([], "true", []), condition: { problem: "cel: no longer compiles" } },
    withMatchers([team("db")], 'alert.labels.env == "prod"', [route("H")]),
  ];
  const alerts = [
    alert(),
    alert({ labels: { team: "web", env: "staging" }, severity: "info" }),
    alert({ labels: { env: "prod" }, severity: "warning" }),
    alert({ labels: {}, severity: "critical", summary: "x" }),
    alert({ labels: { team: "db" }, severity: "info" }),
    alert({ serviceId: otherService, labels: { team: "ops" } }),
  ];

  it("evaluates as evaluateRules does: results, actions, evaluated, budget", () => {
    for (const a of alerts) {
      const index = indexRules(rules, a.serviceId);
      for (const maxRules of [Number.POSITIVE_INFINITY, 0, 1, 3, 6, 11]) {
        const budget = { maxRules, overTime: () => false };
        expect(index.evaluate(a, now, budget)).toEqual(evaluateRules(rules, a, now, budget));
      }
    }
  });

  it("does not run a condition whose required value the alert lacks", () => {
    const runs: string[] = [];
    const counted = (rule: CompiledRule): CompiledRule => {
      const condition = rule.condition;
      if ("problem" in condition) return rule;
      return {
        ...rule,
        condition: {
          ...condition,
          evaluate: (a, at) => {
            runs.push(rule.id);
            return condition.evaluate(a, at);
          },
        },
      };
    };
    const set = [
      counted(withMatchers([team("db")], undefined, [route("A")], { id: "team-db" })),
      counted(withMatchers([], 'alert.severity == "info"', [route("B")], { id: "info" })),
      counted(withMatchers([], 'alert.labels.env == "prod"', [route("C")], { id: "env-prod" })),
      counted(withMatchers([], "alert.summary.contains('disk')", [route("D")], { id: "no-key" })),
    ];
    const index = indexRules(set, service);
    const result = index.evaluate(alert({ labels: { team: "web" }, severity: "critical" }), now);
    // env is missing: CEL would error on alert.labels.env, so that condition runs (and says so).
    expect(runs).toEqual(["env-prod", "no-key"]);
    expect(result.results.map((r) => [r.ruleId, r.outcome])).toEqual([
      ["team-db", "not_matched"],
      ["info", "not_matched"],
      ["env-prod", "error"],
      ["no-key", "matched"],
    ]);
    expect(result.evaluated).toBe(4);
  });

  it("asks the time budget before each condition that runs", () => {
    let checks = 0;
    const set = [
      withMatchers([], "true", [route("A")], { id: "first" }),
      withMatchers([team("web")], undefined, [route("B")], { id: "skipped" }),
      withMatchers([], "true", [route("C")], { id: "second" }),
    ];
    const result = indexRules(set, service).evaluate(alert(), now, {
      maxRules: 100,
      overTime: () => ++checks > 0,
    });
    expect(result.budgetExhausted).toBe(true);
    expect(result.evaluated).toBe(2);
    expect(result.results.map((r) => r.outcome)).toEqual(["matched", "not_matched", "not_reached"]);
    expect(result.actions).toEqual([{ ruleId: "first", action: route("A") }]);
  });
});

describe("labelChanges", () => {
  it("merges set_labels actions in rule order, later rules winning; undefined without any", () => {
    const changes = labelChanges([
      { ruleId: "a", action: { kind: "set_labels", labels: { team: "db", tier: "1" } } },
      { ruleId: "b", action: route("A") },
      { ruleId: "c", action: { kind: "set_labels", labels: { tier: "2" } } },
    ]);
    expect(changes).toEqual({ team: "db", tier: "2" });
    expect(labelChanges([{ ruleId: "b", action: route("A") }])).toBeUndefined();
    // What decideRouting gives: the alert's labels with the changes merged in.
    const decided = decideRouting(
      alert(),
      {
        actions: [
          { ruleId: "a", action: { kind: "set_labels", labels: { team: "web", tier: "1" } } },
          { ruleId: "c", action: { kind: "set_labels", labels: { tier: "2" } } },
        ],
      },
      none,
      null,
    );
    expect(decided.labels).toEqual({ ...alert().labels, team: "web", tier: "2" });
  });
});

describe("decideRouting", () => {
  const decide = (
    actions: RuleAction[],
    maintenance: MaintenanceVerdict = none,
    fallback: string | null = "DEFAULT",
  ) =>
    decideRouting(
      alert(),
      { actions: actions.map((action, i) => ({ ruleId: `r${i}`, action })) },
      maintenance,
      fallback,
    );

  it.each<[string, RuleAction[], string | null, { outcome: string; policyId?: string }]>([
    ["no rule: the service default", [], "DEFAULT", { outcome: "routed", policyId: "DEFAULT" }],
    ["no rule, no default: unrouted", [], null, { outcome: "unrouted" }],
    ["the first route wins", [route("A"), route("B")], "DEFAULT", { outcome: "routed", policyId: "A" }],
    [
      "a direct notification without a route: no escalation",
      [{ kind: "notify_channel", channelId: "slack-ops" }],
      "DEFAULT",
      { outcome: "notified" },
    ],
    [
      "only label changes: still the default",
      [{ kind: "set_labels", labels: { x: "1" } }],
      "DEFAULT",
      { outcome: "routed", policyId: "DEFAULT" },
    ],
    [
      "suppress beats route",
      [route("A"), { kind: "suppress", reason: "staging" }],
      "DEFAULT",
      { outcome: "suppressed" },
    ],
  ])("%s", (_, actions, fallback, expected) => {
    expect(decide(actions, none, fallback)).toMatchObject(expected);
  });

  it("a suppressing maintenance window wins and says which; an annotating one escalates, marked", () => {
    const suppress: MaintenanceVerdict = {
      action: "suppress",
      windowId: "w",
      windowName: "db upgrade",
      reason: "planned",
    };
    expect(decide([route("A")], suppress)).toMatchObject({
      outcome: "suppressed",
      reason: "maintenance window db upgrade: planned",
      notify: [],
    });
    const annotate: MaintenanceVerdict = {
      action: "annotate",
      windowId: "w",
      windowName: "db upgrade",
      reason: "planned",
    };
    expect(decide([route("A")], annotate)).toMatchObject({
      outcome: "routed",
      policyId: "A",
      maintenance: { windowName: "db upgrade" },
    });
  });

  it("applies labels and severity in rule order, keys aggregation on the changed labels, keeps tickets", () => {
    const d = decide([
      { kind: "set_labels", labels: { team: "storage" } },
      { kind: "set_severity", severity: "warning" },
      { kind: "set_severity", severity: "info" },
      { kind: "aggregate", keyLabels: ["team", "nope"], windowSeconds: 300 },
      { kind: "create_ticket", system: "jira", project: "OPS" },
      { kind: "suppress", reason: "noise" },
    ]);
    expect(d.labels).toEqual({ team: "storage", env: "prod" });
    expect(d.severity).toBe("info");
    expect(d.aggregate).toEqual({
      key: JSON.stringify([
        ["team", "storage"],
        ["nope", ""],
      ]),
      windowSeconds: 300,
      ruleId: "r3",
    });
    expect(d.tickets).toEqual([{ system: "jira", project: "OPS", ruleId: "r4" }]);
    expect(d.outcome).toBe("suppressed");
  });

  it("notifies each target once", () => {
    const d = decide([
      { kind: "notify_channel", channelId: "c1" },
      { kind: "notify_channel", channelId: "c1" },
      { kind: "notify_user", userId: "u1" },
      { kind: "notify_schedule", scheduleId: "s1" },
    ]);
    expect(d.notify.map((t) => t.kind)).toEqual(["channel", "user", "schedule"]);
  });
});

describe("rule checks at save", () => {
  const draft = (overrides: Partial<RuleDraft> = {}): RuleDraft => ({
    name: "db critical",
    description: "",
    enabled: true,
    condition: { matchers: [] },
    actions: [route("A")],
    terminal: false,
    ...overrides,
  });

  it.each<[string, Partial<RuleDraft>, string]>([
    ["blank name", { name: " " }, "rule.name"],
    ["no action", { actions: [] }, "rule.actions"],
    ["long CEL", { condition: { matchers: [], cel: "x".repeat(5000) } }, "rule.condition.cel"],
    [
      "empty suppress reason",
      { actions: [{ kind: "suppress", reason: "" }] },
      "rule.actions[0].suppress.reason",
    ],
    [
      "aggregation window out of range",
      { actions: [{ kind: "aggregate", keyLabels: ["a"], windowSeconds: 0 }] },
      "rule.actions[0].aggregate.window_seconds",
    ],
    [
      "bad severity",
      { actions: [{ kind: "set_severity", severity: "loud" as never }] },
      "rule.actions[0].set_severity.severity",
    ],
  ])("refuses %s naming the field", (_, overrides, field) => {
    expect(() => checkRuleShape(draft(overrides), "rule.")).toThrow(expect.objectContaining({ field }));
  });

  it("names the condition's field with line and column for a CEL error", () => {
    const condition: Condition = {
      matchers: [],
      cel: 'alert.severity == "critical" &&\n  alert.labels.team ==',
    };
    const compiled = compileCondition(condition, { calendars: [] });
    expect(compiled.ok).toBe(false);
    if (compiled.ok) return;
    const error = conditionError(compiled.problems, "rule.");
    expect(error.field).toBe("rule.condition.cel");
    expect(error.message).toMatch(/line 2, column \d+/);
  });

  it("finds the first reference that does not exist", () => {
    const rule = draft({
      actions: [route("P1"), { kind: "notify_schedule", scheduleId: "S1" }],
    });
    const refs = referencesOf([rule]);
    expect([...refs.policyIds]).toEqual(["P1"]);
    const existing = {
      policyIds: new Set(["P1"]),
      channelIds: new Set<string>(),
      userIds: new Set<string>(),
      scheduleIds: new Set<string>(),
      templateIds: new Set<string>(),
      serviceIds: new Set<string>(),
    };
    expect(firstMissingReference(rule, existing, "rule.")?.field).toBe(
      "rule.actions[1].notify_schedule.schedule_id",
    );
    existing.scheduleIds.add("S1");
    expect(firstMissingReference(rule, existing, "rule.")).toBeUndefined();
  });

  it("needs the channel a notify_channel action names", () => {
    const rule = draft({ actions: [{ kind: "notify_channel", channelId: "C1" }] });
    const refs = referencesOf([rule]);
    expect([...refs.channelIds]).toEqual(["C1"]);
    const existing = {
      policyIds: new Set<string>(),
      channelIds: new Set<string>(),
      userIds: new Set<string>(),
      scheduleIds: new Set<string>(),
      templateIds: new Set<string>(),
      serviceIds: new Set<string>(),
    };
    const missing = firstMissingReference(rule, existing, "rule.");
    expect(missing?.field).toBe("rule.actions[0].notify_channel.channel_id");
    expect(missing?.message).toMatch(/channel C1 does not exist/);
    existing.channelIds.add("C1");
    expect(firstMissingReference(rule, existing, "rule.")).toBeUndefined();
  });
});
