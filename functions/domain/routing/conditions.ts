/**
 * The condition engine: compiles a condition (structured matchers AND a CEL expression AND a time
 * window) once, at save or when a rule set is loaded, into a predicate evaluated per alert. Pure: `now`
 * is passed in. Matchers are documented in ./matchers.ts, CEL in ./cel.ts, time windows in
 * ./time-windows.ts.
 *
 * @example
 * const result = compileCondition(
 *   { matchers: [{ field: { kind: "label", name: "env" }, operator: "equals", value: "staging" }],
 *     cel: 'alert.severity == "critical" && inBusinessHours("eu")' },
 *   { calendars },
 * );
 * if (!result.ok) throw …result.problems; // [{ field: "cel", message, line, column }]
 * result.condition.evaluate(alert, now); // { matched: true } | { matched: false, error? }
 */
import { ValidationError } from "../errors.ts";
import { compileCel, errorMessage } from "./cel.ts";
import { type AlertPredicate, compileMatcher, MAX_MATCHERS, requiredValueOf } from "./matchers.ts";
import type {
  BusinessCalendar,
  CompileResult,
  Condition,
  ConditionProblem,
  ConditionVerdict,
  RequiredValue,
} from "./model.ts";
import { compileTimeCondition, inTimeCondition } from "./time-windows.ts";

export interface CompileOptions {
  /** The business calendars `inBusinessHours()` may name. */
  readonly calendars: readonly BusinessCalendar[];
}

const MATCHED: ConditionVerdict = Object.freeze({ matched: true });
const NOT_MATCHED: ConditionVerdict = Object.freeze({ matched: false });

function problemOf(error: unknown): ConditionProblem {
  if (error instanceof ValidationError) {
    const prefix = `${error.field}: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return { field: error.field, message };
  }
  throw error;
}

/** Compiles `condition`, collecting every problem (each naming its field) rather than the first. */
export function compileCondition(condition: Condition, options: CompileOptions): CompileResult {
  const problems: ConditionProblem[] = [];
  const matchers = condition.matchers ?? [];
  const predicates: AlertPredicate[] = [];
  const required: RequiredValue[] = [];
  if (!Array.isArray(matchers)) {
    problems.push({ field: "matchers", message: "must be a list" });
  } else if (matchers.length > MAX_MATCHERS) {
    problems.push({ field: "matchers", message: `at most ${MAX_MATCHERS} matchers (use CEL for more)` });
  } else {
    matchers.forEach((matcher, i) => {
      try {
        predicates.push(compileMatcher(matcher, `matchers[${i}]`));
        const needs = requiredValueOf(matcher);
        if (needs) required.push(needs);
      } catch (error) {
        problems.push(problemOf(error));
      }
    });
  }

  let time: ReturnType<typeof compileTimeCondition> | undefined;
  if (condition.time !== undefined) {
    try {
      time = compileTimeCondition(condition.time, "time");
    } catch (error) {
      problems.push(problemOf(error));
    }
  }

  let cel: ((alert: Parameters<AlertPredicate>[0], now: Date) => unknown) | undefined;
  let calendars: readonly string[] = [];
  if (condition.cel !== undefined && condition.cel !== "") {
    const compiled = compileCel(condition.cel, options.calendars);
    if (compiled.ok) {
      cel = compiled.program;
      calendars = compiled.calendars;
      required.push(...compiled.required);
    } else problems.push(...compiled.problems);
  }

  if (problems.length > 0) return { ok: false, problems };

  const evaluate = (alert: Parameters<AlertPredicate>[0], now: Date): ConditionVerdict => {
    // Cheapest first: matchers, then the clock, then CEL.
    for (const predicate of predicates) if (!predicate(alert)) return NOT_MATCHED;
    if (time && !inTimeCondition(time, now.getTime())) return NOT_MATCHED;
    if (!cel) return MATCHED;
    let result: unknown;
    try {
      result = cel(alert, now);
    } catch (error) {
      return { matched: false, error: errorMessage(error) };
    }
    if (result === true) return MATCHED;
    if (result === false) return NOT_MATCHED;
    return { matched: false, error: `the expression gave ${typeof result}, not a bool` };
  };
  return { ok: true, condition: { evaluate, required }, calendars };
}
