/**
 * Structured matchers: one field of the alert, one operator, a value. Compiled once into a predicate.
 *
 * Semantics (chosen to agree with Alertmanager, so Prometheus-style matchers map one to one):
 * - a missing label/annotation fails every positive operator and passes the negative ones
 *   (`not_equals`, `not_regex`, `not_in`, `not_exists`): "env != prod" holds for an alert without `env`;
 * - `regex`/`not_regex` are RE2 (linear time, no backreferences or lookaround) and anchored: the pattern
 *   must match the whole value, as `=~`/`!~` in Prometheus (write `.*disk.*` for "contains");
 * - `greater_than`/`less_than` compare numbers; a value that is not a number does not match.
 * Comparisons are case-sensitive.
 */
import { RE2JS } from "re2js";
import { ValidationError } from "../errors.ts";
import { MATCH_OPERATORS, type Matcher, type RequiredValue, type RoutableAlert } from "./model.ts";

export const MAX_MATCHERS = 32;
export const MAX_MATCH_VALUES = 100;
export const MAX_MATCH_VALUE_LENGTH = 1024;
export const MAX_REGEX_LENGTH = 512;
export const MAX_NAME_LENGTH = 256;

export type AlertPredicate = (alert: RoutableAlert) => boolean;

/** Compiles an RE2 pattern (length-capped), or a ValidationError on `field`. */
export function compileRegex(pattern: string, field: string): RE2JS {
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw new ValidationError(field, `a regular expression is at most ${MAX_REGEX_LENGTH} characters`);
  }
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new ValidationError(field, `invalid regular expression (RE2 syntax): ${describeRegexError(error)}`);
  }
}

export function describeRegexError(error: unknown): string {
  if (
    error &&
    typeof error === "object" &&
    "getDescription" in error &&
    typeof error.getDescription === "function"
  ) {
    return String(error.getDescription());
  }
  return error instanceof Error ? error.message : String(error);
}

/** Strictly numeric: "3", "-1.5", "1e3"; not "", " ", "0x10", "3 apples". */
export function parseNumber(value: string): number | undefined {
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function readerFor(matcher: Matcher, field: string): (alert: RoutableAlert) => string | undefined {
  const f = matcher.field;
  switch (f?.kind) {
    case "label":
    case "annotation": {
      if (typeof f.name !== "string" || f.name === "") {
        throw new ValidationError(`${field}.field.name`, `a ${f.kind} name is required`);
      }
      if (f.name.length > MAX_NAME_LENGTH) {
        throw new ValidationError(`${field}.field.name`, `at most ${MAX_NAME_LENGTH} characters`);
      }
      const name = f.name;
      return f.kind === "label"
        ? (alert) => (Object.hasOwn(alert.labels, name) ? alert.labels[name] : undefined)
        : (alert) => (Object.hasOwn(alert.annotations, name) ? alert.annotations[name] : undefined);
    }
    case "severity":
      return (alert) => alert.severity;
    case "source":
      return (alert) => alert.source;
    case "service":
      return (alert) => alert.serviceId;
    case "summary":
      return (alert) => alert.summary;
    default:
      throw new ValidationError(
        `${field}.field`,
        "must be a label or annotation (with a name), severity, source, service or summary",
      );
  }
}

function requireValue(matcher: Matcher, field: string): string {
  const value = matcher.value;
  if (typeof value !== "string")
    throw new ValidationError(`${field}.value`, `required for ${matcher.operator}`);
  if (value.length > MAX_MATCH_VALUE_LENGTH) {
    throw new ValidationError(`${field}.value`, `at most ${MAX_MATCH_VALUE_LENGTH} characters`);
  }
  return value;
}

function requireValues(matcher: Matcher, field: string): ReadonlySet<string> {
  const values = matcher.values;
  if (!Array.isArray(values) || values.length === 0) {
    throw new ValidationError(`${field}.values`, `at least one value is required for ${matcher.operator}`);
  }
  if (values.length > MAX_MATCH_VALUES) {
    throw new ValidationError(`${field}.values`, `at most ${MAX_MATCH_VALUES} values`);
  }
  values.forEach((v, i) => {
    if (typeof v !== "string") throw new ValidationError(`${field}.values[${i}]`, "must be a string");
    if (v.length > MAX_MATCH_VALUE_LENGTH) {
      throw new ValidationError(`${field}.values[${i}]`, `at most ${MAX_MATCH_VALUE_LENGTH} characters`);
    }
  });
  return new Set(values);
}

function requireNumber(matcher: Matcher, field: string): number {
  const n = parseNumber(requireValue(matcher, field));
  if (n === undefined)
    throw new ValidationError(`${field}.value`, `must be a number for ${matcher.operator}`);
  return n;
}

/** Compiles one matcher (`field` names it, e.g. "matchers[2]"), or throws a ValidationError. */
export function compileMatcher(matcher: Matcher, field: string): AlertPredicate {
  const read = readerFor(matcher, field);
  switch (matcher.operator) {
    case "equals": {
      const value = requireValue(matcher, field);
      return (a) => read(a) === value;
    }
    case "not_equals": {
      const value = requireValue(matcher, field);
      return (a) => read(a) !== value;
    }
    case "contains": {
      const value = requireValue(matcher, field);
      return (a) => read(a)?.includes(value) === true;
    }
    case "starts_with": {
      const value = requireValue(matcher, field);
      return (a) => read(a)?.startsWith(value) === true;
    }
    case "ends_with": {
      const value = requireValue(matcher, field);
      return (a) => read(a)?.endsWith(value) === true;
    }
    case "regex": {
      const regex = compileRegex(requireValue(matcher, field), `${field}.value`);
      return (a) => {
        const v = read(a);
        return v !== undefined && regex.testExact(v);
      };
    }
    case "not_regex": {
      const regex = compileRegex(requireValue(matcher, field), `${field}.value`);
      return (a) => {
        const v = read(a);
        return v === undefined || !regex.testExact(v);
      };
    }
    case "in": {
      const values = requireValues(matcher, field);
      return (a) => {
        const v = read(a);
        return v !== undefined && values.has(v);
      };
    }
    case "not_in": {
      const values = requireValues(matcher, field);
      return (a) => {
        const v = read(a);
        return v === undefined || !values.has(v);
      };
    }
    case "exists":
      return (a) => read(a) !== undefined;
    case "not_exists":
      return (a) => read(a) === undefined;
    case "greater_than": {
      const bound = requireNumber(matcher, field);
      return (a) => {
        const v = read(a);
        const n = v === undefined ? undefined : parseNumber(v);
        return n !== undefined && n > bound;
      };
    }
    case "less_than": {
      const bound = requireNumber(matcher, field);
      return (a) => {
        const v = read(a);
        const n = v === undefined ? undefined : parseNumber(v);
        return n !== undefined && n < bound;
      };
    }
    default:
      throw new ValidationError(`${field}.operator`, `must be one of ${MATCH_OPERATORS.join(", ")}`);
  }
}

/**
 * What an `equals` matcher requires of the alert (see RequiredValue), for a rule index; undefined
 * for other operators. Call after compileMatcher accepted the matcher.
 */
export function requiredValueOf(matcher: Matcher): RequiredValue | undefined {
  if (matcher.operator !== "equals" || typeof matcher.value !== "string") return undefined;
  const f = matcher.field;
  const value = matcher.value;
  switch (f.kind) {
    case "label":
    case "annotation": {
      const name = f.name;
      const map = f.kind === "label" ? "labels" : "annotations";
      // A missing label fails `equals`: null (the CEL reader of the same label cannot tell: its own key).
      return {
        key: `${map}=${name}`,
        read: (a) => (Object.hasOwn(a[map], name) ? (a[map][name] as string) : null),
        value,
      };
    }
    case "severity":
      return { key: "severity", read: (a) => a.severity, value };
    case "source":
      return { key: "source", read: (a) => a.source, value };
    case "service":
      return { key: "serviceId", read: (a) => a.serviceId, value };
    case "summary":
      return { key: "summary", read: (a) => a.summary, value };
    default:
      return undefined;
  }
}
