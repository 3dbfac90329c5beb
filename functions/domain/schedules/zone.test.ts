import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { DAY_MS, epochDayOf, offsetAt, resolveZone, toInstant, toLocal, weekdayOf } from "./zone.ts";

const local = (iso: string) => Date.parse(`${iso}Z`); // a wall-clock reading, written as if UTC

describe("toInstant", () => {
  it.each([
    ["New York, plain winter time", "America/New_York", "2026-01-15T09:00", "2026-01-15T09:00:00-05:00"],
    ["New York, plain summer time", "America/New_York", "2026-07-15T09:00", "2026-07-15T09:00:00-04:00"],
    [
      "New York spring-forward gap: after the jump by the gap",
      "America/New_York",
      "2026-03-08T02:30",
      "2026-03-08T03:30:00-04:00",
    ],
    ["New York spring-forward gap edge", "America/New_York", "2026-03-08T02:00", "2026-03-08T03:00:00-04:00"],
    ["New York just after the gap", "America/New_York", "2026-03-08T03:00", "2026-03-08T03:00:00-04:00"],
    [
      "New York fall-back overlap: first occurrence",
      "America/New_York",
      "2026-11-01T01:30",
      "2026-11-01T01:30:00-04:00",
    ],
    [
      "New York fall-back, after the overlap",
      "America/New_York",
      "2026-11-01T02:00",
      "2026-11-01T02:00:00-05:00",
    ],
    ["Berlin spring-forward gap", "Europe/Berlin", "2026-03-29T02:30", "2026-03-29T03:30:00+02:00"],
    [
      "Berlin fall-back overlap: first occurrence",
      "Europe/Berlin",
      "2026-10-25T02:30",
      "2026-10-25T02:30:00+02:00",
    ],
    ["Berlin fall-back, after the overlap", "Europe/Berlin", "2026-10-25T03:00", "2026-10-25T03:00:00+01:00"],
    [
      "Lord Howe: a 30-minute DST gap",
      "Australia/Lord_Howe",
      "2026-10-04T02:15",
      "2026-10-04T02:45:00+11:00",
    ],
    ["UTC", "UTC", "2026-03-08T02:30", "2026-03-08T02:30:00Z"],
  ])("%s", (_name, zoneName, wall, expected) => {
    const zone = resolveZone(zoneName, "timeZone");
    expect(new Date(toInstant(zone, local(wall))).toISOString()).toBe(new Date(expected).toISOString());
  });
});

describe("toLocal and offsetAt", () => {
  it.each([
    ["America/New_York", "2026-03-08T06:59:59.999Z", "2026-03-08T01:59:59.999", -300],
    ["America/New_York", "2026-03-08T07:00:00.000Z", "2026-03-08T03:00:00.000", -240],
    ["America/New_York", "2026-11-01T05:59:59.999Z", "2026-11-01T01:59:59.999", -240],
    ["America/New_York", "2026-11-01T06:00:00.000Z", "2026-11-01T01:00:00.000", -300],
    ["Europe/Berlin", "2026-03-29T01:00:00.000Z", "2026-03-29T03:00:00.000", 120],
    ["Europe/Berlin", "2026-10-25T00:59:59.999Z", "2026-10-25T02:59:59.999", 120],
    ["Europe/Berlin", "2026-10-25T01:00:00.000Z", "2026-10-25T02:00:00.000", 60],
  ])("%s at %s reads %s", (zoneName, instant, wall, offset) => {
    const zone = resolveZone(zoneName, "timeZone");
    const t = Date.parse(instant);
    expect(offsetAt(zone, t)).toBe(offset);
    expect(new Date(toLocal(zone, t)).toISOString()).toBe(`${wall}Z`);
  });

  it("agrees with Luxon every 53 minutes through 2026 in both zones", () => {
    for (const name of ["America/New_York", "Europe/Berlin"]) {
      const zone = resolveZone(name, "timeZone");
      for (
        let t = Date.parse("2026-01-01T00:00:00Z");
        t < Date.parse("2027-01-01T00:00:00Z");
        t += 53 * 60_000
      ) {
        expect(offsetAt(zone, t)).toBe(DateTime.fromMillis(t, { zone: name }).offset);
      }
    }
  });

  // zone.ts reads the runtime's Intl itself (Luxon is kept out of the Lambda bundles): every offset,
  // including the transition days found by bisection, must be the one Luxon reads from the same data.
  it.each([
    ["Australia/Lord_Howe"], // half-hour DST
    ["Africa/Monrovia"], // -0:44:30 until 1972: an offset with seconds
    ["Asia/Kathmandu"], // +5:45
    ["Pacific/Apia"], // skipped 2011-12-30 entirely
    ["America/Sao_Paulo"], // DST at midnight (the wall clock skips 00:00), abolished 2019
    ["Europe/Dublin"], // negative DST in the tz data
  ])("agrees with Luxon in %s, every 49 h 37 min 11 s from 1965 to 2040", (name) => {
    const zone = resolveZone(name, "timeZone");
    for (
      let t = Date.parse("1965-01-01T00:00:00Z");
      t < Date.parse("2040-01-01T00:00:00Z");
      t += (49 * 60 + 37) * 60_000 + 11_000
    ) {
      expect(offsetAt(zone, t)).toBe(DateTime.fromMillis(t, { zone: name }).offset);
    }
  });
});

describe("resolveZone", () => {
  it.each([["Mars/Olympus_Mons"], [""], [undefined]])("rejects %s naming the field", (name) => {
    expect(() => resolveZone(name, "rules[0].timeZone")).toThrow(ValidationError);
    try {
      resolveZone(name, "timeZone");
    } catch (e) {
      expect((e as ValidationError).field).toBe("timeZone");
    }
  });
});

describe("calendar helpers", () => {
  it.each([
    ["1970-01-01", 4],
    ["2026-03-08", 0],
    ["2026-03-09", 1],
    ["2026-10-24", 6],
    ["1969-12-31", 3],
  ])("%s is weekday %i", (date, weekday) => {
    expect(weekdayOf(epochDayOf(Date.parse(`${date}T12:00:00Z`)))).toBe(weekday);
    expect(epochDayOf(Date.parse(`${date}T00:00:00Z`)) * DAY_MS).toBe(Date.parse(`${date}T00:00:00Z`));
  });
});
