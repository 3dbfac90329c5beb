/**
 * Routing's shared vocabulary: the alert as rules and maintenance windows see it, and conditions
 * (structured matchers, a CEL expression, a time window; all must hold). The condition engine
 * (./conditions.ts) compiles a condition once and evaluates it per alert; rules (which actions, in
 * which order) and maintenance windows both use it.
 */

/** The alert as conditions see it (CEL variable `alert`). */
export interface RoutableAlert {
  /** Undefined for a sample alert in a simulation. */
  readonly id?: number;
  readonly serviceId: string;
  readonly summary: string;
  readonly details: string;
  readonly severity: string;
  readonly source: string;
  readonly dedupKey: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

export const MATCH_OPERATORS = [
  "equals",
  "not_equals",
  "contains",
  "starts_with",
  "ends_with",
  "regex",
  "not_regex",
  "in",
  "not_in",
  "exists",
  "not_exists",
  "greater_than",
  "less_than",
] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

/** What a matcher looks at. `label`/`annotation` take a name. */
export type MatchField =
  | { readonly kind: "label"; readonly name: string }
  | { readonly kind: "annotation"; readonly name: string }
  | { readonly kind: "severity" }
  | { readonly kind: "source" }
  | { readonly kind: "service" }
  | { readonly kind: "summary" };

export interface Matcher {
  readonly field: MatchField;
  readonly operator: MatchOperator;
  /** For single-value operators (equals … regex/not_regex, greater/less than). */
  readonly value?: string;
  /** For `in` / `not_in`. */
  readonly values?: readonly string[];
}

/** Weekdays 1 = Monday … 7 = Sunday (ISO); times "HH:MM" local to `zone`; end before start spans midnight. */
export interface TimeWindow {
  readonly weekdays: readonly number[];
  readonly start: string;
  readonly end: string;
}

export interface TimeCondition {
  /** IANA zone, e.g. "America/New_York". */
  readonly zone: string;
  /** Holds when `now` is inside any of them. */
  readonly windows: readonly TimeWindow[];
}

/** A named business calendar, for the CEL function that asks "in business hours?". */
export interface BusinessCalendar {
  readonly name: string;
  readonly zone: string;
  readonly windows: readonly TimeWindow[];
  /** "YYYY-MM-DD" local dates that are not business days. */
  readonly holidays: readonly string[];
}

/** All parts present must hold (AND); an empty condition matches every alert. */
export interface Condition {
  readonly matchers: readonly Matcher[];
  readonly cel?: string;
  readonly time?: TimeCondition;
}

/** A problem found when compiling, with its field ("matchers[2].value", "cel") and CEL position. */
export interface ConditionProblem {
  readonly field: string;
  readonly message: string;
  /** 1-based, for CEL errors. */
  readonly line?: number;
  readonly column?: number;
}

/** An evaluation that errors counts as not matched and says why (recorded, never thrown). */
export type ConditionVerdict =
  | { readonly matched: boolean; readonly error?: undefined }
  | { readonly matched: false; readonly error: string };

/**
 * A value a condition needs: unless `read(alert)` equals `value` the condition does not match (and
 * does not error). `read` gives null when the alert has no such value (then it does not match
 * either) and undefined when only evaluating can tell (CEL errors on a missing label). Readers with
 * the same `key` read alike: a rule index reads each key once per alert (see indexRules).
 */
export interface RequiredValue {
  readonly key: string;
  readonly read: (alert: RoutableAlert) => string | null | undefined;
  readonly value: string;
}

export interface CompiledCondition {
  evaluate(alert: RoutableAlert, now: Date): ConditionVerdict;
  /** Values it needs (an `equals` matcher, a `field == "literal"` conjunct of CEL); none: [] or absent. */
  readonly required?: readonly RequiredValue[];
}

export type CompileResult =
  /** `calendars`: the business calendars the CEL expression names (a delete must not strand it). */
  | { readonly ok: true; readonly condition: CompiledCondition; readonly calendars: readonly string[] }
  | { readonly ok: false; readonly problems: readonly ConditionProblem[] };
