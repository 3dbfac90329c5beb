/**
 * Shared validation for the webhook parsers: every failure is a ValidationError whose `field` is a
 * dotted path into the request body (`alerts[3].labels.team`), so the 400 says what to fix.
 */
import { ValidationError } from "../errors.ts";
import type { AlertLink } from "./alert-input.ts";
import {
  MAX_ANNOTATION_VALUE_LENGTH,
  MAX_ANNOTATIONS_PER_ALERT,
  MAX_DEDUP_KEY_LENGTH,
  MAX_JSON_DEPTH,
  MAX_LABEL_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS_PER_ALERT,
  MAX_URL_LENGTH,
} from "./limits.ts";

export type JsonRecord = Record<string, unknown>;

/** The field name used when the whole body is at fault. */
export const BODY = "body";

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_KEY_IN_PATH = 64;

/**
 * The path of `key` inside `parent`: `alerts[3]`, `alerts[3].labels`, `labels["app.kubernetes.io/name"]`.
 * Long keys are cut so that an error message stays readable.
 */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  if (key.length > MAX_KEY_IN_PATH) return `${parent}[${JSON.stringify(truncate(key, MAX_KEY_IN_PATH + 1))}]`;
  if (IDENTIFIER.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** NUL or any UTF-16 surrogate (paired ones are fine, but rare enough to check exactly). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what it looks for.
const SUSPECT_CHARACTERS = /[\u0000\ud800-\udfff]/;

/**
 * Rejects a parsed JSON document that is nested deeper than `maxDepth` or holds text Postgres
 * cannot store (NUL characters, unpaired UTF-16 surrogates from `\ud800` escapes), in keys or values.
 * The walk stops at the depth limit, so it is safe on any input; call it before anything recursive.
 *
 * @example assertJsonLimits(JSON.parse(body)) // throws ValidationError("alerts[0].labels", ...)
 */
export function assertJsonLimits(value: unknown, field = "", maxDepth = MAX_JSON_DEPTH): void {
  // Keys of the node being looked at; the dotted path is only composed for an error message
  // (composing it for every node cost more than the checks themselves).
  const keys: (string | number)[] = [];
  const here = () => keys.reduce<string>((path, key) => fieldPath(path, key), field) || BODY;
  walk(value, 1);

  function walk(node: unknown, depth: number): void {
    if (typeof node === "string") {
      checkText(node);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    if (depth > maxDepth) throw new ValidationError(here(), `nested deeper than ${maxDepth} levels`);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        keys.push(i);
        walk(node[i], depth + 1);
        keys.pop();
      }
      return;
    }
    for (const key of Object.keys(node)) {
      keys.push(key);
      checkText(key);
      walk((node as JsonRecord)[key], depth + 1);
      keys.pop();
    }
  }

  function checkText(text: string): void {
    // One scan finds the rare suspects; only they get the exact checks.
    if (!SUSPECT_CHARACTERS.test(text)) return;
    if (text.includes("\u0000")) throw new ValidationError(here(), "must not contain NUL characters");
    if (!text.isWellFormed()) throw new ValidationError(here(), "must be well-formed Unicode");
  }
}

/** `value` as an object, or a ValidationError naming `field`. */
export function requireRecord(value: unknown, field: string): JsonRecord {
  if (!isRecord(value)) throw new ValidationError(field, `must be an object, got ${typeName(value)}`);
  return value;
}

/** A required, non-blank string of at most `maxLength` characters, trimmed. */
export function requireString(value: unknown, field: string, maxLength: number): string {
  const text = optionalString(value, field, maxLength)?.trim();
  if (!text) throw new ValidationError(field, "is required");
  return text;
}

/** A string of at most `maxLength` characters, or undefined when absent (`undefined` or `null`). */
export function optionalString(value: unknown, field: string, maxLength: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ValidationError(field, `must be a string, got ${typeName(value)}`);
  checkLength(value, field, maxLength);
  return value;
}

export function checkLength(value: string, field: string, maxLength: number): void {
  if (value.length > maxLength) {
    throw new ValidationError(field, `is ${value.length} characters long; at most ${maxLength} are allowed`);
  }
}

/** A dedup key given by the sender: trimmed; blank counts as absent. */
export function optionalDedupKey(value: unknown, field: string): string | undefined {
  return optionalString(value, field, MAX_DEDUP_KEY_LENGTH)?.trim() || undefined;
}

/** An id that senders write as a number or a string (Grafana's `ruleId`, `orgId`...). */
export function optionalId(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string" && value.length <= 64) return value;
  throw new ValidationError(field, "must be an integer or a string of at most 64 characters");
}

export interface StringMapLimits {
  /** What the entries are called in messages: "labels", "annotations". */
  noun: string;
  maxEntries: number;
  maxKeyLength: number;
  maxValueLength: number;
}

export const LABEL_LIMITS: StringMapLimits = {
  noun: "labels",
  maxEntries: MAX_LABELS_PER_ALERT,
  maxKeyLength: MAX_LABEL_KEY_LENGTH,
  maxValueLength: MAX_LABEL_VALUE_LENGTH,
};

export const ANNOTATION_LIMITS: StringMapLimits = {
  noun: "annotations",
  maxEntries: MAX_ANNOTATIONS_PER_ALERT,
  maxKeyLength: MAX_LABEL_KEY_LENGTH,
  maxValueLength: MAX_ANNOTATION_VALUE_LENGTH,
};

/**
 * An object of string values (labels, annotations, tags), checked against `limits`; absent or null
 * is an empty map. The entry count is checked before any entry is looked at.
 */
export function stringMap(value: unknown, field: string, limits: StringMapLimits): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    throw new ValidationError(field, `must be an object of string values, got ${typeName(value)}`);
  }
  const keys = Object.keys(value);
  if (keys.length > limits.maxEntries) {
    throw new ValidationError(
      field,
      `has ${keys.length} ${limits.noun}; at most ${limits.maxEntries} are allowed`,
    );
  }
  const map: Record<string, string> = {};
  for (const key of keys) {
    if (key === "") throw new ValidationError(field, `${limits.noun} must not have an empty name`);
    if (key.length > limits.maxKeyLength) {
      throw new ValidationError(
        fieldPath(field, key),
        `name is ${key.length} characters long; at most ${limits.maxKeyLength}`,
      );
    }
    const entry = value[key];
    if (typeof entry !== "string")
      throw new ValidationError(fieldPath(field, key), `must be a string, got ${typeName(entry)}`);
    if (entry.length > limits.maxValueLength)
      checkLength(entry, fieldPath(field, key), limits.maxValueLength);
    // A "__proto__" label must stay data: assigning it would set the prototype instead.
    if (key === "__proto__")
      Object.defineProperty(map, key, { value: entry, enumerable: true, writable: true, configurable: true });
    else map[key] = entry;
  }
  return map;
}

/** Go's zero time, which Alertmanager and Grafana send as "no end". */
const ZERO_TIME_YEAR = 1;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/**
 * An RFC 3339 / ISO 8601 timestamp (`2026-11-27T12:21:13.938671763Z`, `2015-07-17T08:42:58.315+0000`),
 * or undefined when absent, empty or Go's zero time (`0001-01-01T00:00:00Z`).
 */
export function optionalTimestamp(value: unknown, field: string): Date | undefined {
  const text = optionalString(value, field, 64);
  if (!text) return undefined;
  const match = RFC3339.exec(text);
  if (!match) throw new ValidationError(field, "must be an RFC 3339 timestamp, e.g. 2026-11-27T12:21:13Z");
  const [, year, month, day, hour, minute, second, fraction = "", , sign, offsetHours, offsetMinutes] = match;
  const y = Number(year);
  if (y === ZERO_TIME_YEAR) return undefined;
  const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, "0")) : 0;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps years 0–99 as they are.
  date.setUTCFullYear(y, Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), millis);
  // Out-of-range parts roll over (Feb 30 → Mar 2); a date that does not read back the same is not one.
  if (
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day) ||
    date.getUTCHours() !== Number(hour) ||
    date.getUTCMinutes() !== Number(minute) ||
    date.getUTCSeconds() !== Number(second)
  ) {
    throw new ValidationError(field, "is not a valid date");
  }
  const offset = sign ? (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  return offset ? new Date(date.getTime() - offset * 60_000) : date;
}

/**
 * A link from a URL field: undefined when absent or empty, and also when the URL is not http(s)
 * (such a link is never rendered; the value stays in the raw payload). A non-string or an
 * oversize URL is a ValidationError.
 */
export function optionalLink(href: unknown, field: string, text: string): AlertLink | undefined {
  const url = optionalString(href, field, MAX_URL_LENGTH)?.trim();
  if (!url) return undefined;
  const parsed = URL.parse(url);
  if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") return undefined;
  return { href: url, text };
}

/**
 * Cuts text that we compose ourselves (a fallback summary) to `maxLength`, never splitting a
 * surrogate pair. Text the sender wrote is rejected when too long, not cut.
 */
export function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let end = maxLength - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
