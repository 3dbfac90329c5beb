/**
 * Rotations: an ordered list of participants who take turns in shifts of a fixed length.
 *
 * Handoff times form a fixed grid that starts at `start`:
 * - `day` and `week` shifts hand off at the same wall-clock time in the rotation's zone, whatever the
 *   DST changes in between (handoff k is `start`'s local date + k × N days, at `start`'s local time), so a
 *   daily shift that spans a DST change lasts 23 or 25 hours. A handoff time that does not exist on a
 *   spring-forward day (02:30 in New York) happens after the jump by the gap (03:30 EDT); the next day is
 *   back at 02:30. A handoff time that occurs twice on a fall-back day happens at its first occurrence.
 * - `hour` shifts are absolute durations (handoff k is `start` + k × N hours), as in GoAlert: a 12 h
 *   rotation handing off at 09:00/21:00 EST hands off at 10:00/22:00 EDT after spring-forward. Shifts
 *   always last exactly N hours, which is what people on an hourly rotation are promised.
 *
 * Who takes which shift is pinned by the optional `anchor` (GoAlert's "rotation state"): participant
 * `anchor.index` took over at `anchor.at`, possibly between grid handoffs, and serves until the next grid
 * handoff; then the order continues `index + 1`, `index + 2`, … (wrapping). Without an anchor,
 * participant 0 takes the first shift at `start`. The edit functions below move the anchor so that the
 * grid never moves and everyone keeps their place relative to the person on call now.
 *
 * A rotation describes the present and the future. Shifts before `anchor.at` are projected backwards
 * from the anchor with today's participant list; they are not a record of who was on call (that is the
 * shift log's job, outside the domain). Before `start` the rotation has no one.
 */
import { ValidationError } from "../errors.ts";
import { DAY_MS, epochDayOf, HOUR_MS, resolveZone, toInstant, toLocal } from "./zone.ts";

export type ShiftUnit = "hour" | "day" | "week";

export interface ShiftLength {
  /** A whole number ≥ 1. */
  readonly count: number;
  readonly unit: ShiftUnit;
}

/** Participant `index` took over at `at` (see the module comment). */
export interface RotationAnchor {
  readonly index: number;
  readonly at: Date;
  /**
   * Who was on call just before `at`; the order before `at` is projected backwards from them.
   * Defaults to `index - 1`. Set by the edit functions when they know it.
   */
  readonly previousIndex?: number;
}

export interface Rotation {
  /** User ids in turn order; a user may appear more than once. */
  readonly participants: readonly string[];
  readonly shiftLength: ShiftLength;
  /** The first handoff; with `timeZone` it fixes the wall-clock time of every day/week handoff. */
  readonly start: Date;
  /** IANA zone name, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  readonly anchor?: RotationAnchor;
}

/** One turn of one participant: `[start, end)`. */
export interface RotationShift {
  /** Position in `participants`. */
  readonly index: number;
  readonly userId: string;
  readonly start: Date;
  readonly end: Date;
}

const UNITS: readonly ShiftUnit[] = ["hour", "day", "week"];

/** Longest range a listing may cover: a leap year. */
export const MAX_RANGE_MS = 366 * DAY_MS;

/** A validated rotation with its grid precomputed; all times in epoch ms. */
export interface CompiledRotation {
  readonly participants: readonly string[];
  readonly startMs: number;
  /** Grid index of handoff at or before `ms`, −1 before `start`. */
  gridIndexAt(ms: number): number;
  /** Instant of grid handoff `k` (k ≥ 0). */
  handoff(k: number): number;
  /** The shift at `ms`, or null before `start`. */
  shiftAt(ms: number): ShiftMs | null;
  /** Shifts overlapping `[fromMs, toMs)`, in order, unclipped. */
  shifts(fromMs: number, toMs: number): ShiftMs[];
}

export interface ShiftMs {
  index: number;
  start: number;
  end: number;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function isValidDate(d: unknown): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

function isIndex(i: unknown, length: number): i is number {
  return Number.isInteger(i) && (i as number) >= 0 && (i as number) < length;
}

/** Validates `rotation` (field names prefixed with `prefix`) and precomputes its grid. */
export function compileRotation(rotation: Rotation, prefix = ""): CompiledRotation {
  const { participants, shiftLength, start, anchor } = rotation;
  if (!Array.isArray(participants) || participants.length === 0) {
    throw new ValidationError(`${prefix}participants`, "a rotation needs at least one participant");
  }
  participants.forEach((p, i) => {
    if (typeof p !== "string" || p === "") {
      throw new ValidationError(`${prefix}participants[${i}]`, "must be a user id");
    }
  });
  if (!shiftLength || !Number.isInteger(shiftLength.count) || shiftLength.count < 1) {
    throw new ValidationError(`${prefix}shiftLength.count`, "must be a whole number of at least 1");
  }
  if (!UNITS.includes(shiftLength.unit)) {
    throw new ValidationError(`${prefix}shiftLength.unit`, `must be one of ${UNITS.join(", ")}`);
  }
  if (!isValidDate(start)) throw new ValidationError(`${prefix}start`, "must be a valid instant");
  const zone = resolveZone(rotation.timeZone, `${prefix}timeZone`);
  const n = participants.length;
  const startMs = start.getTime();

  let handoff: (k: number) => number;
  let gridIndexAt: (ms: number) => number;
  if (shiftLength.unit === "hour") {
    const step = shiftLength.count * HOUR_MS;
    handoff = (k) => startMs + k * step;
    gridIndexAt = (ms) => (ms < startMs ? -1 : Math.floor((ms - startMs) / step));
  } else {
    const stepDays = shiftLength.count * (shiftLength.unit === "week" ? 7 : 1);
    const local = toLocal(zone, startMs);
    const day0 = epochDayOf(local);
    const timeOfDay = local - day0 * DAY_MS;
    handoff = (k) => (k === 0 ? startMs : toInstant(zone, (day0 + k * stepDays) * DAY_MS + timeOfDay));
    gridIndexAt = (ms) => {
      if (ms < startMs) return -1;
      // DST moves handoffs by hours, never by a whole step: the estimate is off by at most one.
      let k = Math.floor((ms - startMs) / (stepDays * DAY_MS));
      while (k > 0 && handoff(k) > ms) k--;
      while (handoff(k + 1) <= ms) k++;
      return k;
    };
  }

  // The anchor, normalised: participant `a` from `at` (inside grid shift kT), `prev` just before.
  let a = 0;
  let at = startMs;
  let prev = n - 1;
  if (anchor !== undefined) {
    if (!isIndex(anchor.index, n)) {
      throw new ValidationError(`${prefix}anchor.index`, `must be a participant position (0..${n - 1})`);
    }
    if (!isValidDate(anchor.at) || anchor.at.getTime() < startMs) {
      throw new ValidationError(`${prefix}anchor.at`, "must be a valid instant at or after start");
    }
    a = anchor.index;
    at = anchor.at.getTime();
    prev = mod(a - 1, n);
    if (anchor.previousIndex !== undefined) {
      if (!isIndex(anchor.previousIndex, n)) {
        throw new ValidationError(
          `${prefix}anchor.previousIndex`,
          `must be a participant position (0..${n - 1})`,
        );
      }
      prev = anchor.previousIndex;
    }
  }
  const kT = gridIndexAt(at);
  const split = at > handoff(kT);

  // Participant of grid shift k, for the part of it at or after `at` when k === kT.
  const indexOf = (k: number): number => {
    if (k >= kT) return mod(a + k - kT, n);
    return mod(split ? prev - (kT - k) : prev - (kT - 1 - k), n);
  };

  const shiftAt = (ms: number): ShiftMs | null => {
    const k = gridIndexAt(ms);
    if (k < 0) return null;
    if (k === kT && split) {
      return ms < at
        ? { index: prev, start: handoff(k), end: at }
        : { index: a, start: at, end: handoff(k + 1) };
    }
    return { index: indexOf(k), start: handoff(k), end: handoff(k + 1) };
  };

  const shifts = (fromMs: number, toMs: number): ShiftMs[] => {
    const out: ShiftMs[] = [];
    let k = gridIndexAt(Math.max(fromMs, startMs));
    if (k < 0 || toMs <= startMs) return out;
    let hs = handoff(k);
    while (hs < toMs) {
      const he = handoff(k + 1);
      if (k === kT && split) {
        if (at > fromMs) out.push({ index: prev, start: hs, end: at });
        if (at < toMs) out.push({ index: a, start: at, end: he });
      } else {
        out.push({ index: indexOf(k), start: hs, end: he });
      }
      k++;
      hs = he;
    }
    return out;
  };

  return { participants, startMs, gridIndexAt, handoff, shiftAt, shifts };
}

function toShift(rotation: Rotation, s: ShiftMs): RotationShift {
  return {
    index: s.index,
    userId: rotation.participants[s.index]!,
    start: new Date(s.start),
    end: new Date(s.end),
  };
}

/** The epoch ms of `t`, or a ValidationError on `field` when it is not a valid Date. */
export function requireInstant(t: unknown, field: string): number {
  if (!isValidDate(t)) throw new ValidationError(field, "must be a valid instant");
  return t.getTime();
}

/** Validates a `[start, end)` query range: a valid instant each, end after start, at most 366 days. */
export function requireRange(
  start: unknown,
  end: unknown,
  startField = "start",
  endField = "end",
): [number, number] {
  const s = requireInstant(start, startField);
  const e = requireInstant(end, endField);
  if (e <= s) throw new ValidationError(endField, `must be after ${startField}`);
  if (e - s > MAX_RANGE_MS) throw new ValidationError(endField, "the range may cover at most 366 days");
  return [s, e];
}

/** Throws the first ValidationError of `rotation` (field names as in the Rotation type), if any. */
export function validateRotation(rotation: Rotation): void {
  compileRotation(rotation);
}

/**
 * The shift in progress at `at`, or null before the rotation's start.
 *
 * @example rotationShiftAt(rotation, new Date("2026-03-08T12:00:00Z"))?.userId
 */
export function rotationShiftAt(rotation: Rotation, at: Date): RotationShift | null {
  const s = compileRotation(rotation).shiftAt(requireInstant(at, "at"));
  return s && toShift(rotation, s);
}

/** Shifts overlapping `[start, end)` (at most 366 days), in order; the first and last are not clipped. */
export function rotationShifts(rotation: Rotation, start: Date, end: Date): RotationShift[] {
  const compiled = compileRotation(rotation);
  const [s, e] = requireRange(start, end);
  return compiled.shifts(s, e).map((x) => toShift(rotation, x));
}

/**
 * Re-pins who is on call after an edit: participant `index` (of the new `participants`) from `at`.
 * Who was on just before `at` is read from the pre-edit rotation and carried over through `mapIndex`
 * (pre-edit position → new position; undefined when that participant is gone).
 */
function reanchor(
  rotation: Rotation,
  compiled: CompiledRotation,
  participants: readonly string[],
  index: number,
  at: number,
  mapIndex: (old: number) => number | undefined,
): Rotation {
  const before = at > compiled.startMs ? compiled.shiftAt(at - 1) : null;
  const previousIndex = before ? mapIndex(before.index) : undefined;
  const anchor: RotationAnchor =
    previousIndex === undefined ? { index, at: new Date(at) } : { index, at: new Date(at), previousIndex };
  return { ...rotation, participants, anchor };
}

/** `max(now, start)`: edits before the rotation starts apply to its first shift. */
function editPoint(compiled: CompiledRotation, now: Date): { ref: number; current: ShiftMs } {
  const ref = Math.max(requireInstant(now, "now"), compiled.startMs);
  return { ref, current: compiled.shiftAt(ref)! };
}

/**
 * Applies a reordering of the same participants: `order[i]` is the old position of the participant
 * that goes to position i. The person on call at `now` finishes their shift (no handoff happens); then
 * the order continues from them in the new order.
 */
export function reorderParticipants(
  rotation: Rotation,
  order: readonly number[],
  now: Date,
  field = "order",
): Rotation {
  const compiled = compileRotation(rotation);
  const n = rotation.participants.length;
  if (
    !Array.isArray(order) ||
    order.length !== n ||
    !order.every((i) => isIndex(i, n)) ||
    new Set(order).size !== n
  ) {
    throw new ValidationError(field, `must list each position 0..${n - 1} exactly once`);
  }
  const { current } = editPoint(compiled, now);
  const newIndex = new Map(order.map((old, i) => [old, i]));
  const participants = order.map((old) => rotation.participants[old]!);
  return reanchor(rotation, compiled, participants, newIndex.get(current.index)!, current.start, (old) =>
    newIndex.get(old),
  );
}

/** Moves the participant at position `from` to position `to` (others keep their relative order); see reorderParticipants. */
export function moveParticipant(rotation: Rotation, from: number, to: number, now: Date): Rotation {
  const n = rotation.participants?.length ?? 0;
  if (!isIndex(from, n)) throw new ValidationError("from", `must be a participant position (0..${n - 1})`);
  if (!isIndex(to, n)) throw new ValidationError("to", `must be a participant position (0..${n - 1})`);
  const order = [...Array(n).keys()];
  order.splice(to, 0, ...order.splice(from, 1));
  return reorderParticipants(rotation, order, now);
}

/**
 * Inserts `userId` at `position` (default: the end). The person on call at `now` finishes their shift;
 * the order continues from them, so the newcomer's first turn comes when the order reaches them and
 * only the people after them in the list wait one shift longer.
 */
export function addParticipant(
  rotation: Rotation,
  userId: string,
  now: Date,
  position?: number,
  fields: { userId: string; position: string } = { userId: "userId", position: "position" },
): Rotation {
  const compiled = compileRotation(rotation);
  const n = rotation.participants.length;
  const pos = position ?? n;
  if (typeof userId !== "string" || userId === "")
    throw new ValidationError(fields.userId, "must be a user id");
  if (!Number.isInteger(pos) || pos < 0 || pos > n) {
    throw new ValidationError(fields.position, `must be between 0 and ${n}`);
  }
  const { current } = editPoint(compiled, now);
  const participants = [...rotation.participants.slice(0, pos), userId, ...rotation.participants.slice(pos)];
  const map = (old: number) => (old >= pos ? old + 1 : old);
  return reanchor(rotation, compiled, participants, map(current.index), current.start, map);
}

/**
 * Removes the participant at `index`. Removing someone who is not on call at `now` changes nothing for
 * the current shift; the order continues without them. Removing the person on call hands off at `now`
 * to the participant who followed them (as GoAlert does); they serve until the next grid handoff.
 * The last participant cannot be removed. Errors name `field` (the caller's name for `index`).
 */
export function removeParticipant(rotation: Rotation, index: number, now: Date, field = "index"): Rotation {
  const compiled = compileRotation(rotation);
  const n = rotation.participants.length;
  if (!isIndex(index, n)) throw new ValidationError(field, `must be a participant position (0..${n - 1})`);
  if (n === 1) throw new ValidationError(field, "a rotation needs at least one participant");
  const { ref, current } = editPoint(compiled, now);
  const participants = rotation.participants.filter((_, i) => i !== index);
  const map = (old: number) => (old === index ? undefined : old > index ? old - 1 : old);
  if (current.index !== index) {
    return reanchor(rotation, compiled, participants, map(current.index)!, current.start, map);
  }
  return reanchor(rotation, compiled, participants, index % (n - 1), ref, map);
}

/**
 * Makes participant `index` the one on call, GoAlert style: a handoff happens at `now` (or at `start`
 * if the rotation has not started), they serve until the next regular grid handoff — which never moves,
 * so this shift may be short — and the order then continues `index + 1`, `index + 2`, … Everyone else
 * keeps their place in the list order after the new current person. Choosing the participant who is
 * already on call changes nothing.
 */
export function setCurrentParticipant(
  rotation: Rotation,
  index: number,
  now: Date,
  field = "index",
): Rotation {
  const compiled = compileRotation(rotation);
  const n = rotation.participants.length;
  if (!isIndex(index, n)) throw new ValidationError(field, `must be a participant position (0..${n - 1})`);
  const { ref, current } = editPoint(compiled, now);
  if (current.index === index) return rotation;
  return reanchor(rotation, compiled, rotation.participants, index, ref, (old) => old);
}
