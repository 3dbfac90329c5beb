/**
 * Maintenance windows: when they hold (one-off or weekly in a zone), what they cover (services,
 * Prometheus-style label matchers, a CEL condition), and the verdict for an alert. Pure: `now` is
 * passed in; the state (scheduled → active → ended) is computed from the clock, never stored.
 *
 * Weekly windows start at a wall-clock time in their zone and last a fixed duration in real time.
 * A start in a spring-forward gap (02:30 in New York on the change day) begins right after the jump by
 * the gap's length (03:30), a start in a fall-back overlap at its first occurrence (schedules/zone.ts);
 * a 2-hour window that starts at 01:00 on a fall-back day ends at 02:00 standard time (two real hours).
 */
import { ValidationError } from "../errors.ts";
import { compileCondition } from "../routing/conditions.ts";
import type { BusinessCalendar, CompiledCondition, Matcher, RoutableAlert } from "../routing/model.ts";
import { parseTimeOfDay } from "../routing/time-windows.ts";
import {
  DAY_MS,
  epochDayOf,
  MINUTE_MS,
  resolveZone,
  toInstant,
  toLocal,
  weekdayOf,
  type Zone,
} from "../schedules/zone.ts";
import type { MaintenanceAction, MaintenanceVerdict } from "./model.ts";

export const MAX_WINDOW_NAME_LENGTH = 200;
export const MAX_REASON_LENGTH = 2000;
export const MAX_SCOPE_SERVICES = 100;
export const MAX_SCOPE_MATCHERS = 32;
/** A one-off window lasts at most a year; a weekly occurrence at most a week (they may not overlap). */
export const MAX_ONE_OFF_MS = 366 * DAY_MS;
export const MAX_WEEKLY_DURATION_MINUTES = 7 * 24 * 60;

export type MaintenanceSchedule =
  | { readonly kind: "once"; readonly startAt: Date; readonly endAt: Date }
  | {
      readonly kind: "weekly";
      /** IANA zone of the start time. */
      readonly zone: string;
      /** ISO weekdays the window starts on, 1 = Monday … 7 = Sunday. */
      readonly weekdays: readonly number[];
      /** "HH:MM" local. */
      readonly startTime: string;
      readonly durationMinutes: number;
      /** The series begins at (no occurrence before), and ends at (none after; null: open-ended). */
      readonly from: Date;
      readonly until: Date | null;
      /** One occurrence made longer by Extend (the others keep their duration). */
      readonly extension?: OccurrenceExtension | null | undefined;
    };

/** The occurrence that starts at `occurrenceStart` ends at `endAt` instead (later; within a week of its start). */
export interface OccurrenceExtension {
  readonly occurrenceStart: Date;
  readonly endAt: Date;
}

/** What a window covers; all parts present must hold (AND). At least one part is required. */
export interface MaintenanceScope {
  /** Empty: any service. */
  readonly serviceIds: readonly string[];
  /** Prometheus-style: `env="staging"`, `team!="db"`, `instance=~"db-.*"`, `job!~"node|kube"`. */
  readonly labelMatchers: readonly string[];
  /** Empty: none. */
  readonly cel: string;
}

export interface MaintenanceWindowSpec {
  readonly name: string;
  readonly reason: string;
  /** Who answers for it (a user id). */
  readonly owner: string;
  readonly action: MaintenanceAction;
  readonly schedule: MaintenanceSchedule;
  readonly scope: MaintenanceScope;
}

export interface MaintenanceWindow extends MaintenanceWindowSpec {
  readonly id: string;
  /** Set by Cancel: the window ends then (it stays listed as ended). */
  readonly cancelledAt: Date | null;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly updatedAt: Date;
  readonly updatedBy: string;
}

export type MaintenanceState = "scheduled" | "active" | "ended";

export interface WindowTiming {
  readonly state: MaintenanceState;
  /** While active: the current occurrence. */
  readonly currentStart?: Date;
  readonly currentEnd?: Date;
  /** While scheduled: when it starts next. */
  readonly nextStart?: Date;
}

// ── label matchers ────────────────────────────────────────────────────────────────────────────────

const LABEL_MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };

/**
 * A Prometheus-style matcher as a condition Matcher: `=` equals, `!=` not_equals, `=~` regex, `!~`
 * not_regex (regexes anchored, RE2). As in Prometheus, `name=""` means "no such label" (not_exists) and
 * `name!=""` "has the label" (exists).
 */
export function parseLabelMatcher(text: string, field: string): Matcher {
  const m = typeof text === "string" ? LABEL_MATCHER.exec(text) : null;
  if (!m) {
    throw new ValidationError(
      field,
      'must be a label matcher like env="staging", env!="prod", job=~"db-.*" or job!~"x|y"',
    );
  }
  const [, name, op, quoted] = m as unknown as [string, string, string, string];
  let value = "";
  for (let i = 0; i < quoted.length; i++) {
    const c = quoted[i]!;
    if (c !== "\\") {
      value += c;
      continue;
    }
    const next = quoted[++i]!;
    const escaped = ESCAPES[next];
    if (escaped === undefined) throw new ValidationError(field, `unknown escape \\${next} in the value`);
    value += escaped;
  }
  const field_ = { kind: "label", name } as const;
  if (op === "=")
    return value === ""
      ? { field: field_, operator: "not_exists" }
      : { field: field_, operator: "equals", value };
  if (op === "!=")
    return value === ""
      ? { field: field_, operator: "exists" }
      : { field: field_, operator: "not_equals", value };
  return { field: field_, operator: op === "=~" ? "regex" : "not_regex", value };
}

// ── validation ────────────────────────────────────────────────────────────────────────────────────

function requireText(value: string, field: string, max: number): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (!text) throw new ValidationError(field, "is required");
  if (text.length > max) throw new ValidationError(field, `at most ${max} characters`);
  return text;
}

/**
 * Checks a window as the API sends it (field names are the proto's: `schedule.one_time.end_time`,
 * `scope.label_matchers[1]`, `scope.cel`) and compiles its scope. Service existence is the use case's
 * check (it needs the database).
 */
export function validateWindowSpec(
  spec: MaintenanceWindowSpec,
  calendars: readonly BusinessCalendar[] = NO_CALENDARS,
): MaintenanceWindowSpec {
  const name = requireText(spec.name, "name", MAX_WINDOW_NAME_LENGTH);
  if ((spec.reason ?? "").length > MAX_REASON_LENGTH) {
    throw new ValidationError("reason", `at most ${MAX_REASON_LENGTH} characters`);
  }
  const owner = requireText(spec.owner, "owner", 200);
  if (spec.action !== "suppress" && spec.action !== "annotate") {
    throw new ValidationError("action", "must be suppress or annotate");
  }
  validateSchedule(spec.schedule);
  compileScope(spec.scope, calendars);
  return { ...spec, name, owner, reason: (spec.reason ?? "").trim() };
}

export function validateSchedule(schedule: MaintenanceSchedule): void {
  if (schedule.kind === "once") {
    const start = schedule.startAt.getTime();
    const end = schedule.endAt.getTime();
    if (end <= start) throw new ValidationError("schedule.one_time.end_time", "must be after start_time");
    if (end - start > MAX_ONE_OFF_MS) {
      throw new ValidationError(
        "schedule.one_time.end_time",
        "a window lasts at most 366 days (use a weekly window)",
      );
    }
    return;
  }
  resolveZone(schedule.zone, "schedule.weekly.time_zone");
  if (schedule.weekdays.length === 0) {
    throw new ValidationError("schedule.weekly.weekdays", "at least one weekday (1 = Monday … 7 = Sunday)");
  }
  schedule.weekdays.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1 || d > 7) {
      throw new ValidationError(
        `schedule.weekly.weekdays[${i}]`,
        `must be 1 (Monday) … 7 (Sunday), got ${d}`,
      );
    }
  });
  parseTimeOfDay(schedule.startTime, "schedule.weekly.start_time");
  if (
    !Number.isInteger(schedule.durationMinutes) ||
    schedule.durationMinutes < 1 ||
    schedule.durationMinutes > MAX_WEEKLY_DURATION_MINUTES
  ) {
    throw new ValidationError(
      "schedule.weekly.duration_minutes",
      `must be 1 … ${MAX_WEEKLY_DURATION_MINUTES} (a week)`,
    );
  }
  if (schedule.until && schedule.until.getTime() <= schedule.from.getTime()) {
    throw new ValidationError("schedule.weekly.until_time", "must be after from_time");
  }
  const extension = schedule.extension;
  if (extension) {
    const length = extension.endAt.getTime() - extension.occurrenceStart.getTime();
    if (length > MAX_WEEKLY_DURATION_MINUTES * MINUTE_MS) {
      throw new ValidationError(
        "end_time",
        `an occurrence lasts at most a week: end it by ${new Date(extension.occurrenceStart.getTime() + MAX_WEEKLY_DURATION_MINUTES * MINUTE_MS).toISOString()}`,
      );
    }
  }
}

/**
 * The weekly schedule with its occurrence active at `now` ending at `endAt` instead (Extend). Only
 * that occurrence changes; the ones after keep the series' duration.
 *
 * `occurrence`: the active one (windowTiming's currentStart/currentEnd; the caller refuses a window
 * with none active).
 *
 * @throws ValidationError (`end_time`) when `endAt` is not after the occurrence's current end or is
 *   more than a week after its start.
 */
export function extendOccurrence(
  schedule: WeeklySchedule,
  occurrence: { readonly start: Date; readonly end: Date },
  endAt: Date,
): WeeklySchedule {
  if (endAt.getTime() <= occurrence.end.getTime()) {
    throw new ValidationError(
      "end_time",
      `must be after the current occurrence's end ${occurrence.end.toISOString()}`,
    );
  }
  const extended = { ...schedule, extension: { occurrenceStart: occurrence.start, endAt } };
  validateSchedule(extended);
  return extended;
}

/** For scopes compiled without the stored calendars (one shared list: one CEL environment). */
const NO_CALENDARS: readonly BusinessCalendar[] = [];

export interface CompiledScope {
  readonly serviceIds: ReadonlySet<string> | null;
  readonly condition: CompiledCondition;
  /** The business calendars its CEL names. */
  readonly calendars: readonly string[];
}

/**
 * Compiles a scope, or a ValidationError naming `scope.…`. `calendars`: the stored business calendars
 * its CEL may name (pass one list object per load: the CEL environment is cached per list).
 */
export function compileScope(
  scope: MaintenanceScope,
  calendars: readonly BusinessCalendar[] = NO_CALENDARS,
): CompiledScope {
  const serviceIds = scope.serviceIds ?? [];
  const labelMatchers = scope.labelMatchers ?? [];
  const cel = (scope.cel ?? "").trim();
  if (serviceIds.length === 0 && labelMatchers.length === 0 && cel === "") {
    throw new ValidationError("scope", "needs at least one service, label matcher or CEL condition");
  }
  if (serviceIds.length > MAX_SCOPE_SERVICES) {
    throw new ValidationError("scope.service_ids", `at most ${MAX_SCOPE_SERVICES} services`);
  }
  if (labelMatchers.length > MAX_SCOPE_MATCHERS) {
    throw new ValidationError("scope.label_matchers", `at most ${MAX_SCOPE_MATCHERS} matchers`);
  }
  const matchers = labelMatchers.map((text, i) => parseLabelMatcher(text, `scope.label_matchers[${i}]`));
  const result = compileCondition({ matchers, ...(cel ? { cel } : {}) }, { calendars });
  if (!result.ok) {
    const problem = result.problems[0]!;
    const matcherIndex = /^matchers\[(\d+)\]/.exec(problem.field)?.[1];
    const field =
      matcherIndex !== undefined ? `scope.label_matchers[${matcherIndex}]` : `scope.${problem.field}`;
    const at = problem.line !== undefined ? ` (line ${problem.line}, column ${problem.column})` : "";
    throw new ValidationError(field, `${problem.message}${at}`);
  }
  return {
    serviceIds: serviceIds.length > 0 ? new Set(serviceIds) : null,
    condition: result.condition,
    calendars: result.calendars,
  };
}

// ── timing ────────────────────────────────────────────────────────────────────────────────────────

export type WeeklySchedule = Extract<MaintenanceSchedule, { kind: "weekly" }>;
// Parsed once per schedule object: verdicts ask every cached window for every alert.
const weeklyCache = new WeakMap<
  WeeklySchedule,
  { zone: Zone; startMinute: number; days: ReadonlySet<number> }
>();
function weeklyParts(schedule: WeeklySchedule) {
  let parts = weeklyCache.get(schedule);
  if (!parts) {
    parts = {
      zone: resolveZone(schedule.zone, "schedule.weekly.time_zone"),
      startMinute: parseTimeOfDay(schedule.startTime, "schedule.weekly.start_time"),
      days: new Set(schedule.weekdays),
    };
    weeklyCache.set(schedule, parts);
  }
  return parts;
}

/** The occurrences of a weekly window that start on local days [firstDay, lastDay], clipped to the series. */
function* weeklyOccurrences(
  schedule: WeeklySchedule,
  firstDay: number,
  lastDay: number,
): Generator<{ start: number; end: number }> {
  const { zone, startMinute, days } = weeklyParts(schedule);
  const from = schedule.from.getTime();
  const until = schedule.until?.getTime() ?? Number.POSITIVE_INFINITY;
  const extendedStart = schedule.extension?.occurrenceStart.getTime();
  for (let day = firstDay; day <= lastDay; day++) {
    if (!days.has(weekdayOf(day) || 7)) continue;
    const start = toInstant(zone, day * DAY_MS + startMinute * MINUTE_MS);
    const clippedStart = Math.max(start, from);
    let end = Math.min(start + schedule.durationMinutes * MINUTE_MS, until);
    // The extended occurrence ends when Extend said, even past the series' end.
    if (clippedStart === extendedStart && clippedStart < end) {
      end = Math.max(end, schedule.extension!.endAt.getTime());
    }
    if (clippedStart < end) yield { start: clippedStart, end };
  }
}

/** When the series holds nothing after: `until`, or the extended occurrence's end if later. */
export function weeklySeriesEnd(schedule: WeeklySchedule): Date | null {
  if (!schedule.until) return null;
  const extended = schedule.extension?.endAt;
  return extended && extended > schedule.until ? extended : schedule.until;
}

/** The window's state at `now`, and its current or next occurrence. */
export function windowTiming(
  window: Pick<MaintenanceWindow, "schedule" | "cancelledAt">,
  now: Date,
): WindowTiming {
  const t = now.getTime();
  const cancelled = window.cancelledAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (cancelled <= t) return { state: "ended" };
  const schedule = window.schedule;
  if (schedule.kind === "once") {
    const start = schedule.startAt.getTime();
    const end = Math.min(schedule.endAt.getTime(), cancelled);
    if (t < start) return { state: "scheduled", nextStart: schedule.startAt };
    if (t < end) return { state: "active", currentStart: schedule.startAt, currentEnd: new Date(end) };
    return { state: "ended" };
  }
  const seriesEnd = weeklySeriesEnd(schedule);
  if (seriesEnd && seriesEnd.getTime() <= t) return { state: "ended" };
  const { zone } = weeklyParts(schedule);
  const today = epochDayOf(toLocal(zone, t));
  // An occurrence lasts at most a week, so one that holds now started within the last 8 local days.
  for (const o of weeklyOccurrences(schedule, today - 8, today)) {
    if (o.start <= t && t < o.end) {
      return {
        state: "active",
        currentStart: new Date(o.start),
        currentEnd: new Date(Math.min(o.end, cancelled)),
      };
    }
  }
  const firstDay = Math.max(today, epochDayOf(toLocal(zone, schedule.from.getTime())));
  for (const o of weeklyOccurrences(schedule, firstDay - 1, firstDay + 8)) {
    if (o.start > t) return { state: "scheduled", nextStart: new Date(o.start) };
  }
  return { state: "ended" };
}

// ── verdict ───────────────────────────────────────────────────────────────────────────────────────

export interface CompiledWindow {
  readonly window: MaintenanceWindow;
  readonly scope: CompiledScope;
}

export function compileWindow(
  window: MaintenanceWindow,
  calendars: readonly BusinessCalendar[] = NO_CALENDARS,
): CompiledWindow {
  return { window, scope: compileScope(window.scope, calendars) };
}

/** Whether the window's scope covers the alert (its time aside). A scope whose CEL errors does not. */
export function scopeCovers(scope: CompiledScope, alert: RoutableAlert, now: Date): boolean {
  if (scope.serviceIds && !scope.serviceIds.has(alert.serviceId)) return false;
  return scope.condition.evaluate(alert, now).matched;
}

// A window's state changes only at its occurrence boundaries: remember it until the next one, so a
// verdict per alert does not recompute weekly occurrences (window objects are replaced, never changed).
const stateMemo = new WeakMap<MaintenanceWindow, { from: number; until: number; active: boolean }>();

function activeAt(window: MaintenanceWindow, now: Date): boolean {
  const t = now.getTime();
  const memo = stateMemo.get(window);
  if (memo && memo.from <= t && t < memo.until) return memo.active;
  const timing = windowTiming(window, now);
  const until = (timing.currentEnd ?? timing.nextStart)?.getTime() ?? Number.POSITIVE_INFINITY;
  stateMemo.set(window, { from: t, until, active: timing.state === "active" });
  return timing.state === "active";
}

/**
 * The verdict for `alert` at `now`: the active windows covering it; `suppress` wins over `annotate`
 * (the stronger promise: "we are working on it, do not page"), then the earliest created.
 */
export function maintenanceVerdict(
  windows: readonly CompiledWindow[],
  alert: RoutableAlert,
  now: Date,
): MaintenanceVerdict {
  let best: MaintenanceWindow | undefined;
  const beats = (a: MaintenanceWindow, b: MaintenanceWindow | undefined) =>
    b === undefined || (a.action !== b.action ? a.action === "suppress" : a.createdAt < b.createdAt);
  for (const { window, scope } of windows) {
    if (!beats(window, best)) continue;
    // Cheapest first: the service, then the clock, then matchers and CEL.
    if (scope.serviceIds && !scope.serviceIds.has(alert.serviceId)) continue;
    if (!activeAt(window, now)) continue;
    if (!scope.condition.evaluate(alert, now).matched) continue;
    best = window;
  }
  if (!best) return { action: "none" };
  return { action: best.action, windowId: best.id, windowName: best.name, reason: best.reason };
}
