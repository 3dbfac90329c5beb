import { DateTime } from "luxon";
import type { RenderContext } from "./context.ts";
import { jsonValue } from "./escape.ts";
import type { PartFormat } from "./model.ts";

/**
 * The fixed helper set (documented in templates/README.md). Every helper is pure: time comes from
 * the context's `now`, the default zone from `recipient.timeZone`. Nothing reads configuration,
 * the environment or the clock. A template that calls any other helper is refused at save.
 */

/** The Handlebars built-ins templates may use (`log`, `helperMissing`… are not among them). */
export const builtinHelpers = ["if", "unless", "each", "with", "lookup"] as const;

export const customHelpers = [
  "formatTime",
  "timeAgo",
  "truncate",
  "upper",
  "lower",
  "default",
  "join",
  "json",
  "label",
  "pluralize",
  "severityEmoji",
  "severityColor",
] as const;

export const allowedHelpers: ReadonlySet<string> = new Set([...builtinHelpers, ...customHelpers]);

/** Block helpers, and which of them change the context of their block. */
export const contextBlockHelpers: ReadonlySet<string> = new Set(["each", "with"]);

/** What Handlebars passes as the last argument of a helper (the parts we use). */
export interface HelperOptions {
  readonly hash: Record<string, unknown>;
  readonly data?: { readonly root?: RenderContext };
}

/** A value that Handlebars does not escape again (Handlebars' SafeString class of the environment). */
export type MakeSafe = (text: string) => unknown;

const DEFAULT_TIME_FORMAT = "yyyy-LL-dd HH:mm ZZZZ";

const severityEmojis: Record<string, string> = {
  critical: "🔴",
  error: "🟠",
  warning: "🟡",
  info: "🔵",
};
const severityHex: Record<string, string> = {
  critical: "#D32F2F",
  error: "#F57C00",
  warning: "#FBC02D",
  info: "#1976D2",
};
/** Adaptive Card colour/style names. */
const severityTeams: Record<string, string> = {
  critical: "attention",
  error: "attention",
  warning: "warning",
  info: "accent",
};

/**
 * Luxon's zone conversion, formatting and relative time go through Intl and cost tens to hundreds
 * of µs a call; their results depend only on their arguments (the time, format, zone, and `now`),
 * so they are remembered. Bounded: cleared when full. A preview re-renders the same times on every
 * keystroke, and a delivery the same alert for every channel and recipient.
 */
const MAX_MEMO_ENTRIES = 4096;
const memo = new Map<string, string>();

function memoized(key: string, compute: () => string): string {
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const value = compute();
  if (memo.size >= MAX_MEMO_ENTRIES) memo.clear();
  memo.set(key, value);
  return value;
}

// Intl formatters cost far more to build than to use: one per zone (offset names) and one for
// relative times, built on first use and kept.
const offsetNameFormats = new Map<string, Intl.DateTimeFormat>();
let relativeFormat: Intl.RelativeTimeFormat | undefined;

/**
 * Luxon's `ZZZZ` (short offset name, "GMT+1") builds a new Intl.DateTimeFormat on every call
 * (~300 µs here, six times the rest of a format); the same name from a cached formatter, as a
 * quoted literal. Other tokens are Luxon's.
 */
function withFastOffsetName(format: string, zone: string, millis: number): string {
  if (!/(^|[^Z])ZZZZ(?!Z)/.test(format) || format.includes("'")) return format;
  let dtf = offsetNameFormats.get(zone);
  if (!dtf) {
    dtf = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" });
    offsetNameFormats.set(zone, dtf);
  }
  const name = dtf.formatToParts(millis).find((p) => p.type === "timeZoneName")?.value ?? "";
  return format.replace(/(^|[^Z])ZZZZ(?!Z)/g, (_m, before: string) => `${before}'${name}'`);
}

const relativeUnits: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "18 minutes ago", "in 2 hours": the largest whole unit (months of 30 days, years of 365). */
function relative(diffMillis: number): string {
  relativeFormat ??= new Intl.RelativeTimeFormat("en", { numeric: "always" });
  for (const [unit, size] of relativeUnits) {
    const count = Math.trunc(diffMillis / size);
    if (count !== 0) return relativeFormat.format(count, unit);
  }
  return relativeFormat.format(0, "second");
}

/** Splits a helper call's arguments from Handlebars' trailing options object. */
function split(args: unknown[]): { values: unknown[]; options: HelperOptions } {
  const options = args[args.length - 1] as HelperOptions;
  return { values: args.slice(0, -1), options };
}

function toDateTime(value: unknown): DateTime | undefined {
  if (value instanceof Date) return DateTime.fromJSDate(value, { zone: "utc" });
  if (typeof value !== "string" || value === "") return undefined;
  const dt = DateTime.fromISO(value, { zone: "utc" });
  return dt.isValid ? dt : undefined;
}

function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === "" ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "number" && Number.isNaN(value))
  );
}

/** The helpers for one format (only `json` differs: a raw JSON value in JSON variants). */
export function createHelpers(
  format: PartFormat,
  makeSafe: MakeSafe,
): Record<(typeof customHelpers)[number], (...args: unknown[]) => unknown> {
  return {
    /** {{formatTime alert.createdAt "ccc d LLL HH:mm" zone="America/New_York"}} */
    formatTime(...args) {
      const { values, options } = split(args);
      const time = values[0] instanceof Date ? values[0].toISOString() : values[0];
      if (typeof time !== "string" || time === "") return "";
      const zone = text(options.hash.zone) || options.data?.root?.recipient.timeZone || "UTC";
      const format = typeof values[1] === "string" && values[1] ? values[1] : DEFAULT_TIME_FORMAT;
      return memoized(`f|${time}|${zone}|${format}`, () => {
        const dt = toDateTime(time);
        if (!dt) return "";
        const zoned = dt.setZone(zone);
        const at = zoned.isValid ? zoned : dt;
        return at.toFormat(withFastOffsetName(format, at.zoneName ?? "UTC", at.toMillis()));
      });
    },
    /** {{timeAgo alert.createdAt}} → "18 minutes ago", counted from the context's `now`. */
    timeAgo(...args) {
      const { values, options } = split(args);
      const time = values[0] instanceof Date ? values[0].toISOString() : values[0];
      const now = options.data?.root?.now;
      if (typeof time !== "string" || typeof now !== "string") return "";
      return memoized(`r|${time}|${now}`, () => {
        const dt = toDateTime(time);
        const base = toDateTime(now);
        return dt && base ? relative(dt.toMillis() - base.toMillis()) : "";
      });
    },
    /** {{truncate alert.summary 80}} → at most 80 characters, "…" included when cut. */
    truncate(...args) {
      const { values } = split(args);
      const chars = Array.from(text(values[0]));
      const max = Math.max(1, Math.floor(Number(values[1]) || 0));
      return chars.length <= max ? chars.join("") : `${chars.slice(0, max - 1).join("")}…`;
    },
    upper(...args) {
      return text(split(args).values[0]).toUpperCase();
    },
    lower(...args) {
      return text(split(args).values[0]).toLowerCase();
    },
    /** {{default alert.source "unknown"}}: the value, or the fallback when it is null, "" or []. */
    default(...args) {
      const { values } = split(args);
      return isEmpty(values[0]) ? values[1] : values[0];
    },
    /** {{join escalation.notified ", "}}: a list (or a map's values) joined. */
    join(...args) {
      const { values } = split(args);
      const list = values[0];
      const separator = typeof values[1] === "string" ? values[1] : ", ";
      if (Array.isArray(list)) return list.map(text).join(separator);
      if (list && typeof list === "object") return Object.values(list).map(text).join(separator);
      return text(list);
    },
    /** {{json alert.labels}}: the value as JSON; in JSON variants a raw JSON value, elsewhere text. */
    json(...args) {
      const encoded = jsonValue(split(args).values[0]);
      return format === "json" ? makeSafe(encoded) : encoded;
    },
    /** {{label alert.labels "team" "unowned"}}: a label's value, or the fallback (default ""). */
    label(...args) {
      const { values } = split(args);
      const labels = values[0];
      const key = text(values[1]);
      if (labels && typeof labels === "object" && Object.hasOwn(labels, key)) {
        return (labels as Record<string, unknown>)[key];
      }
      return values[2] ?? "";
    },
    /** {{pluralize bundle.count "alert"}} → "alert" or "alerts"; a third argument gives the plural. */
    pluralize(...args) {
      const { values } = split(args);
      const singular = text(values[1]);
      const plural = typeof values[2] === "string" ? values[2] : `${singular}s`;
      return Number(values[0]) === 1 ? singular : plural;
    },
    /** {{severityEmoji alert.severity}} → 🔴 🟠 🟡 🔵. */
    severityEmoji(...args) {
      return severityEmojis[text(split(args).values[0])] ?? "⚪";
    },
    /** {{severityColor alert.severity}} → "#D32F2F"; {{severityColor alert.severity "teams"}} → "attention". */
    severityColor(...args) {
      const { values } = split(args);
      const severity = text(values[0]);
      if (values[1] === "teams") return severityTeams[severity] ?? "default";
      return severityHex[severity] ?? "#9E9E9E";
    },
  };
}
