import { describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { Rotation } from "./rotation.ts";
import {
  compileSchedule,
  type Override,
  ruleWindow,
  type Schedule,
  type ScheduleRule,
  validateOverrides,
  validateSchedule,
  type Weekday,
  type WeekdayName,
} from "./schedule.ts";
import { epochDayOf } from "./zone.ts";

const at = (iso: string) => new Date(iso);

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

const user = (userId: string) => ({ kind: "user", userId }) as const;
const rule = (r: Partial<ScheduleRule> = {}): ScheduleRule => ({
  target: user("u"),
  weekdays: [0, 1, 2, 3, 4, 5, 6],
  start: "09:00",
  end: "17:00",
  ...r,
});

describe("rule windows", () => {
  // The window of the rule that starts on `date`, in the schedule's zone.
  const window = (timeZone: string, r: ScheduleRule, date: string) => {
    const cs = compileSchedule({ timeZone, rules: [r] }, new Map());
    const [s, e] = ruleWindow(cs.zone, cs.rules[0]!, epochDayOf(Date.parse(`${date}T00:00:00Z`)));
    return [new Date(s).toISOString(), new Date(e).toISOString()];
  };

  it.each([
    [
      "within the day",
      "America/New_York",
      "09:00",
      "17:00",
      "2026-01-15",
      "2026-01-15T09:00:00-05:00",
      "2026-01-15T17:00:00-05:00",
    ],
    [
      "crossing midnight",
      "America/New_York",
      "22:00",
      "06:00",
      "2026-01-15",
      "2026-01-15T22:00:00-05:00",
      "2026-01-16T06:00:00-05:00",
    ],
    [
      "until midnight (end 00:00)",
      "Europe/Berlin",
      "18:00",
      "00:00",
      "2026-01-15",
      "2026-01-15T18:00:00+01:00",
      "2026-01-16T00:00:00+01:00",
    ],
    [
      "all day (start == end)",
      "Europe/Berlin",
      "00:00",
      "00:00",
      "2026-01-15",
      "2026-01-15T00:00:00+01:00",
      "2026-01-16T00:00:00+01:00",
    ],
    [
      "all day from 09:00",
      "Europe/Berlin",
      "09:00",
      "09:00",
      "2026-01-15",
      "2026-01-15T09:00:00+01:00",
      "2026-01-16T09:00:00+01:00",
    ],
    [
      "all day on spring-forward day: 23 h",
      "America/New_York",
      "00:00",
      "00:00",
      "2026-03-08",
      "2026-03-08T00:00:00-05:00",
      "2026-03-09T00:00:00-04:00",
    ],
    [
      "all day on fall-back day: 25 h",
      "Europe/Berlin",
      "00:00",
      "00:00",
      "2026-10-25",
      "2026-10-25T00:00:00+02:00",
      "2026-10-26T00:00:00+01:00",
    ],
    [
      "night window across spring-forward",
      "America/New_York",
      "22:00",
      "06:00",
      "2026-03-07",
      "2026-03-07T22:00:00-05:00",
      "2026-03-08T06:00:00-04:00",
    ],
    [
      "night window across fall-back",
      "Europe/Berlin",
      "22:00",
      "06:00",
      "2026-10-24",
      "2026-10-24T22:00:00+02:00",
      "2026-10-25T06:00:00+01:00",
    ],
    [
      "start in the spring gap: after the jump",
      "Europe/Berlin",
      "02:30",
      "06:00",
      "2026-03-29",
      "2026-03-29T03:30:00+02:00",
      "2026-03-29T06:00:00+02:00",
    ],
    [
      "end in the spring gap",
      "America/New_York",
      "22:00",
      "02:30",
      "2026-03-07",
      "2026-03-07T22:00:00-05:00",
      "2026-03-08T03:30:00-04:00",
    ],
    [
      "start in the fall-back overlap: first occurrence",
      "Europe/Berlin",
      "02:30",
      "06:00",
      "2026-10-25",
      "2026-10-25T02:30:00+02:00",
      "2026-10-25T06:00:00+01:00",
    ],
    [
      "swallowed by the spring gap (empty)",
      "America/New_York",
      "02:30",
      "03:00",
      "2026-03-08",
      "2026-03-08T03:30:00-04:00",
      "2026-03-08T03:00:00-04:00",
    ],
  ])("%s", (_name, zone, start, end, date, from, to) => {
    expect(window(zone, rule({ start, end }), date)).toEqual([at(from).toISOString(), at(to).toISOString()]);
  });

  it("accepts weekday names in any case, abbreviations and sets", () => {
    const cs = compileSchedule(
      {
        timeZone: "UTC",
        rules: [
          // The type asks for lower case; input from the wire is matched case-insensitively.
          rule({ weekdays: ["Saturday" as WeekdayName, "sun"] }),
          rule({ weekdays: new Set<Weekday | WeekdayName>([1, "TUE" as WeekdayName]) }),
          rule({ weekdays: [1, 1, "monday"] }),
        ],
      },
      new Map(),
    );
    expect(cs.rules.map((r) => r.days)).toEqual([0b1000001, 0b0000110, 0b0000010]);
  });
});

describe("schedule validation", () => {
  const ok: Schedule = { timeZone: "Europe/Berlin", rules: [rule(), rule()] };
  it.each([
    ["an unknown time zone", { ...ok, timeZone: "Europe/Atlantis" }, "timeZone"],
    ["a missing time zone", { ...ok, timeZone: "" }, "timeZone"],
    ["a bad start", { ...ok, rules: [rule(), rule({ start: "25:00" })] }, "rules[1].start"],
    ["a start without minutes", { ...ok, rules: [rule({ start: "9" })] }, "rules[0].start"],
    ["a bad end", { ...ok, rules: [rule({ end: "17:60" })] }, "rules[0].end"],
    ["no weekdays", { ...ok, rules: [rule({ weekdays: [] })] }, "rules[0].weekdays"],
    [
      "an unknown weekday",
      { ...ok, rules: [rule({ weekdays: [1, "funday" as "sun"] })] },
      "rules[0].weekdays[1]",
    ],
    [
      "a weekday number out of range",
      { ...ok, rules: [rule({ weekdays: [7 as 0] })] },
      "rules[0].weekdays[0]",
    ],
    [
      "an unknown target kind",
      { ...ok, rules: [rule({ target: { kind: "team" } as never })] },
      "rules[0].target.kind",
    ],
    ["a target without user id", { ...ok, rules: [rule({ target: user("") })] }, "rules[0].target.userId"],
    [
      "a target without rotation id",
      { ...ok, rules: [rule({ target: { kind: "rotation", rotationId: "" } })] },
      "rules[0].target.rotationId",
    ],
    ["rules that are not a list", { ...ok, rules: undefined as never }, "rules"],
  ] as [string, Schedule, string][])("rejects %s", (_name, schedule, field) => {
    expect(fieldOf(() => validateSchedule(schedule))).toBe(field);
  });

  it("accepts a schedule with no rules (overrides only)", () => {
    expect(fieldOf(() => validateSchedule({ timeZone: "UTC", rules: [] }))).toBeUndefined();
  });

  it("reports a missing rotation as not found and a bad one with its id", () => {
    const schedule: Schedule = {
      timeZone: "UTC",
      rules: [rule({ target: { kind: "rotation", rotationId: "r1" } })],
    };
    expect(() => compileSchedule(schedule, new Map())).toThrow(NotFoundError);
    const bad: Rotation = {
      participants: [],
      shiftLength: { count: 1, unit: "day" },
      start: at("2026-01-01"),
      timeZone: "UTC",
    };
    expect(fieldOf(() => compileSchedule(schedule, new Map([["r1", bad]])))).toBe(
      "rotations[r1].participants",
    );
  });
});

describe("override validation", () => {
  const start = at("2026-01-01T00:00:00Z");
  const end = at("2026-01-02T00:00:00Z");
  it.each([
    ["end before start", { kind: "add", userId: "u", start: end, end: start }, "overrides[1].end"],
    ["end equal to start", { kind: "add", userId: "u", start, end: start }, "overrides[1].end"],
    [
      "an invalid start",
      { kind: "remove", userId: "u", start: new Date(Number.NaN), end },
      "overrides[1].start",
    ],
    ["no user", { kind: "add", userId: "", start, end }, "overrides[1].userId"],
    [
      "a replace without the replaced user",
      { kind: "replace", userId: "u", start, end },
      "overrides[1].replacesUserId",
    ],
    [
      "a user replacing themselves",
      { kind: "replace", userId: "u", replacesUserId: "u", start, end },
      "overrides[1].replacesUserId",
    ],
    ["an unknown kind", { kind: "swap", userId: "u", start, end }, "overrides[1].kind"],
  ])("rejects %s", (_name, o, field) => {
    const valid: Override = { kind: "add", userId: "v", start, end };
    expect(fieldOf(() => validateOverrides([valid, o as Override]))).toBe(field);
  });
});
