/**
 * Wall-clock ⇄ instant conversion in an IANA time zone, for rotations and schedule rules.
 *
 * The zone data is the runtime's (ICU through `Intl.DateTimeFormat`, read the way Luxon's
 * `IANAZone.offset` reads it; Luxon itself is not imported here: it is ~70 KB of every Lambda bundle
 * that resolves a schedule, and only its offset lookup was used). The conversion from a wall-clock
 * time to an instant is done here rather than with a date library, for two reasons: Luxon's
 * `DateTime.fromObject` resolves an ambiguous wall time (the repeated hour of a fall-back) with a
 * guess taken from the *current* date, which would make the result depend on when the code runs; and
 * an offset lookup costs ~4 µs (an `Intl` call), so offsets are memoised per zone and UTC day.
 *
 * The rules, applied to every handoff and every rule window:
 * - a wall time that does not exist (spring-forward gap) is read with the offset in force before the
 *   jump, so it lands *after* the jump by the gap's length: 02:30 on a New York spring-forward day is
 *   03:30 EDT (what Luxon's `plus({ days })` and Go's `time.Date` do too);
 * - a wall time that occurs twice (fall-back) is its *first* occurrence: 01:30 on a New York
 *   fall-back day is 01:30 EDT, never 01:30 EST.
 *
 * Local dates are counted as days since 1970-01-01 ("epoch days"); a local time as milliseconds since
 * local midnight. `localTs = epochDay * DAY_MS + msOfDay` is a wall-clock reading written as if it were UTC.
 */
import { ValidationError } from "../errors.ts";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** A validated zone: its name and its memoised offsets. */
export interface Zone {
  readonly name: string;
  /** Formats an instant as the zone's wall clock, to the second (see `zoneOffset`). */
  readonly clock: Intl.DateTimeFormat;
  /** UTC day number → offset (minutes) at that day's first instant. */
  readonly edges: Map<number, number>;
  /** UTC day number → offsets (minutes) for that day: before and after `transition` (ms). */
  readonly days: Map<number, { before: number; after: number; transition: number }>;
}

const zones = new Map<string, Zone>();
// Memo bound: ~55 years of days per zone; cleared (not evicted) when exceeded, which is rare and cheap.
const MAX_DAYS_PER_ZONE = 20_000;

/** The zone named `name`, or a ValidationError on `field` when it is not a known IANA zone. */
export function resolveZone(name: unknown, field: string): Zone {
  if (typeof name !== "string" || name === "") {
    throw new ValidationError(field, "a time zone is required (an IANA name such as Europe/Berlin)");
  }
  const known = zones.get(name);
  if (known) return known;
  let clock: Intl.DateTimeFormat;
  try {
    clock = wallClockFormat(name);
  } catch {
    // RangeError: Intl knows no zone of that name.
    throw new ValidationError(field, `unknown time zone "${name}"`);
  }
  const zone: Zone = { name, clock, edges: new Map(), days: new Map() };
  zones.set(name, zone);
  return zone;
}

function wallClockFormat(name: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone: name,
    hourCycle: "h23",
    era: "short",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
}

/**
 * The offset (minutes) of `zone` at instant `ts`, read at whole seconds: the wall clock there,
 * written as if it were UTC, minus the instant (what Luxon's `IANAZone.offset` computes).
 */
function zoneOffset(zone: Zone, ts: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const { type, value } of zone.clock.formatToParts(ts)) {
    if (type === "year") year = Number(value);
    else if (type === "month") month = Number(value);
    else if (type === "day") day = Number(value);
    else if (type === "hour")
      hour = Number(value) % 24; // some ICU versions print midnight as 24
    else if (type === "minute") minute = Number(value);
    else if (type === "second") second = Number(value);
    else if (type === "era") bc = value === "BC" || value === "B";
  }
  if (bc) year = 1 - year;
  const wall = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  const wholeSeconds = ts - (((ts % 1000) + 1000) % 1000);
  return (wall.getTime() - wholeSeconds) / MINUTE_MS;
}

/**
 * The zone's UTC offset in minutes at instant `ts` (ms).
 *
 * Memoised per UTC day on the assumption that a zone changes its offset at most once within a day
 * (true of every zone in the tz database since 1970 and of all but a few wartime oddities before).
 * A day costs one `Intl` call when its offset is constant (its end is the next day's start), and ~17
 * more in the rare day that holds a transition, found to the second by bisection.
 */
export function offsetAt(zone: Zone, ts: number): number {
  const day = Math.floor(ts / DAY_MS);
  let entry = zone.days.get(day);
  if (entry === undefined) {
    if (zone.days.size >= MAX_DAYS_PER_ZONE) {
      zone.days.clear();
      zone.edges.clear();
    }
    entry = probeDay(zone, day);
    zone.days.set(day, entry);
  }
  return ts < entry.transition ? entry.before : entry.after;
}

function edgeOffset(zone: Zone, day: number): number {
  let offset = zone.edges.get(day);
  if (offset === undefined) {
    offset = zoneOffset(zone, day * DAY_MS);
    zone.edges.set(day, offset);
  }
  return offset;
}

function probeDay(zone: Zone, day: number): { before: number; after: number; transition: number } {
  const before = edgeOffset(zone, day);
  const after = edgeOffset(zone, day + 1);
  if (before === after) return { before, after, transition: Number.POSITIVE_INFINITY };
  // Offsets are read at whole seconds, so the search runs on whole seconds.
  let lo = day * DAY_MS; // offset === before
  let hi = lo + DAY_MS; // offset === after
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (zoneOffset(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return { before, after, transition: hi };
}

/** Wall-clock reading (`localTs`, see the module comment) of instant `ts` in `zone`. */
export function toLocal(zone: Zone, ts: number): number {
  return ts + offsetAt(zone, ts) * MINUTE_MS;
}

/** The instant at which the wall clock in `zone` reads `localTs`; gaps and overlaps as in the module comment. */
export function toInstant(zone: Zone, localTs: number): number {
  const before = offsetAt(zone, localTs - DAY_MS);
  const after = offsetAt(zone, localTs + DAY_MS);
  if (before === after) return localTs - before * MINUTE_MS;
  const early = localTs - before * MINUTE_MS;
  const late = localTs - after * MINUTE_MS;
  const earlyValid = offsetAt(zone, early) === before;
  const lateValid = offsetAt(zone, late) === after;
  if (earlyValid && lateValid) return Math.min(early, late); // overlap: first occurrence
  if (earlyValid) return early;
  if (lateValid) return late;
  return early; // gap: read with the offset before the jump
}

/** The local date (epoch day) of a wall-clock reading. */
export function epochDayOf(localTs: number): number {
  return Math.floor(localTs / DAY_MS);
}

/** Day of the week of an epoch day, 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOf(epochDay: number): number {
  return (((epochDay + 4) % 7) + 7) % 7;
}
