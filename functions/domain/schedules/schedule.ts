/**
 * Schedules and overrides: the model, its validation, and rule windows.
 *
 * A schedule has a time zone and rules. Each rule puts a target (a user, or whoever is on call in a
 * rotation) on call during a daily wall-clock window on chosen weekdays, in the schedule's zone:
 * - `start < end`: the window lies within the day;
 * - `end < start`: it crosses midnight and ends the next day (22:00–06:00);
 * - `end == start`: it lasts a whole day from `start` (00:00–00:00 is the calendar day).
 * The weekday is the day the window *starts*. Rules combine by union (GoAlert's model: a primary layer
 * plus, say, a weekend layer). Window edges follow the DST rules of ./zone.ts: an edge in a spring-forward
 * gap moves after the jump by the gap, an edge in a fall-back overlap is its first occurrence.
 *
 * Overrides change who is on call for a time range `[start, end)`. They are applied on top of the rules
 * in a fixed order, whatever the order of their ranges, so overlapping overrides resolve predictably:
 * 1. `replace`, in creation order: if `replacesUserId` is on call, they go off and `userId` comes on;
 *    if not, the override does nothing. A later replace sees the result of earlier ones (A→B then B→C
 *    gives C).
 * 2. `remove`: `userId` goes off call, whatever put them on (a rule or a replace).
 * 3. `add`: `userId` comes on call, even if a remove covers the same time (add wins).
 * "Creation order" is the order of the overrides array: pass them oldest first. (GoAlert applies its
 * overrides in one pass in load order; the phases make the result independent of that order, except
 * for chained replaces.)
 */
import { NotFoundError, ValidationError } from "../errors.ts";
import { type CompiledRotation, compileRotation, type Rotation } from "./rotation.ts";
import { DAY_MS, MINUTE_MS, resolveZone, toInstant, type Zone } from "./zone.ts";

/** 0 = Sunday … 6 = Saturday, as `Date.prototype.getDay`. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;
export type WeekdayName =
  | "sunday"
  | "monday"
  | "tuesday"
  | "wednesday"
  | "thursday"
  | "friday"
  | "saturday"
  | "sun"
  | "mon"
  | "tue"
  | "wed"
  | "thu"
  | "fri"
  | "sat";

export type RuleTarget =
  | { readonly kind: "user"; readonly userId: string }
  | { readonly kind: "rotation"; readonly rotationId: string };

export interface ScheduleRule {
  readonly target: RuleTarget;
  /** Days on which the window starts; numbers or names (case-insensitive). At least one. */
  readonly weekdays: readonly (Weekday | WeekdayName)[] | ReadonlySet<Weekday | WeekdayName>;
  /** Wall-clock `HH:MM` (00:00–23:59) in the schedule's zone. */
  readonly start: string;
  /** Wall-clock `HH:MM`; at or before `start` means the window crosses midnight (equal: a whole day). */
  readonly end: string;
}

export interface Schedule {
  /** IANA zone name in which rule windows are read. */
  readonly timeZone: string;
  readonly rules: readonly ScheduleRule[];
}

/** Puts `userId` on call as well. */
export interface AddOverride {
  readonly kind: "add";
  readonly userId: string;
  readonly start: Date;
  readonly end: Date;
}

/** Takes `userId` off call. */
export interface RemoveOverride {
  readonly kind: "remove";
  readonly userId: string;
  readonly start: Date;
  readonly end: Date;
}

/** `userId` covers for `replacesUserId` while the latter is on call. */
export interface ReplaceOverride {
  readonly kind: "replace";
  readonly userId: string;
  readonly replacesUserId: string;
  readonly start: Date;
  readonly end: Date;
}

export type Override = AddOverride | RemoveOverride | ReplaceOverride;

const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export interface CompiledRule {
  readonly index: number;
  /** Bit d set when the window starts on weekday d. */
  readonly days: number;
  /** Window edges in ms since local midnight. */
  readonly startMs: number;
  readonly endMs: number;
  readonly userId: string | undefined;
  readonly rotation: CompiledRotation | undefined;
}

export interface CompiledSchedule {
  readonly zone: Zone;
  readonly rules: readonly CompiledRule[];
}

export interface CompiledOverride {
  readonly index: number;
  readonly kind: Override["kind"];
  readonly userId: string;
  readonly replacesUserId: string | undefined;
  readonly start: number;
  readonly end: number;
}

function parseWeekday(d: unknown, field: string): number {
  if (typeof d === "number" && Number.isInteger(d) && d >= 0 && d <= 6) return d;
  if (typeof d === "string") {
    const lower = d.toLowerCase();
    const i = DAY_NAMES.findIndex((name) => name === lower || name.slice(0, 3) === lower);
    if (i >= 0) return i;
  }
  throw new ValidationError(
    field,
    "must be a weekday: 0 (Sunday) … 6 (Saturday), or a name such as monday or mon",
  );
}

/** A wall-clock time `HH:MM` as ms after midnight; ValidationError on `field` otherwise. */
export function parseWallClock(s: unknown, field: string): number {
  return parseClock(s, field);
}

function parseClock(s: unknown, field: string): number {
  const m = typeof s === "string" ? HH_MM.exec(s) : null;
  if (!m) throw new ValidationError(field, "must be a wall-clock time HH:MM (00:00–23:59)");
  return (Number(m[1]) * 60 + Number(m[2])) * MINUTE_MS;
}

function requireId(id: unknown, field: string, what: string): string {
  if (typeof id !== "string" || id === "") throw new ValidationError(field, `must be a ${what} id`);
  return id;
}

function compileRules(
  schedule: Schedule,
  resolveRotation: (rotationId: string, field: string) => CompiledRotation | undefined,
): CompiledSchedule {
  if (schedule === null || typeof schedule !== "object") throw new ValidationError("schedule", "is required");
  const zone = resolveZone(schedule.timeZone, "timeZone");
  if (!Array.isArray(schedule.rules)) throw new ValidationError("rules", "must be a list");
  const rules = schedule.rules.map((rule: ScheduleRule, index): CompiledRule => {
    const f = `rules[${index}]`;
    const target = rule?.target;
    let userId: string | undefined;
    let rotation: CompiledRotation | undefined;
    if (target?.kind === "user") {
      userId = requireId(target.userId, `${f}.target.userId`, "user");
    } else if (target?.kind === "rotation") {
      const rotationId = requireId(target.rotationId, `${f}.target.rotationId`, "rotation");
      rotation = resolveRotation(rotationId, `${f}.target.rotationId`);
    } else {
      throw new ValidationError(`${f}.target.kind`, "must be user or rotation");
    }
    const weekdays = rule.weekdays;
    if (!(Array.isArray(weekdays) || weekdays instanceof Set)) {
      throw new ValidationError(`${f}.weekdays`, "must be a list of weekdays");
    }
    let days = 0;
    [...weekdays].forEach((d, i) => {
      days |= 1 << parseWeekday(d, `${f}.weekdays[${i}]`);
    });
    if (days === 0) throw new ValidationError(`${f}.weekdays`, "choose at least one weekday");
    const startMs = parseClock(rule.start, `${f}.start`);
    const endMs = parseClock(rule.end, `${f}.end`);
    return { index, days, startMs, endMs, userId, rotation };
  });
  return { zone, rules };
}

/** Throws the first ValidationError of `schedule` (fields such as `timeZone`, `rules[1].start`), if any. */
export function validateSchedule(schedule: Schedule): void {
  compileRules(schedule, () => undefined);
}

/**
 * Validates `schedule` and resolves the rotations its rules name. A rule naming a rotation missing
 * from `rotations` is a NotFoundError (the store keeps references intact; this catches the gap loudly
 * rather than leaving a layer silently empty). Rotation fields are reported as `rotations[<id>].<field>`.
 */
export function compileSchedule(
  schedule: Schedule,
  rotations: ReadonlyMap<string, Rotation>,
): CompiledSchedule {
  const compiled = new Map<string, CompiledRotation>();
  return compileRules(schedule, (rotationId) => {
    let c = compiled.get(rotationId);
    if (c === undefined) {
      const rotation = rotations.get(rotationId);
      if (rotation === undefined) throw new NotFoundError("rotation", rotationId);
      c = compileRotation(rotation, `rotations[${rotationId}].`);
      compiled.set(rotationId, c);
    }
    return c;
  });
}

/** Validates overrides (fields such as `overrides[2].end`); their order is their creation order. */
export function compileOverrides(overrides: readonly Override[]): CompiledOverride[] {
  if (!Array.isArray(overrides)) throw new ValidationError("overrides", "must be a list");
  return overrides.map((o: Override, index): CompiledOverride => {
    const f = `overrides[${index}]`;
    if (o?.kind !== "add" && o?.kind !== "remove" && o?.kind !== "replace") {
      throw new ValidationError(`${f}.kind`, "must be add, remove or replace");
    }
    const userId = requireId(o.userId, `${f}.userId`, "user");
    let replacesUserId: string | undefined;
    if (o.kind === "replace") {
      replacesUserId = requireId(o.replacesUserId, `${f}.replacesUserId`, "user");
      if (replacesUserId === userId) {
        throw new ValidationError(`${f}.replacesUserId`, "a user cannot replace themselves");
      }
    }
    const start = o.start instanceof Date ? o.start.getTime() : Number.NaN;
    const end = o.end instanceof Date ? o.end.getTime() : Number.NaN;
    if (Number.isNaN(start)) throw new ValidationError(`${f}.start`, "must be a valid instant");
    if (Number.isNaN(end)) throw new ValidationError(`${f}.end`, "must be a valid instant");
    if (end <= start) throw new ValidationError(`${f}.end`, "must be after start");
    return { index, kind: o.kind, userId, replacesUserId, start, end };
  });
}

/** Throws the first ValidationError of `overrides`, if any. */
export function validateOverrides(overrides: readonly Override[]): void {
  compileOverrides(overrides);
}

/**
 * The window of `rule` that starts on local date `epochDay`, as instants `[start, end)`. Empty
 * (end ≤ start) only when DST swallows it, e.g. 02:30–03:00 on a spring-forward day.
 */
export function ruleWindow(zone: Zone, rule: CompiledRule, epochDay: number): [number, number] {
  const dayStart = epochDay * DAY_MS;
  const start = toInstant(zone, dayStart + rule.startMs);
  const endDay = rule.endMs <= rule.startMs ? dayStart + DAY_MS : dayStart;
  return [start, toInstant(zone, endDay + rule.endMs)];
}
