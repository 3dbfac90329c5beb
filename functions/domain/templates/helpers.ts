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
      const dt = toDateTime(values[0]);
      if (!dt) return "";
      const zone = text(options.hash.zone) || options.data?.root?.recipient.timeZone || "UTC";
      const format = typeof values[1] === "string" && values[1] ? values[1] : DEFAULT_TIME_FORMAT;
      const zoned = dt.setZone(zone);
      return (zoned.isValid ? zoned : dt).toFormat(format);
    },
    /** {{timeAgo alert.createdAt}} → "18 minutes ago", counted from the context's `now`. */
    timeAgo(...args) {
      const { values, options } = split(args);
      const dt = toDateTime(values[0]);
      const base = toDateTime(options.data?.root?.now);
      if (!dt || !base) return "";
      return dt.toRelative({ base }) ?? "";
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
