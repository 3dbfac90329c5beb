/**
 * CEL conditions (`@marcbachmann/cel-js`): parsed and type-checked once at save, evaluated per alert.
 *
 * Variables
 * - `alert`: `summary`, `details`, `severity`, `source`, `service` (the service id), `dedup_key`,
 *   `labels` and `annotations` (map<string, string>), `created_at` (timestamp). Field names are
 *   snake_case, as in the proto API and CEL's own protobuf convention.
 * - `now`: timestamp, the time the alert is routed (a simulation chooses it).
 *
 * Functions for on-call (zones are IANA names; weekdays ISO 1 = Monday … 7 = Sunday, as time windows):
 * - `localHour(t, zone)` int, `localWeekday(t, zone)` int, `localDate(t, zone)` "YYYY-MM-DD",
 *   `localTime(t, zone)` "HH:MM" (compares as a string: `localTime(now, "Europe/Berlin") >= "09:00"`);
 * - `inBusinessHours("calendar")` (at `now`) and `inBusinessHours("calendar", t)`;
 * - `alert.label("team", "none")` / `alert.annotation("runbook", "")`: the value or the default.
 * A missing label: `has(alert.labels.env)` is false; `alert.labels.env` alone errors (the condition is
 * then not matched and the error recorded), so use `has()` or `alert.label()`.
 *
 * Safety
 * - `matches()` runs on RE2 (linear time) instead of the library's JavaScript RegExp, which backtracks
 *   exponentially on patterns like `(a+)+$`; a literal pattern is checked at save.
 * - Limits at save: expression length, AST nodes and depth (the library's parse limits), and at most one
 *   level of comprehension (`all`, `exists`, `map`, `filter`…), so evaluation costs at most about
 *   (entries of the largest map or list) × (nodes): alerts carry at most 128 labels.
 */
import { Environment } from "@marcbachmann/cel-js";
import { RE2JS } from "re2js";
import { ValidationError } from "../errors.ts";
import { DAY_MS, epochDayOf, MINUTE_MS, resolveZone, toLocal } from "../schedules/zone.ts";
import { compileRegex, describeRegexError, MAX_REGEX_LENGTH } from "./matchers.ts";
import type { BusinessCalendar, ConditionProblem, RequiredValue, RoutableAlert } from "./model.ts";
import { type CompiledCalendar, compileCalendar, inBusinessHours, isoWeekdayOf } from "./time-windows.ts";

export const MAX_CEL_LENGTH = 2048;
export const MAX_CEL_AST_NODES = 300;
export const MAX_CEL_DEPTH = 32;
export const MAX_COMPREHENSION_NESTING = 1;

const TIMESTAMP = "google.protobuf.Timestamp";

/** The `alert` variable. A class, so the library checks it by constructor (no per-evaluation conversion). */
class CelAlert {
  readonly summary: string;
  readonly details: string;
  readonly severity: string;
  readonly source: string;
  readonly service: string;
  readonly dedup_key: string;
  // Maps rather than objects: `has(alert.labels.constructor)` must not find Object.prototype.
  readonly labels: Map<string, string>;
  readonly annotations: Map<string, string>;
  readonly created_at: Date;
  constructor(alert: RoutableAlert) {
    this.summary = alert.summary;
    this.details = alert.details;
    this.severity = alert.severity;
    this.source = alert.source;
    this.service = alert.serviceId;
    this.dedup_key = alert.dedupKey;
    this.labels = new Map(Object.entries(alert.labels));
    this.annotations = new Map(Object.entries(alert.annotations));
    this.created_at = alert.createdAt;
  }
}

// One conversion per alert, shared by every rule that evaluates it.
const celAlerts = new WeakMap<RoutableAlert, CelAlert>();
function celAlertOf(alert: RoutableAlert): CelAlert {
  let converted = celAlerts.get(alert);
  if (!converted) {
    converted = new CelAlert(alert);
    celAlerts.set(alert, converted);
  }
  return converted;
}

function zoneAt(t: Date, zoneName: string): { day: number; minute: number } {
  const local = toLocal(resolveZone(zoneName, "zone"), t.getTime());
  const day = epochDayOf(local);
  return { day, minute: Math.floor((local - day * DAY_MS) / MINUTE_MS) };
}

const pad = (n: number) => String(n).padStart(2, "0");

const regexCache = new Map<string, RE2JS>();
const MAX_CACHED_REGEXES = 256;
/** RE2 for `matches()` with a pattern computed at evaluation (literal patterns are compiled at save). */
function re2For(pattern: string): RE2JS {
  let regex = regexCache.get(pattern);
  if (!regex) {
    if (pattern.length > MAX_REGEX_LENGTH)
      throw new Error(`matches(): pattern longer than ${MAX_REGEX_LENGTH}`);
    try {
      regex = RE2JS.compile(pattern);
    } catch (error) {
      throw new Error(`matches(): invalid regular expression (RE2 syntax): ${describeRegexError(error)}`);
    }
    if (regexCache.size >= MAX_CACHED_REGEXES) regexCache.clear();
    regexCache.set(pattern, regex);
  }
  return regex;
}

const baseEnvironment = new Environment({
  limits: {
    maxAstNodes: MAX_CEL_AST_NODES,
    maxDepth: MAX_CEL_DEPTH,
    maxListElements: 100,
    maxMapEntries: 100,
    maxCallArguments: 8,
  },
})
  .registerType("Alert", {
    ctor: CelAlert,
    fields: {
      summary: "string",
      details: "string",
      severity: "string",
      source: "string",
      service: "string",
      dedup_key: "string",
      labels: "map<string, string>",
      annotations: "map<string, string>",
      created_at: TIMESTAMP,
    },
  })
  .registerVariable("alert", "Alert")
  .registerVariable("now", TIMESTAMP)
  .registerFunction(
    "Alert.label(string, string): string",
    (a: CelAlert, name: string, fallback: string) => a.labels.get(name) ?? fallback,
  )
  .registerFunction(
    "Alert.annotation(string, string): string",
    (a: CelAlert, name: string, fallback: string) => a.annotations.get(name) ?? fallback,
  )
  .registerFunction(`localHour(${TIMESTAMP}, string): int`, (t: Date, zone: string) =>
    BigInt(Math.floor(zoneAt(t, zone).minute / 60)),
  )
  .registerFunction(`localWeekday(${TIMESTAMP}, string): int`, (t: Date, zone: string) =>
    BigInt(isoWeekdayOf(zoneAt(t, zone).day)),
  )
  .registerFunction(`localDate(${TIMESTAMP}, string): string`, (t: Date, zone: string) =>
    new Date(zoneAt(t, zone).day * DAY_MS).toISOString().slice(0, 10),
  )
  .registerFunction(`localTime(${TIMESTAMP}, string): string`, (t: Date, zone: string) => {
    const { minute } = zoneAt(t, zone);
    return `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
  });

/** The functions whose second argument is a zone name, checked at save when it is a literal. */
const ZONE_FUNCTIONS = new Set(["localHour", "localWeekday", "localDate", "localTime"]);

interface CalendarEnvironment {
  readonly environment: Environment;
  readonly calendars: ReadonlyMap<string, CompiledCalendar>;
  readonly problems: readonly ConditionProblem[];
}

/** One environment per calendar list (a child of the base: cloning is cheap, parsing needs the functions). */
const calendarEnvironments = new WeakMap<readonly BusinessCalendar[], CalendarEnvironment>();

function environmentFor(calendarList: readonly BusinessCalendar[]): CalendarEnvironment {
  const known = calendarEnvironments.get(calendarList);
  if (known) return known;
  const calendars = new Map<string, CompiledCalendar>();
  const problems: ConditionProblem[] = [];
  calendarList.forEach((calendar, i) => {
    try {
      calendars.set(calendar.name, compileCalendar(calendar, `calendars[${i}]`));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push({ field: error.field, message: error.message });
    }
  });
  const lookup = (name: string): CompiledCalendar => {
    const calendar = calendars.get(name);
    if (!calendar) throw new Error(`inBusinessHours(): unknown calendar "${name}"`);
    return calendar;
  };
  const environment = baseEnvironment
    .clone()
    .registerFunction(`inBusinessHours(string, ${TIMESTAMP}): bool`, (name: string, t: Date) =>
      inBusinessHours(lookup(name), t.getTime()),
    )
    // The one-argument form reads `now` from the evaluation's variables, which a plain function cannot.
    .registerFunction("inBusinessHours(ast): bool", ({ args }: { args: CelNode[] }) => ({
      name: args[0],
      typeCheck(checker: CelChecker, macro: { name: CelNode }, ctx: unknown) {
        const type = checker.check(macro.name, ctx);
        if (type.name !== "string" && type.name !== "dyn") {
          throw new Error(`inBusinessHours() takes a calendar name (string), got ${type.name}`);
        }
        return checker.boolType;
      },
      evaluate(evaluator: CelEvaluator, macro: { name: CelNode }, ctx: CelContext) {
        const name = evaluator.run(macro.name, ctx);
        if (typeof name !== "string")
          throw new Error("inBusinessHours(): the calendar name must be a string");
        const now = ctx.getValue("now");
        if (!(now instanceof Date)) throw new Error("inBusinessHours(): `now` is not set");
        return inBusinessHours(lookup(name), now.getTime());
      },
    }));
  const made = { environment, calendars, problems };
  calendarEnvironments.set(calendarList, made);
  return made;
}

// The parts of the library's AST and checker this module touches (the library's d.ts leaves them `any`).
interface CelNode {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
  readonly start: number;
  readonly meta?: { alternate?: CelNode; macro?: unknown };
  handle?: (args: unknown[], ...rest: unknown[]) => unknown;
}
interface CelChecker {
  check(node: CelNode, ctx: unknown): { name: string };
  readonly boolType: unknown;
}
interface CelEvaluator {
  run(node: CelNode, ctx: unknown): unknown;
}
interface CelContext {
  getValue(name: string): unknown;
}

function isNode(value: unknown): value is CelNode {
  return (
    typeof value === "object" && value !== null && typeof (value as CelNode).op === "string" && "pos" in value
  );
}

/** 1-based line and column of offset `pos` in `text`. */
function positionOf(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

function problemAt(expression: string, pos: number | undefined, message: string): ConditionProblem {
  return pos === undefined
    ? { field: "cel", message }
    : { field: "cel", message, ...positionOf(expression, pos) };
}

function errorPosition(error: unknown): number | undefined {
  const range = (error as { range?: { start?: number } } | null)?.range;
  return typeof range?.start === "number" ? range.start : undefined;
}

export function errorMessage(error: unknown): string {
  if (error && typeof error === "object" && "summary" in error && typeof error.summary === "string") {
    return error.summary;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Walks the checked AST: counts comprehension nesting, swaps `matches()` onto RE2, checks literal regexes,
 * zones and calendar names. Returns the problems found and the calendars named by a literal.
 */
function inspect(
  root: CelNode,
  expression: string,
  calendars: ReadonlyMap<string, CompiledCalendar>,
): { problems: ConditionProblem[]; named: Set<string> } {
  const problems: ConditionProblem[] = [];
  const named = new Set<string>();
  const literal = (node: unknown): string | undefined =>
    isNode(node) && node.op === "value" && typeof node.args === "string" ? node.args : undefined;

  const visit = (value: unknown, nesting: number): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, nesting);
      return;
    }
    if (!isNode(value)) {
      if (typeof value === "object" && value !== null && value.constructor === Object) {
        for (const item of Object.values(value)) visit(item, nesting);
      }
      return;
    }
    const node = value;
    // A macro expanded into a comprehension keeps the call as `alternate`; the arguments live inside it.
    if (node.meta?.alternate) {
      visit(node.meta.alternate, nesting);
      return;
    }
    let depth = nesting;
    if (node.op === "comprehension") {
      depth++;
      if (depth > MAX_COMPREHENSION_NESTING) {
        problems.push(
          problemAt(
            expression,
            node.start,
            `comprehensions (all, exists, map, filter…) may not be nested more than ${MAX_COMPREHENSION_NESTING} deep (evaluation cost limit)`,
          ),
        );
      }
    }
    if (node.op === "rcall" && Array.isArray(node.args) && node.args[0] === "matches") {
      const pattern = literal((node.args[2] as unknown[])[0]);
      if (pattern !== undefined) {
        try {
          compileRegex(pattern, "cel");
        } catch (error) {
          problems.push(
            problemAt(expression, node.start, errorMessage(error).replace(/^cel: /, "matches(): ")),
          );
        }
      }
      node.handle = (args: unknown[]) => {
        const [input, re] = args;
        if (typeof input !== "string" || typeof re !== "string") throw new Error("matches() takes strings");
        return re2For(re).test(input);
      };
    }
    if (node.op === "call" && Array.isArray(node.args)) {
      const [name, callArgs] = node.args as [string, unknown[]];
      if (ZONE_FUNCTIONS.has(name)) {
        const zone = literal(callArgs[1]);
        if (zone !== undefined) {
          try {
            resolveZone(zone, "zone");
          } catch (error) {
            problems.push(
              problemAt(expression, node.start, `${name}(): ${errorMessage(error).replace(/^zone: /, "")}`),
            );
          }
        }
      }
      if (name === "inBusinessHours") {
        const calendar = literal(callArgs[0]);
        if (calendar !== undefined) named.add(calendar);
        if (calendar !== undefined && !calendars.has(calendar)) {
          const names = [...calendars.keys()].map((n) => JSON.stringify(n)).join(", ") || "none defined";
          problems.push(
            problemAt(expression, node.start, `unknown business calendar "${calendar}" (known: ${names})`),
          );
        }
      }
    }
    visit(node.args, depth);
  };
  visit(root, 0);
  return { problems, named };
}

export type CelProgram = (alert: RoutableAlert, now: Date) => unknown;

export type CelCompileResult =
  /** `calendars`: the business calendars the expression names (literally), for "which rules use it?". */
  | {
      readonly ok: true;
      readonly program: CelProgram;
      readonly calendars: readonly string[];
      /** The `field == "literal"` conjuncts: values the expression needs to be true (see RequiredValue). */
      readonly required: readonly RequiredValue[];
    }
  | { readonly ok: false; readonly problems: readonly ConditionProblem[] };

/** Parses, type-checks and inspects `expression`; problems carry field "cel" and a 1-based position. */
export function compileCel(expression: string, calendarList: readonly BusinessCalendar[]): CelCompileResult {
  if (typeof expression !== "string" || expression.trim() === "") {
    return { ok: false, problems: [{ field: "cel", message: "the expression is empty" }] };
  }
  if (expression.length > MAX_CEL_LENGTH) {
    return { ok: false, problems: [{ field: "cel", message: `at most ${MAX_CEL_LENGTH} characters` }] };
  }
  const { environment, calendars, problems: calendarProblems } = environmentFor(calendarList);
  if (calendarProblems.length > 0) return { ok: false, problems: calendarProblems };

  let parsed: ReturnType<Environment["parse"]>;
  try {
    parsed = environment.parse(expression);
  } catch (error) {
    return { ok: false, problems: [problemAt(expression, errorPosition(error), errorMessage(error))] };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    return {
      ok: false,
      problems: [problemAt(expression, errorPosition(checked.error), errorMessage(checked.error))],
    };
  }
  if (checked.type !== "bool" && checked.type !== "dyn") {
    return {
      ok: false,
      problems: [
        problemAt(expression, 0, `the expression must be a bool (true: matched), not ${checked.type}`),
      ],
    };
  }
  const { problems, named } = inspect(parsed.ast as CelNode, expression, calendars);
  if (problems.length > 0) return { ok: false, problems };
  const evaluate = (alert: RoutableAlert, now: Date) => parsed({ alert: celAlertOf(alert), now });
  const { program, required } = guarded(parsed.ast as CelNode, evaluate);
  return { ok: true, program, calendars: [...named], required };
}

/** What a guard knows of its conjunct for one alert: true, false, or undefined (CEL would error: ask CEL). */
type Guard = (alert: RoutableAlert) => boolean | undefined;

/** The scalar fields of `alert` a guard reads directly (CEL name → RoutableAlert's). */
const SCALAR_FIELDS: Readonly<
  Record<string, "summary" | "details" | "severity" | "source" | "serviceId" | "dedupKey">
> = {
  summary: "summary",
  details: "details",
  severity: "severity",
  source: "source",
  service: "serviceId",
  dedup_key: "dedupKey",
};

/**
 * `evaluate` behind guards: the top-level conjuncts (`a && b && …`) that compare a field of the alert
 * with a string literal (`alert.severity == "critical"`, `alert.labels.team == "db"`,
 * `alert.label("env", "") == "prod"`) or test a label's presence (`has(alert.labels.job)`) are
 * read straight off the alert before CEL runs. One false conjunct makes the whole expression false
 * (CEL's `&&` is false when any side is, errors included), so CEL is skipped; when every conjunct is
 * a guard and all are true, the expression is true. A guard that cannot tell (a missing label read
 * by `alert.labels.x`, which errors in CEL) leaves the answer to CEL, error message included. Most
 * rules of a set fail on such a conjunct for most alerts: a 100-rule evaluation spent most of its
 * time in CEL for them.
 */
function guarded(
  root: CelNode,
  evaluate: (alert: RoutableAlert, now: Date) => unknown,
): { program: (alert: RoutableAlert, now: Date) => unknown; required: RequiredValue[] } {
  const conjuncts: CelNode[] = [];
  const flatten = (node: CelNode): void => {
    if (node.op === "&&" && Array.isArray(node.args) && node.args.length === 2 && node.args.every(isNode)) {
      for (const side of node.args as CelNode[]) flatten(side);
    } else conjuncts.push(node);
  };
  flatten(root);
  const guards = conjuncts.map(guardOf);
  const known = guards.filter((g): g is { guard: Guard; required?: RequiredValue } => g !== undefined);
  const required = known.flatMap((g) => (g.required ? [g.required] : []));
  if (known.length === 0) return { program: evaluate, required };
  const complete = known.length === guards.length;
  const checks = known.map((g) => g.guard);
  return {
    program: (alert, now) => {
      let unsure = false;
      for (const guard of checks) {
        const verdict = guard(alert);
        if (verdict === false) return false;
        if (verdict === undefined) unsure = true;
      }
      return complete && !unsure ? true : evaluate(alert, now);
    },
    required,
  };
}

const isAlert = (node: unknown): boolean => isNode(node) && node.op === "id" && node.args === "alert";
const stringLiteral = (node: unknown): string | undefined =>
  isNode(node) && node.op === "value" && typeof node.args === "string" ? node.args : undefined;

/** `alert.labels` / `alert.annotations` → which map; else undefined. */
function mapOf(node: unknown): "labels" | "annotations" | undefined {
  if (!isNode(node) || node.op !== "." || !Array.isArray(node.args)) return undefined;
  const [object, field] = node.args as [unknown, unknown];
  return isAlert(object) && (field === "labels" || field === "annotations") ? field : undefined;
}

/** How a guard reads a string off the alert; `key` names the reading (RequiredValue.key). */
interface Reader {
  readonly key: string;
  /** Undefined: CEL would error (a missing label read by `alert.labels.x`). */
  readonly read: (alert: RoutableAlert) => string | undefined;
}

/** A reader of the string a node denotes on the alert (undefined from it: CEL would error), if it is one. */
function readerOf(node: unknown): Reader | undefined {
  if (!isNode(node) || !Array.isArray(node.args)) return undefined;
  const args = node.args as unknown[];
  if (node.op === ".") {
    const [object, field] = args;
    if (typeof field !== "string") return undefined;
    if (isAlert(object)) {
      const scalar = Object.hasOwn(SCALAR_FIELDS, field) ? SCALAR_FIELDS[field] : undefined;
      return scalar && { key: scalar, read: (alert) => alert[scalar] };
    }
    const map = mapOf(object);
    return map && mapReader(map, field);
  }
  if (node.op === "[]") {
    const map = mapOf(args[0]);
    const name = stringLiteral(args[1]);
    return map && name !== undefined ? mapReader(map, name) : undefined;
  }
  if (node.op === "rcall" && (args[0] === "label" || args[0] === "annotation") && isAlert(args[1])) {
    const call = args[2];
    if (!Array.isArray(call) || call.length !== 2) return undefined;
    const name = stringLiteral(call[0]);
    const fallback = stringLiteral(call[1]);
    const map = args[0] === "label" ? "labels" : "annotations";
    return name !== undefined && fallback !== undefined
      ? {
          key: `${map}(${JSON.stringify([name, fallback])})`,
          read: (alert) => (Object.hasOwn(alert[map], name) ? alert[map][name] : fallback),
        }
      : undefined;
  }
  return undefined;
}

/** `alert.labels.name` / `alert.labels["name"]`: undefined when missing (CEL errors). */
function mapReader(map: "labels" | "annotations", name: string): Reader {
  return {
    key: `${map}.${name}`,
    read: (alert) => (Object.hasOwn(alert[map], name) ? alert[map][name] : undefined),
  };
}

/** The guard of one conjunct, if it is of a shape a guard reads (see `guarded`), and what it requires. */
function guardOf(node: CelNode): { guard: Guard; required?: RequiredValue } | undefined {
  if (!Array.isArray(node.args)) return undefined;
  const args = node.args as unknown[];
  if (node.op === "==" && args.length === 2) {
    for (const [side, other] of [
      [args[0], args[1]],
      [args[1], args[0]],
    ] as const) {
      const value = stringLiteral(other);
      const reader = value === undefined ? undefined : readerOf(side);
      if (reader && value !== undefined) {
        const { read } = reader;
        return {
          guard: (alert) => {
            const actual = read(alert);
            return actual === undefined ? undefined : actual === value;
          },
          required: { key: reader.key, read, value },
        };
      }
    }
    return undefined;
  }
  if (node.op === "call" && args[0] === "has" && Array.isArray(args[1]) && args[1].length === 1) {
    const [present] = args[1] as unknown[];
    if (!isNode(present) || present.op !== "." || !Array.isArray(present.args)) return undefined;
    const [object, name] = present.args as [unknown, unknown];
    const map = mapOf(object);
    return map && typeof name === "string"
      ? { guard: (alert) => Object.hasOwn(alert[map], name) }
      : undefined;
  }
  return undefined;
}
