import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import type { TimeWindow } from "./model.ts";
import { compileCalendar, compileTimeCondition, inBusinessHours, inTimeCondition } from "./time-windows.ts";

const SUN = 7;
const at = (iso: string) => Date.parse(iso);
const holds = (zone: string, window: TimeWindow, iso: string) =>
  inTimeCondition(compileTimeCondition({ zone, windows: [window] }, "time"), at(iso));

describe("time windows on DST transition days (wall-clock reading)", () => {
  it.each([
    // New York, spring forward 2026-03-08: 02:00 EST → 03:00 EDT (07:00Z); 02:xx never happens.
    [
      "NY spring: 01:30 EST is inside 01:00–03:30",
      "America/New_York",
      [SUN],
      "01:00",
      "03:30",
      "2026-03-08T06:30:00Z",
      true,
    ],
    [
      "NY spring: 03:15 EDT is inside 01:00–03:30",
      "America/New_York",
      [SUN],
      "01:00",
      "03:30",
      "2026-03-08T07:15:00Z",
      true,
    ],
    [
      "NY spring: 03:30 EDT is the end",
      "America/New_York",
      [SUN],
      "01:00",
      "03:30",
      "2026-03-08T07:30:00Z",
      false,
    ],
    [
      "NY spring: the skipped hour 02:00–03:00 never holds (01:59)",
      "America/New_York",
      [SUN],
      "02:00",
      "03:00",
      "2026-03-08T06:59:59Z",
      false,
    ],
    [
      "NY spring: the skipped hour 02:00–03:00 never holds (03:00)",
      "America/New_York",
      [SUN],
      "02:00",
      "03:00",
      "2026-03-08T07:00:00Z",
      false,
    ],
    [
      "NY spring: 09:00 EDT Monday after",
      "America/New_York",
      [1],
      "09:00",
      "17:00",
      "2026-03-09T13:00:00Z",
      true,
    ],
    [
      "NY spring: 08:59 EDT Monday after",
      "America/New_York",
      [1],
      "09:00",
      "17:00",
      "2026-03-09T12:59:00Z",
      false,
    ],
    [
      "NY winter: 09:00 EST the Friday before",
      "America/New_York",
      [5],
      "09:00",
      "17:00",
      "2026-03-06T14:00:00Z",
      true,
    ],
    [
      "NY winter: 13:30Z is 08:30 EST, outside",
      "America/New_York",
      [5],
      "09:00",
      "17:00",
      "2026-03-06T13:30:00Z",
      false,
    ],
    // New York, fall back 2026-11-01: 02:00 EDT → 01:00 EST (06:00Z); 01:xx happens twice.
    [
      "NY fall: 00:59 EDT before 01:00–02:00",
      "America/New_York",
      [SUN],
      "01:00",
      "02:00",
      "2026-11-01T04:59:00Z",
      false,
    ],
    [
      "NY fall: 01:30 EDT (first) inside",
      "America/New_York",
      [SUN],
      "01:00",
      "02:00",
      "2026-11-01T05:30:00Z",
      true,
    ],
    [
      "NY fall: 01:30 EST (repeat) inside",
      "America/New_York",
      [SUN],
      "01:00",
      "02:00",
      "2026-11-01T06:30:00Z",
      true,
    ],
    [
      "NY fall: 02:00 EST is the end",
      "America/New_York",
      [SUN],
      "01:00",
      "02:00",
      "2026-11-01T07:00:00Z",
      false,
    ],
    [
      "NY fall: 17:00 EST is the end",
      "America/New_York",
      [SUN],
      "09:00",
      "17:00",
      "2026-11-01T22:00:00Z",
      false,
    ],
    ["NY fall: 16:59 EST inside", "America/New_York", [SUN], "09:00", "17:00", "2026-11-01T21:59:00Z", true],
    // Berlin, spring forward 2026-03-29: 02:00 CET → 03:00 CEST (01:00Z).
    [
      "Berlin spring: 01:30 CET inside 01:00–04:00",
      "Europe/Berlin",
      [SUN],
      "01:00",
      "04:00",
      "2026-03-29T00:30:00Z",
      true,
    ],
    [
      "Berlin spring: 03:30 CEST inside 01:00–04:00",
      "Europe/Berlin",
      [SUN],
      "01:00",
      "04:00",
      "2026-03-29T01:30:00Z",
      true,
    ],
    [
      "Berlin spring: 04:00 CEST is the end",
      "Europe/Berlin",
      [SUN],
      "01:00",
      "04:00",
      "2026-03-29T02:00:00Z",
      false,
    ],
    [
      "Berlin spring: skipped hour 02:00–03:00 (01:59 CET)",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-03-29T00:59:00Z",
      false,
    ],
    [
      "Berlin spring: skipped hour 02:00–03:00 (03:00 CEST)",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-03-29T01:00:00Z",
      false,
    ],
    [
      "Berlin spring: Sat 22:00–06:00 holds at Sun 05:30 CEST",
      "Europe/Berlin",
      [6],
      "22:00",
      "06:00",
      "2026-03-29T03:30:00Z",
      true,
    ],
    [
      "Berlin spring: Sat 22:00–06:00 ends at Sun 06:00 CEST",
      "Europe/Berlin",
      [6],
      "22:00",
      "06:00",
      "2026-03-29T04:00:00Z",
      false,
    ],
    // Berlin, fall back 2026-10-25: 03:00 CEST → 02:00 CET (01:00Z); 02:xx happens twice.
    [
      "Berlin fall: 01:59 CEST before 02:00–03:00",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-10-24T23:59:00Z",
      false,
    ],
    [
      "Berlin fall: 02:30 CEST (first) inside",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-10-25T00:30:00Z",
      true,
    ],
    [
      "Berlin fall: 02:30 CET (repeat) inside",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-10-25T01:30:00Z",
      true,
    ],
    [
      "Berlin fall: 03:00 CET is the end",
      "Europe/Berlin",
      [SUN],
      "02:00",
      "03:00",
      "2026-10-25T02:00:00Z",
      false,
    ],
    [
      "Berlin fall: Sat 22:00–06:00 holds at Sun 05:59 CET",
      "Europe/Berlin",
      [6],
      "22:00",
      "06:00",
      "2026-10-25T04:59:00Z",
      true,
    ],
    [
      "Berlin fall: Sat 22:00–06:00 ends at Sun 06:00 CET",
      "Europe/Berlin",
      [6],
      "22:00",
      "06:00",
      "2026-10-25T05:00:00Z",
      false,
    ],
  ])("%s", (_name, zone, weekdays, start, end, iso, expected) => {
    expect(holds(zone, { weekdays, start, end }, iso)).toBe(expected);
  });
});

describe("windows spanning midnight belong to the weekday they start on", () => {
  const friNight: TimeWindow = { weekdays: [5], start: "22:00", end: "06:00" };
  it.each([
    ["Thu 23:00 (Thursday not listed)", "2026-07-09T21:00:00Z", false],
    ["Fri 21:59", "2026-07-10T19:59:00Z", false],
    ["Fri 22:00", "2026-07-10T20:00:00Z", true],
    ["Sat 05:59", "2026-07-11T03:59:00Z", true],
    ["Sat 06:00", "2026-07-11T04:00:00Z", false],
    ["Sat 23:00 (Saturday not listed)", "2026-07-11T21:00:00Z", false],
  ])("Berlin Fri 22:00–06:00 at %s", (_name, iso, expected) => {
    expect(holds("Europe/Berlin", friNight, iso)).toBe(expected);
  });

  it("start == end is a whole day from the start; 24:00 is the end of the day", () => {
    expect(holds("UTC", { weekdays: [1], start: "00:00", end: "00:00" }, "2026-07-13T23:59:00Z")).toBe(true);
    expect(holds("UTC", { weekdays: [1], start: "00:00", end: "00:00" }, "2026-07-14T00:00:00Z")).toBe(false);
    expect(holds("UTC", { weekdays: [1], start: "12:00", end: "24:00" }, "2026-07-13T23:59:00Z")).toBe(true);
  });
});

describe("validation names the field", () => {
  it.each([
    [{ zone: "Mars/Olympus", windows: [{ weekdays: [1], start: "09:00", end: "17:00" }] }, "time.zone"],
    [{ zone: "UTC", windows: [] }, "time.windows"],
    [{ zone: "UTC", windows: [{ weekdays: [], start: "09:00", end: "17:00" }] }, "time.windows[0].weekdays"],
    [
      { zone: "UTC", windows: [{ weekdays: [0], start: "09:00", end: "17:00" }] },
      "time.windows[0].weekdays[0]",
    ],
    [{ zone: "UTC", windows: [{ weekdays: [1], start: "9:00", end: "17:00" }] }, "time.windows[0].start"],
    [{ zone: "UTC", windows: [{ weekdays: [1], start: "09:00", end: "25:00" }] }, "time.windows[0].end"],
  ])("%j → %s", (condition, field) => {
    expect(() => compileTimeCondition(condition, "time")).toThrow(ValidationError);
    try {
      compileTimeCondition(condition, "time");
    } catch (error) {
      expect((error as ValidationError).field).toBe(field);
    }
  });
});

describe("business calendars", () => {
  const support = compileCalendar(
    {
      name: "support",
      zone: "Europe/Berlin",
      windows: [{ weekdays: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" }],
      holidays: ["2026-12-25"],
    },
    "calendar",
  );
  it.each([
    ["Thu 2026-12-24 10:00 CET", "2026-12-24T09:00:00Z", true],
    ["Fri 2026-12-25 10:00 CET (holiday)", "2026-12-25T09:00:00Z", false],
    ["Sat 2026-12-26 10:00 CET (weekend)", "2026-12-26T09:00:00Z", false],
    ["Thu 2026-12-24 17:00 CET (end)", "2026-12-24T16:00:00Z", false],
  ])("%s", (_name, iso, expected) => {
    expect(inBusinessHours(support, at(iso))).toBe(expected);
  });

  it("rejects a bad holiday naming it", () => {
    expect(() =>
      compileCalendar(
        {
          name: "x",
          zone: "UTC",
          windows: [{ weekdays: [1], start: "09:00", end: "10:00" }],
          holidays: ["2026-13-01"],
        },
        "c",
      ),
    ).toThrow("c.holidays[0]");
  });

  it("rejects a date that does not exist (no roll-over into the next month)", () => {
    const calendar = (holidays: string[]) => ({
      name: "x",
      zone: "UTC",
      windows: [{ weekdays: [1], start: "09:00", end: "10:00" }],
      holidays,
    });
    expect(() => compileCalendar(calendar(["2026-01-01", "2026-02-30"]), "c")).toThrow("c.holidays[1]");
    expect(() => compileCalendar(calendar(["2028-02-29"]), "c")).not.toThrow();
  });
});
