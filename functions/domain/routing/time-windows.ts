/**
 * Weekly time windows in a named zone ("Mon–Fri 09:00–17:00 in Europe/Berlin"), read on the local wall
 * clock, for rule time conditions, business calendars and recurring maintenance windows.
 *
 * A window holds while the local wall clock shows one of its weekdays and a time in [start, end). An end
 * at or before the start spans midnight: the window belongs to the weekday it starts on ("Fri 22:00–06:00"
 * holds Friday night and Saturday until 06:00). Wall-clock reading makes the DST days come out as people
 * expect: on a spring-forward day the skipped hour never happens, so a window inside it does not hold;
 * on a fall-back day the repeated hour happens twice and the window holds both times.
 */
import { ValidationError } from "../errors.ts";
import {
  DAY_MS,
  epochDayOf,
  MINUTE_MS,
  resolveZone,
  toLocal,
  weekdayOf,
  type Zone,
} from "../schedules/zone.ts";
import type { BusinessCalendar, TimeCondition, TimeWindow } from "./model.ts";

export const MAX_TIME_WINDOWS = 32;
export const MAX_HOLIDAYS = 400;

const TIME_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** A window as minutes of the local day, with the weekdays it starts on as a bitmask (bit 1 = Monday). */
export interface CompiledWindow {
  readonly weekdayMask: number;
  readonly startMinute: number;
  /** Minutes after start; 1..1440. */
  readonly lengthMinutes: number;
}

export interface CompiledTimeCondition {
  readonly zone: Zone;
  readonly windows: readonly CompiledWindow[];
}

export interface CompiledCalendar extends CompiledTimeCondition {
  readonly name: string;
  /** Local dates (epoch days) that are not business days. */
  readonly holidays: ReadonlySet<number>;
}

/** Minutes since midnight of "HH:MM", or a ValidationError on `field`. "24:00" is allowed as an end. */
export function parseTimeOfDay(value: unknown, field: string, allowEndOfDay = false): number {
  if (allowEndOfDay && value === "24:00") return 1440;
  const m = typeof value === "string" ? TIME_PATTERN.exec(value) : null;
  if (!m)
    throw new ValidationError(
      field,
      `must be a time of day "HH:MM" (00:00–23:59), got ${JSON.stringify(value)}`,
    );
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Checks one window (field names relative to `field`) and turns it into minutes and a weekday mask. */
export function compileWindow(window: TimeWindow, field: string): CompiledWindow {
  if (!Array.isArray(window.weekdays) || window.weekdays.length === 0) {
    throw new ValidationError(
      `${field}.weekdays`,
      "at least one weekday (1 = Monday … 7 = Sunday) is required",
    );
  }
  let weekdayMask = 0;
  window.weekdays.forEach((day, i) => {
    if (!Number.isInteger(day) || day < 1 || day > 7) {
      throw new ValidationError(`${field}.weekdays[${i}]`, `must be 1 (Monday) … 7 (Sunday), got ${day}`);
    }
    weekdayMask |= 1 << day;
  });
  const startMinute = parseTimeOfDay(window.start, `${field}.start`);
  const endMinute = parseTimeOfDay(window.end, `${field}.end`, true);
  // End at or before start: the window runs past midnight (equal: a whole day from `start`).
  const lengthMinutes = endMinute > startMinute ? endMinute - startMinute : endMinute + 1440 - startMinute;
  return { weekdayMask, startMinute, lengthMinutes };
}

/** Checks a time condition (fields relative to `field`, e.g. "time"). */
export function compileTimeCondition(condition: TimeCondition, field: string): CompiledTimeCondition {
  const zone = resolveZone(condition.zone, `${field}.zone`);
  if (!Array.isArray(condition.windows) || condition.windows.length === 0) {
    throw new ValidationError(`${field}.windows`, "at least one window is required");
  }
  if (condition.windows.length > MAX_TIME_WINDOWS) {
    throw new ValidationError(`${field}.windows`, `at most ${MAX_TIME_WINDOWS} windows`);
  }
  return { zone, windows: condition.windows.map((w, i) => compileWindow(w, `${field}.windows[${i}]`)) };
}

export function compileCalendar(calendar: BusinessCalendar, field: string): CompiledCalendar {
  const base = compileTimeCondition(calendar, field);
  if (calendar.holidays.length > MAX_HOLIDAYS) {
    throw new ValidationError(`${field}.holidays`, `at most ${MAX_HOLIDAYS} holidays`);
  }
  const holidays = new Set<number>();
  calendar.holidays.forEach((date, i) => {
    // Date.parse rolls "2026-02-30" over into March: a real date reads back the same.
    const ms =
      typeof date === "string" && DATE_PATTERN.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
      throw new ValidationError(
        `${field}.holidays[${i}]`,
        `must be a date "YYYY-MM-DD", got ${JSON.stringify(date)}`,
      );
    }
    holidays.add(ms / DAY_MS);
  });
  return { ...base, name: calendar.name, holidays };
}

/** ISO weekday (1 = Monday … 7 = Sunday) of an epoch day. */
export function isoWeekdayOf(epochDay: number): number {
  return weekdayOf(epochDay) || 7;
}

/**
 * The local date (epoch day) on which the window holding `now` started, or undefined when none holds.
 * A window spanning midnight that holds after midnight started the day before.
 */
export function activeWindowStartDay(condition: CompiledTimeCondition, now: number): number | undefined {
  const local = toLocal(condition.zone, now);
  const today = epochDayOf(local);
  const minute = Math.floor((local - today * DAY_MS) / MINUTE_MS);
  const todayBit = 1 << isoWeekdayOf(today);
  const yesterdayBit = 1 << isoWeekdayOf(today - 1);
  for (const w of condition.windows) {
    if (w.weekdayMask & todayBit && minute >= w.startMinute && minute < w.startMinute + w.lengthMinutes)
      return today;
    // The tail of yesterday's window, past midnight.
    if (w.weekdayMask & yesterdayBit && minute < w.startMinute + w.lengthMinutes - 1440) return today - 1;
  }
  return undefined;
}

/** Whether `now` (ms) is inside any of the windows. */
export function inTimeCondition(condition: CompiledTimeCondition, now: number): boolean {
  return activeWindowStartDay(condition, now) !== undefined;
}

/** In the calendar's hours and not on a holiday (a window that started on a holiday does not count). */
export function inBusinessHours(calendar: CompiledCalendar, now: number): boolean {
  const day = activeWindowStartDay(calendar, now);
  return day !== undefined && !calendar.holidays.has(day);
}
