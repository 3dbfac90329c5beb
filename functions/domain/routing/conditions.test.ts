import { describe, expect, it } from "vitest";
import { MAX_CEL_LENGTH } from "./cel.ts";
import { compileCondition } from "./conditions.ts";
import { MAX_REGEX_LENGTH } from "./matchers.ts";
import type { BusinessCalendar, CompiledCondition, Condition, Matcher, RoutableAlert } from "./model.ts";

const calendars: BusinessCalendar[] = [
  {
    name: "eu-support",
    zone: "Europe/Berlin",
    windows: [{ weekdays: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" }],
    holidays: ["2026-12-25"],
  },
];

const NOW = new Date("2026-07-15T10:00:00Z"); // Wednesday, 12:00 in Berlin, 06:00 in New York

function alertWith(overrides: Partial<RoutableAlert> = {}): RoutableAlert {
  return {
    id: 1,
    serviceId: "svc-db",
    summary: "disk full on db-1",
    details: "/var is at 99%",
    severity: "critical",
    source: "alertmanager",
    dedupKey: "fp-123",
    labels: { team: "db", env: "prod", disk_pct: "99", empty: "" },
    annotations: { runbook: "https://runbooks/disk" },
    createdAt: new Date("2026-07-15T09:59:00Z"),
    ...overrides,
  };
}

function compile(condition: Partial<Condition>): CompiledCondition {
  const result = compileCondition({ matchers: [], ...condition }, { calendars });
  if (!result.ok) throw new Error(`expected to compile: ${JSON.stringify(result.problems)}`);
  return result.condition;
}

function problems(condition: Partial<Condition>) {
  const result = compileCondition({ matchers: [], ...condition }, { calendars });
  if (result.ok) throw new Error("expected problems");
  return result.problems;
}

const label = (name: string) => ({ kind: "label", name }) as const;

describe("structured matchers: every operator", () => {
  it.each<[string, Matcher, boolean]>([
    ["equals", { field: label("team"), operator: "equals", value: "db" }, true],
    ["equals, other value", { field: label("team"), operator: "equals", value: "web" }, false],
    ["equals, missing label", { field: label("nope"), operator: "equals", value: "db" }, false],
    ["equals, empty value present", { field: label("empty"), operator: "equals", value: "" }, true],
    ["not_equals", { field: label("team"), operator: "not_equals", value: "web" }, true],
    ["not_equals, same", { field: label("team"), operator: "not_equals", value: "db" }, false],
    ["not_equals, missing label holds", { field: label("nope"), operator: "not_equals", value: "db" }, true],
    ["contains", { field: { kind: "summary" }, operator: "contains", value: "full" }, true],
    ["contains, case-sensitive", { field: { kind: "summary" }, operator: "contains", value: "FULL" }, false],
    ["contains, missing", { field: label("nope"), operator: "contains", value: "" }, false],
    ["starts_with", { field: { kind: "summary" }, operator: "starts_with", value: "disk" }, true],
    ["starts_with, no", { field: { kind: "summary" }, operator: "starts_with", value: "full" }, false],
    ["ends_with", { field: { kind: "summary" }, operator: "ends_with", value: "db-1" }, true],
    ["ends_with, no", { field: { kind: "summary" }, operator: "ends_with", value: "disk" }, false],
    ["regex, anchored full match", { field: label("team"), operator: "regex", value: "d." }, true],
    ["regex, partial does not match", { field: label("team"), operator: "regex", value: "d" }, false],
    ["regex, alternation", { field: label("env"), operator: "regex", value: "staging|prod" }, true],
    ["regex, missing label", { field: label("nope"), operator: "regex", value: ".*" }, false],
    ["not_regex", { field: label("env"), operator: "not_regex", value: "staging|dev" }, true],
    ["not_regex, matching", { field: label("env"), operator: "not_regex", value: "pr.d" }, false],
    [
      "not_regex, anchored (partial is not a match)",
      { field: label("env"), operator: "not_regex", value: "pr" },
      true,
    ],
    ["not_regex, missing label holds", { field: label("nope"), operator: "not_regex", value: ".*" }, true],
    ["in", { field: { kind: "severity" }, operator: "in", values: ["critical", "error"] }, true],
    ["in, not listed", { field: { kind: "severity" }, operator: "in", values: ["info"] }, false],
    ["in, missing", { field: label("nope"), operator: "in", values: ["x"] }, false],
    ["not_in", { field: { kind: "severity" }, operator: "not_in", values: ["info"] }, true],
    ["not_in, listed", { field: { kind: "severity" }, operator: "not_in", values: ["critical"] }, false],
    ["not_in, missing holds", { field: label("nope"), operator: "not_in", values: ["x"] }, true],
    ["exists", { field: label("team"), operator: "exists" }, true],
    ["exists, empty value counts", { field: label("empty"), operator: "exists" }, true],
    ["exists, missing", { field: label("nope"), operator: "exists" }, false],
    ["exists, prototype key is not a label", { field: label("constructor"), operator: "exists" }, false],
    ["not_exists", { field: label("nope"), operator: "not_exists" }, true],
    ["not_exists, present", { field: label("team"), operator: "not_exists" }, false],
    ["greater_than", { field: label("disk_pct"), operator: "greater_than", value: "90" }, true],
    [
      "greater_than, equal is not",
      { field: label("disk_pct"), operator: "greater_than", value: "99" },
      false,
    ],
    [
      "greater_than, decimal bound",
      { field: label("disk_pct"), operator: "greater_than", value: "98.5" },
      true,
    ],
    [
      "greater_than, non-numeric value",
      { field: label("team"), operator: "greater_than", value: "0" },
      false,
    ],
    ["greater_than, empty value", { field: label("empty"), operator: "greater_than", value: "-1" }, false],
    ["greater_than, missing", { field: label("nope"), operator: "greater_than", value: "0" }, false],
    ["less_than", { field: label("disk_pct"), operator: "less_than", value: "100" }, true],
    ["less_than, no", { field: label("disk_pct"), operator: "less_than", value: "50" }, false],
    ["less_than, non-numeric", { field: label("env"), operator: "less_than", value: "1e9" }, false],
    [
      "annotation equals",
      { field: { kind: "annotation", name: "runbook" }, operator: "starts_with", value: "https://" },
      true,
    ],
    ["source", { field: { kind: "source" }, operator: "equals", value: "alertmanager" }, true],
    ["service", { field: { kind: "service" }, operator: "equals", value: "svc-db" }, true],
  ])("%s", (_name, matcher, expected) => {
    expect(compile({ matchers: [matcher] }).evaluate(alertWith(), NOW)).toEqual({ matched: expected });
  });

  it("all matchers must hold (AND); none means every alert", () => {
    const both = compile({
      matchers: [
        { field: label("team"), operator: "equals", value: "db" },
        { field: { kind: "severity" }, operator: "equals", value: "info" },
      ],
    });
    expect(both.evaluate(alertWith(), NOW).matched).toBe(false);
    expect(both.evaluate(alertWith({ severity: "info" }), NOW).matched).toBe(true);
    expect(compile({}).evaluate(alertWith(), NOW).matched).toBe(true);
  });

  it.each<[string, Matcher, string]>([
    ["no value", { field: label("team"), operator: "equals" }, "matchers[0].value"],
    ["no values", { field: label("team"), operator: "in", values: [] }, "matchers[0].values"],
    ["label without name", { field: label(""), operator: "exists" }, "matchers[0].field.name"],
    ["unknown field", { field: { kind: "colour" } as never, operator: "exists" }, "matchers[0].field"],
    [
      "unknown operator",
      { field: label("team"), operator: "like" as never, value: "x" },
      "matchers[0].operator",
    ],
    ["bad regex", { field: label("team"), operator: "regex", value: "(" }, "matchers[0].value"],
    ["bad not_regex", { field: label("team"), operator: "not_regex", value: "a{2,1}" }, "matchers[0].value"],
    [
      "backreference (not RE2)",
      { field: label("team"), operator: "regex", value: "(a)\\1" },
      "matchers[0].value",
    ],
    ["lookahead (not RE2)", { field: label("team"), operator: "regex", value: "(?=a)" }, "matchers[0].value"],
    [
      "regex too long",
      { field: label("team"), operator: "regex", value: "a".repeat(MAX_REGEX_LENGTH + 1) },
      "matchers[0].value",
    ],
    [
      "non-numeric bound",
      { field: label("disk_pct"), operator: "greater_than", value: "lots" },
      "matchers[0].value",
    ],
  ])("rejects %s naming %s", (_name, matcher, field) => {
    expect(problems({ matchers: [matcher] }).map((p) => p.field)).toEqual([field]);
  });

  it("reports every bad matcher, not only the first", () => {
    const found = problems({
      matchers: [
        { field: label("team"), operator: "equals" },
        { field: label("team"), operator: "equals", value: "ok" },
        { field: label("team"), operator: "regex", value: "[" },
      ],
    });
    expect(found.map((p) => p.field)).toEqual(["matchers[0].value", "matchers[2].value"]);
  });

  it("a hostile regex runs in linear time (RE2: no backtracking)", () => {
    // `(a+)+$` on "aaaa…b" takes exponential time in a backtracking engine (30 a's: minutes in V8).
    const hostile = compile({
      matchers: [{ field: { kind: "summary" }, operator: "regex", value: "(a+)+$" }],
    });
    expect(hostile.evaluate(alertWith({ summary: `${"a".repeat(50_000)}b` }), NOW)).toEqual({
      matched: false,
    });
    expect(hostile.evaluate(alertWith({ summary: "a".repeat(50_000) }), NOW)).toEqual({ matched: true });
  });
});

describe("CEL: variables", () => {
  it.each([
    ['alert.summary == "disk full on db-1"', true],
    ['alert.details.contains("99%")', true],
    ['alert.severity == "critical"', true],
    ['alert.source == "alertmanager"', true],
    ['alert.service == "svc-db"', true],
    ['alert.dedup_key == "fp-123"', true],
    ['alert.labels.team == "db"', true],
    ['alert.labels["env"] == "prod"', true],
    ['alert.annotations.runbook.startsWith("https://")', true],
    ['alert.created_at == timestamp("2026-07-15T09:59:00Z")', true],
    ['now == timestamp("2026-07-15T10:00:00Z")', true],
    ['now - alert.created_at == duration("60s")', true],
    ["int(alert.labels.disk_pct) > 90", true],
    ['alert.labels.exists(k, k.startsWith("dis"))', true],
    ["size(alert.labels) == 4", true],
    ['alert.severity == "info"', false],
  ])("%s → %s", (cel, expected) => {
    expect(compile({ cel }).evaluate(alertWith(), NOW)).toEqual({ matched: expected });
  });
});

describe("CEL: missing labels", () => {
  it.each([
    ["has(alert.labels.team)", true],
    ["has(alert.labels.nope)", false],
    ["!has(alert.labels.nope)", true],
    ["has(alert.labels.constructor)", false], // no prototype keys
    ['has(alert.labels.env) && alert.labels.env == "staging"', false],
    ['alert.label("nope", "none") == "none"', true],
    ['alert.label("team", "none") == "db"', true],
    ['alert.annotation("nope", "") == ""', true],
    ['"nope" in alert.labels', false],
  ])("%s → %s", (cel, expected) => {
    expect(compile({ cel }).evaluate(alertWith(), NOW)).toEqual({ matched: expected });
  });

  it("reading a missing label without has() is not matched, with the error recorded (never thrown)", () => {
    const verdict = compile({ cel: 'alert.labels.nope == "x"' }).evaluate(alertWith(), NOW);
    expect(verdict).toEqual({ matched: false, error: "No such key: nope" });
  });
});

describe("CEL: on-call functions", () => {
  const at = (iso: string) => new Date(iso);
  it.each([
    // NY spring forward 2026-03-08 07:00Z: 01:59 EST → 03:00 EDT
    ['localHour(now, "America/New_York") == 1', "2026-03-08T06:59:00Z", true],
    ['localHour(now, "America/New_York") == 3', "2026-03-08T07:00:00Z", true],
    ['localTime(now, "America/New_York") == "03:00"', "2026-03-08T07:00:00Z", true],
    ['localWeekday(now, "America/New_York") == 7', "2026-03-08T07:00:00Z", true],
    // NY fall back 2026-11-01 06:00Z: 01:59 EDT → 01:00 EST (the hour repeats)
    ['localHour(now, "America/New_York") == 1', "2026-11-01T05:30:00Z", true],
    ['localHour(now, "America/New_York") == 1', "2026-11-01T06:30:00Z", true],
    // Berlin: the local date is not the UTC date just before midnight UTC
    ['localDate(now, "Europe/Berlin") == "2026-07-16"', "2026-07-15T22:30:00Z", true],
    ['localDate(now, "UTC") == "2026-07-15"', "2026-07-15T22:30:00Z", true],
    ['localWeekday(now, "Europe/Berlin") == 4', "2026-07-15T22:30:00Z", true],
    ['localHour(now, "Europe/Berlin") == 3', "2026-03-29T01:00:00Z", true],
    ['localHour(now, "Europe/Berlin") == 2', "2026-10-25T01:30:00Z", true],
    [
      'localTime(now, "Europe/Berlin") >= "09:00" && localTime(now, "Europe/Berlin") < "17:00"',
      "2026-07-15T07:00:00Z",
      true,
    ],
    ['localTime(now, "Europe/Berlin") >= "09:00"', "2026-07-15T06:59:00Z", false],
    ['localHour(alert.created_at, "Europe/Berlin") == 11', "2026-07-15T22:30:00Z", true],
    // Business calendar: Mon–Fri 09:00–17:00 Berlin, 2026-12-25 a holiday
    ['inBusinessHours("eu-support")', "2026-07-15T10:00:00Z", true],
    ['inBusinessHours("eu-support")', "2026-07-15T16:00:00Z", false],
    ['inBusinessHours("eu-support")', "2026-07-18T10:00:00Z", false],
    ['inBusinessHours("eu-support")', "2026-12-25T10:00:00Z", false],
    ['inBusinessHours("eu-support")', "2026-12-24T10:00:00Z", true],
    ['inBusinessHours("eu-support", alert.created_at)', "2026-07-18T10:00:00Z", true],
    ['inBusinessHours("eu-support", timestamp("2026-07-18T10:00:00Z"))', "2026-07-15T10:00:00Z", false],
    ['alert.labels.all(k, inBusinessHours("eu-support"))', "2026-07-15T10:00:00Z", true],
  ])("%s at %s → %s", (cel, iso, expected) => {
    expect(compile({ cel }).evaluate(alertWith(), at(iso))).toEqual({ matched: expected });
  });

  it("reports the calendars an expression names (a delete must not strand the rule)", () => {
    const named = (cel: string) => {
      const result = compileCondition({ matchers: [], cel }, { calendars });
      return result.ok ? result.calendars : result.problems;
    };
    expect(named('inBusinessHours("eu-support") || alert.severity == "critical"')).toEqual(["eu-support"]);
    expect(named('alert.labels.all(k, inBusinessHours("eu-support", now))')).toEqual(["eu-support"]);
    expect(named('alert.severity == "critical"')).toEqual([]);
    expect(compileCondition({ matchers: [] }, { calendars })).toMatchObject({ ok: true, calendars: [] });
  });

  it("matches() uses RE2: a hostile pattern does not backtrack", () => {
    const condition = compile({ cel: 'alert.summary.matches("(a+)+$")' });
    expect(condition.evaluate(alertWith({ summary: `${"a".repeat(50_000)}b` }), NOW)).toEqual({
      matched: false,
    });
    expect(condition.evaluate(alertWith({ summary: "xaaa" }), NOW)).toEqual({ matched: true }); // unanchored, as CEL
  });

  it("matches() with a pattern computed at evaluation is RE2 too (a backreference is an error, not a match)", () => {
    const condition = compile({ cel: "alert.summary.matches(alert.labels.pattern)" });
    expect(condition.evaluate(alertWith({ labels: { pattern: "^disk" } }), NOW)).toEqual({ matched: true });
    const verdict = condition.evaluate(alertWith({ summary: "aa", labels: { pattern: "(a)\\1" } }), NOW);
    expect(verdict.matched).toBe(false);
    expect(verdict.error).toMatch(/RE2/);
  });

  it("a zone or calendar computed at evaluation that is unknown is an evaluation error", () => {
    const zone = compile({ cel: "localHour(now, alert.labels.team) == 1" }).evaluate(alertWith(), NOW);
    expect(zone.matched).toBe(false);
    expect(zone.error).toMatch(/unknown time zone "db"/);
    const calendar = compile({ cel: "inBusinessHours(alert.labels.team)" }).evaluate(alertWith(), NOW);
    expect(calendar).toEqual({ matched: false, error: 'inBusinessHours(): unknown calendar "db"' });
  });
});

describe("CEL: evaluation errors count as not matched, with the message", () => {
  it.each([
    ["int(alert.labels.team) > 1", /int/],
    ["1 / (size(alert.labels) - 4) == 1", /division by zero/i],
    ['alert.labels.nope.startsWith("x")', /No such key: nope/],
    ['dyn(alert.labels.team) == "db" && dyn(1) + dyn("x") == 2', /.+/],
  ])("%s", (cel, message) => {
    const verdict = compile({ cel }).evaluate(alertWith(), NOW);
    expect(verdict.matched).toBe(false);
    expect(verdict.error).toMatch(message);
  });

  it("matchers that fail short-circuit before CEL runs (no error recorded)", () => {
    const condition = compile({
      matchers: [{ field: label("team"), operator: "equals", value: "web" }],
      cel: 'alert.labels.nope == "x"',
    });
    expect(condition.evaluate(alertWith(), NOW)).toEqual({ matched: false });
  });
});

describe("CEL: guards (simple conjuncts read off the alert) answer as CEL does", () => {
  // `!!(…)` hides the conjuncts from the guards: CEL alone evaluates the reference.
  const expressions = [
    'alert.severity == "critical"',
    '"critical" == alert.severity && alert.labels.team == "db"',
    'alert.severity == "warning" && alert.labels.nope.startsWith("x")',
    'alert.labels.nope == "x"',
    'alert.labels.nope == "x" && alert.severity == "warning"',
    'alert.labels.nope == "x" && alert.severity == "critical"',
    'alert.labels["env"] == "prod" && alert.service == "svc-db" && alert.dedup_key == "fp-123"',
    'alert.label("env", "none") == "none" && alert.annotation("runbook", "") != ""',
    'has(alert.labels.env) && alert.labels.env == "prod"',
    'has(alert.labels.constructor) || alert.summary == "disk full on db-1"',
    'has(alert.annotations.runbook) && alert.source == "alertmanager" && alert.details == "/var is at 99%"',
    'alert.labels.team == "db" && int(alert.labels.disk_pct) > 90',
    "alert.labels.team == alert.labels.env",
    'alert.labels.empty == "" && has(alert.labels.empty)',
  ];
  const alerts = [
    alertWith(),
    alertWith({ severity: "warning", labels: { team: "web" }, annotations: {} }),
    alertWith({ labels: { nope: "x", env: "prod", team: "db", disk_pct: "x" } }),
    alertWith({ serviceId: "svc-web", labels: {} }),
  ];
  it.each(expressions)("%s", (cel) => {
    const guarded = compile({ cel });
    const plain = compile({ cel: `!!(${cel})` });
    for (const alert of alerts) expect(guarded.evaluate(alert, NOW)).toEqual(plain.evaluate(alert, NOW));
  });
});

describe("CEL: problems at save name the field and position", () => {
  it.each<[string, string, { line?: number; column?: number; message: RegExp }]>([
    ["syntax", 'alert.severity == "critical" &&', { line: 1, column: 32, message: /Unexpected token/ }],
    [
      "syntax on line 2",
      'alert.severity == "critical"\n  && alert.labels.team ==',
      { line: 2, column: 26, message: /Unexpected/ },
    ],
    ["unknown field", "alert.sevrity == 1", { line: 1, column: 7, message: /No such key: sevrity/ }],
    ["type error", "alert.severity == 1", { line: 1, column: 1, message: /overload/ }],
    ["unknown variable", 'user.name == "x"', { line: 1, column: 1, message: /Unknown variable: user/ }],
    ["not a bool", "alert.summary", { message: /must be a bool/ }],
    [
      "unknown calendar",
      'inBusinessHours("us-support")',
      { line: 1, column: 1, message: /unknown business calendar "us-support"/ },
    ],
    ["calendar of wrong type", "inBusinessHours(1)", { message: /calendar name/ }],
    [
      "unknown zone",
      'localHour(now, "Mars/Base") == 1',
      { line: 1, column: 1, message: /unknown time zone "Mars\/Base"/ },
    ],
    [
      "bad literal regex",
      'alert.summary.matches("(")',
      { line: 1, column: 1, message: /matches\(\): invalid regular expression/ },
    ],
    ["backreference in matches()", 'alert.summary.matches("(a)\\\\1")', { message: /RE2/ }],
    [
      "nested comprehensions",
      "alert.labels.all(k, alert.annotations.exists(a, a == k))",
      { line: 1, column: 21, message: /nested/ },
    ],
    ["too long", `alert.summary == "${"x".repeat(MAX_CEL_LENGTH)}"`, { message: /at most 2048 characters/ }],
    [
      "too many nodes",
      Array.from({ length: 200 }, () => "true").join(" && "),
      { message: /maxAstNodes|AST/i },
    ],
  ])("%s", (_name, cel, expected) => {
    const found = problems({ cel });
    expect(found).toHaveLength(1);
    const problem = found[0]!;
    expect(problem.field).toBe("cel");
    expect(problem.message).toMatch(expected.message);
    if (expected.line !== undefined) expect(problem.line).toBe(expected.line);
    if (expected.column !== undefined) expect(problem.column).toBe(expected.column);
  });

  it("collects matcher, time and CEL problems together", () => {
    const found = problems({
      matchers: [{ field: label("team"), operator: "equals" }],
      time: { zone: "Nowhere/Land", windows: [{ weekdays: [1], start: "09:00", end: "17:00" }] },
      cel: "alert.summary +",
    });
    expect(found.map((p) => p.field)).toEqual(["matchers[0].value", "time.zone", "cel"]);
  });
});

describe("time conditions in a condition", () => {
  const condition = compile({
    matchers: [{ field: { kind: "severity" }, operator: "equals", value: "critical" }],
    time: { zone: "America/New_York", windows: [{ weekdays: [6, 7], start: "00:00", end: "00:00" }] },
  });
  it.each([
    ["Saturday 00:30 in New York (Saturday 04:30Z)", "2026-07-18T04:30:00Z", true],
    ["Friday 23:30 in New York (Saturday 03:30Z)", "2026-07-18T03:30:00Z", false],
    ["Sunday 23:59 in New York", "2026-07-20T03:59:00Z", true],
    ["Monday 00:00 in New York", "2026-07-20T04:00:00Z", false],
  ])("%s → %s", (_name, iso, expected) => {
    expect(condition.evaluate(alertWith(), new Date(iso)).matched).toBe(expected);
  });
});
