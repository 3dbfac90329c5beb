/**
 * Queries over a schedule: who is on call at an instant, and the shifts over a range.
 *
 * Both work on interval boundaries, never by sampling: rule windows (per local day in the schedule's
 * zone), rotation handoffs and override edges cut the range into elementary intervals in which nothing
 * changes; each interval gets the rules' users, then the overrides in the order documented in
 * ./schedule.ts. `onCallAt` evaluates the one interval containing its instant.
 */
import { ValidationError } from "../errors.ts";
import { type Rotation, requireRange } from "./rotation.ts";
import {
  type CompiledOverride,
  type CompiledRule,
  type CompiledSchedule,
  compileOverrides,
  compileSchedule,
  type Override,
  ruleWindow,
  type Schedule,
} from "./schedule.ts";
import { epochDayOf, toLocal, weekdayOf } from "./zone.ts";

/** Why someone is on call: a rule of the schedule, or an override that put them on. */
export type ShiftSource =
  | { readonly kind: "rule"; readonly ruleIndex: number }
  | { readonly kind: "override"; readonly overrideIndex: number; readonly overrideKind: "add" }
  | {
      readonly kind: "override";
      readonly overrideIndex: number;
      readonly overrideKind: "replace";
      readonly replacesUserId: string;
    };

export interface OnCallUser {
  readonly userId: string;
  /** Rules first, by index; then overrides, by index. */
  readonly sources: readonly ShiftSource[];
}

/** One user on call for one reason over `[start, end)`. */
export interface Shift {
  readonly userId: string;
  readonly start: Date;
  readonly end: Date;
  readonly source: ShiftSource;
}

/** One user's continuous time on call, whatever the reasons (a union of their shifts). */
export interface UserShift {
  readonly userId: string;
  readonly start: Date;
  readonly end: Date;
  readonly sources: readonly ShiftSource[];
}

// A source as a number: rule i → i, override j → OVERRIDE + j; numeric order is the documented order.
const OVERRIDE = 2 ** 30;
type State = Map<string, number[]>;

function addSource(state: State, userId: string, code: number): void {
  const codes = state.get(userId);
  if (codes === undefined) state.set(userId, [code]);
  else if (!codes.includes(code)) codes.push(code);
}

/** Applies the overrides active over an interval (sorted by index): replace, then remove, then add. */
function applyOverrides(state: State, active: readonly CompiledOverride[]): void {
  for (const o of active) {
    if (o.kind === "replace" && state.delete(o.replacesUserId!))
      addSource(state, o.userId, OVERRIDE + o.index);
  }
  for (const o of active) if (o.kind === "remove") state.delete(o.userId);
  for (const o of active) if (o.kind === "add") addSource(state, o.userId, OVERRIDE + o.index);
}

function toSource(code: number, overrides: readonly CompiledOverride[]): ShiftSource {
  if (code < OVERRIDE) return { kind: "rule", ruleIndex: code };
  const o = overrides[code - OVERRIDE]!;
  return o.kind === "replace"
    ? { kind: "override", overrideIndex: o.index, overrideKind: "replace", replacesUserId: o.replacesUserId! }
    : { kind: "override", overrideIndex: o.index, overrideKind: "add" };
}

function requireInstant(t: unknown, field: string): number {
  if (!(t instanceof Date) || Number.isNaN(t.getTime()))
    throw new ValidationError(field, "must be a valid instant");
  return t.getTime();
}

function ruleActiveAt(cs: CompiledSchedule, rule: CompiledRule, t: number, day: number): boolean {
  // A window starts on its own day, so only windows of today and yesterday can hold t.
  for (let d = day - 1; d <= day; d++) {
    if ((rule.days >> weekdayOf(d)) & 1) {
      const [ws, we] = ruleWindow(cs.zone, rule, d);
      if (ws <= t && t < we) return true;
    }
  }
  return false;
}

/**
 * Who is on call at `at`, sorted by user id, each with the rules and overrides that put them on.
 * `overrides` are in creation order. Rotations are looked up by the id in each rotation rule.
 *
 * @example onCallAt(schedule, rotations, overrides, clock.now()).map((u) => u.userId)
 */
export function onCallAt(
  schedule: Schedule,
  rotations: ReadonlyMap<string, Rotation>,
  overrides: readonly Override[],
  at: Date,
): OnCallUser[] {
  const cs = compileSchedule(schedule, rotations);
  const co = compileOverrides(overrides);
  const t = requireInstant(at, "at");
  const day = epochDayOf(toLocal(cs.zone, t));
  const state: State = new Map();
  for (const rule of cs.rules) {
    if (!ruleActiveAt(cs, rule, t, day)) continue;
    if (rule.userId !== undefined) {
      addSource(state, rule.userId, rule.index);
    } else {
      const shift = rule.rotation!.shiftAt(t);
      if (shift) addSource(state, rule.rotation!.participants[shift.index]!, rule.index);
    }
  }
  applyOverrides(
    state,
    co.filter((o) => o.start <= t && t < o.end),
  );
  return [...state.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([userId, codes]) => ({ userId, sources: codes.sort((a, b) => a - b).map((c) => toSource(c, co)) }));
}

interface RawShift {
  userId: string;
  code: number;
  start: number;
  end: number;
}

function listRaw(
  cs: CompiledSchedule,
  co: readonly CompiledOverride[],
  from: number,
  to: number,
): RawShift[] {
  // 1. What the rules say, as (user, rule) segments clipped to the range.
  const segments: RawShift[] = [];
  const firstDay = epochDayOf(toLocal(cs.zone, from)) - 1;
  const lastDay = epochDayOf(toLocal(cs.zone, to));
  for (const rule of cs.rules) {
    for (let d = firstDay; d <= lastDay; d++) {
      if (!((rule.days >> weekdayOf(d)) & 1)) continue;
      const [ws0, we0] = ruleWindow(cs.zone, rule, d);
      const ws = Math.max(ws0, from);
      const we = Math.min(we0, to);
      if (ws >= we) continue;
      if (rule.userId !== undefined) {
        segments.push({ userId: rule.userId, code: rule.index, start: ws, end: we });
        continue;
      }
      const rotation = rule.rotation!;
      for (const s of rotation.shifts(ws, we)) {
        const start = Math.max(s.start, ws);
        const end = Math.min(s.end, we);
        if (start < end)
          segments.push({ userId: rotation.participants[s.index]!, code: rule.index, start, end });
      }
    }
  }
  const ovs = co
    .filter((o) => o.start < to && o.end > from)
    .map((o) => ({ ...o, start: Math.max(o.start, from), end: Math.min(o.end, to) }));

  // 2. Elementary intervals between consecutive boundaries.
  const edges = [from, to];
  for (const s of segments) edges.push(s.start, s.end);
  for (const o of ovs) edges.push(o.start, o.end);
  edges.sort((a, b) => a - b);
  segments.sort((a, b) => a.start - b.start);
  ovs.sort((a, b) => a.start - b.start);

  // 3. Sweep, extending a (user, source) shift while it stays on call from one interval to the next.
  const done: RawShift[] = [];
  let open = new Map<string, RawShift>();
  let activeSegs: RawShift[] = [];
  let activeOvs: CompiledOverride[] = [];
  let si = 0;
  let oi = 0;
  for (let i = 0; i < edges.length - 1; i++) {
    const b = edges[i]!;
    const next = edges[i + 1]!;
    if (next === b) continue;
    if (activeSegs.some((s) => s.end <= b)) activeSegs = activeSegs.filter((s) => s.end > b);
    while (si < segments.length && segments[si]!.start <= b) activeSegs.push(segments[si++]!);
    let ovsChanged = false;
    if (activeOvs.some((o) => o.end <= b)) activeOvs = activeOvs.filter((o) => o.end > b);
    while (oi < ovs.length && ovs[oi]!.start <= b) {
      activeOvs.push(ovs[oi++]!);
      ovsChanged = true;
    }
    if (ovsChanged) activeOvs.sort((x, y) => x.index - y.index);

    const state: State = new Map();
    for (const s of activeSegs) addSource(state, s.userId, s.code);
    if (activeOvs.length > 0) applyOverrides(state, activeOvs);

    const stillOpen = new Map<string, RawShift>();
    for (const [userId, codes] of state) {
      for (const code of codes) {
        const key = `${code}\u0000${userId}`;
        const shift = open.get(key);
        if (shift) {
          shift.end = next;
          open.delete(key);
          stillOpen.set(key, shift);
        } else {
          stillOpen.set(key, { userId, code, start: b, end: next });
        }
      }
    }
    for (const shift of open.values()) done.push(shift);
    open = stillOpen;
  }
  for (const shift of open.values()) done.push(shift);
  return done.sort(
    (a, b) =>
      a.start - b.start || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0) || a.code - b.code,
  );
}

/**
 * The shifts over `[start, end)` (at most 366 days; ValidationError on `end` otherwise), one per user
 * and reason, clipped to the range and sorted by start, user id, then source (rules before overrides).
 * Adjacent pieces of the same user from the same source are merged: a user rule covering every whole
 * day is one shift; a user on call through two rules at once has two overlapping shifts.
 */
export function listShifts(
  schedule: Schedule,
  rotations: ReadonlyMap<string, Rotation>,
  overrides: readonly Override[],
  start: Date,
  end: Date,
): Shift[] {
  return shiftLister(schedule, rotations, overrides)(start, end);
}

/**
 * `listShifts` for one schedule over many ranges: validates and compiles the schedule, its rotations
 * and overrides once (a paged listing asks for one small window after another).
 */
export function shiftLister(
  schedule: Schedule,
  rotations: ReadonlyMap<string, Rotation>,
  overrides: readonly Override[],
): (start: Date, end: Date) => Shift[] {
  const cs = compileSchedule(schedule, rotations);
  const co = compileOverrides(overrides);
  return (start, end) => {
    const [from, to] = requireRange(start, end);
    return listRaw(cs, co, from, to).map((s) => ({
      userId: s.userId,
      start: new Date(s.start),
      end: new Date(s.end),
      source: toSource(s.code, co),
    }));
  };
}

/**
 * "My upcoming shifts": the continuous periods in `[now, until)` (at most 366 days) during which
 * `userId` is on call in this schedule, for whatever reasons, merged and sorted. A period in progress at
 * `now` is reported from `now`.
 */
export function upcomingShiftsForUser(
  schedule: Schedule,
  rotations: ReadonlyMap<string, Rotation>,
  overrides: readonly Override[],
  userId: string,
  now: Date,
  until: Date,
): UserShift[] {
  if (typeof userId !== "string" || userId === "") throw new ValidationError("userId", "must be a user id");
  const cs = compileSchedule(schedule, rotations);
  const co = compileOverrides(overrides);
  const [from, to] = requireRange(now, until, "now", "until");
  const merged: { start: number; end: number; codes: number[] }[] = [];
  for (const s of listRaw(cs, co, from, to)) {
    if (s.userId !== userId) continue;
    const last = merged[merged.length - 1];
    if (last && s.start <= last.end) {
      last.end = Math.max(last.end, s.end);
      if (!last.codes.includes(s.code)) last.codes.push(s.code);
    } else {
      merged.push({ start: s.start, end: s.end, codes: [s.code] });
    }
  }
  return merged.map((m) => ({
    userId,
    start: new Date(m.start),
    end: new Date(m.end),
    sources: m.codes.sort((a, b) => a - b).map((c) => toSource(c, co)),
  }));
}
