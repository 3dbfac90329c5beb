import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import type { RoutableAlert } from "../routing/model.ts";
import {
  compileWindow,
  extendOccurrence,
  type MaintenanceSchedule,
  type MaintenanceWindow,
  maintenanceVerdict,
  parseLabelMatcher,
  validateWindowSpec,
  type WeeklySchedule,
  weeklySeriesEnd,
  windowTiming,
} from "./windows.ts";

const SERVICE_A = "11111111-1111-4111-8111-111111111111";
const SERVICE_B = "22222222-2222-4222-8222-222222222222";

function windowOf(overrides: Partial<MaintenanceWindow> = {}): MaintenanceWindow {
  return {
    id: "w1",
    name: "db upgrade",
    reason: "postgres 18",
    owner: "u-alice",
    action: "suppress",
    schedule: {
      kind: "once",
      startAt: new Date("2026-07-15T10:00:00Z"),
      endAt: new Date("2026-07-15T12:00:00Z"),
    },
    scope: { serviceIds: [SERVICE_A], labelMatchers: [], cel: "" },
    cancelledAt: null,
    createdAt: new Date("2026-07-01T00:00:00Z"),
    createdBy: "admin",
    updatedAt: new Date("2026-07-01T00:00:00Z"),
    updatedBy: "admin",
    ...overrides,
  };
}

const alert = (overrides: Partial<RoutableAlert> = {}): RoutableAlert => ({
  serviceId: SERVICE_A,
  summary: "disk full",
  details: "",
  severity: "critical",
  source: "alertmanager",
  dedupKey: "fp",
  labels: { env: "staging", team: "db", instance: "db-1.internal" },
  annotations: {},
  createdAt: new Date("2026-07-15T10:30:00Z"),
  ...overrides,
});

const weekly = (
  zone: string,
  weekdays: number[],
  startTime: string,
  durationMinutes: number,
): MaintenanceSchedule => ({
  kind: "weekly",
  zone,
  weekdays,
  startTime,
  durationMinutes,
  from: new Date("2026-01-01T00:00:00Z"),
  until: null,
});

describe("one-off windows: state from the clock", () => {
  it.each([
    ["before the start", "2026-07-15T09:59:59Z", "scheduled"],
    ["at the start", "2026-07-15T10:00:00Z", "active"],
    ["just before the end", "2026-07-15T11:59:59Z", "active"],
    ["at the end", "2026-07-15T12:00:00Z", "ended"],
  ])("%s → %s", (_name, iso, state) => {
    expect(windowTiming(windowOf(), new Date(iso)).state).toBe(state);
  });

  it("a cancelled window ends when cancelled (before its start too)", () => {
    const cancelled = windowOf({ cancelledAt: new Date("2026-07-15T11:00:00Z") });
    expect(windowTiming(cancelled, new Date("2026-07-15T10:59:00Z"))).toMatchObject({
      state: "active",
      currentEnd: new Date("2026-07-15T11:00:00Z"),
    });
    expect(windowTiming(cancelled, new Date("2026-07-15T11:00:00Z")).state).toBe("ended");
    const early = windowOf({ cancelledAt: new Date("2026-07-14T00:00:00Z") });
    expect(windowTiming(early, new Date("2026-07-14T00:00:00Z")).state).toBe("ended");
  });
});

describe("weekly windows on DST days (start on the wall clock, duration in real time)", () => {
  it.each([
    // New York fall back 2026-11-01: Sun 01:00 EDT (05:00Z) + 2 h ends 02:00 EST (07:00Z)
    ["NY fall: before", "America/New_York", [7], "01:00", 120, "2026-11-01T04:59:00Z", "scheduled"],
    ["NY fall: first 01:30 (EDT)", "America/New_York", [7], "01:00", 120, "2026-11-01T05:30:00Z", "active"],
    [
      "NY fall: repeated 01:30 (EST)",
      "America/New_York",
      [7],
      "01:00",
      120,
      "2026-11-01T06:30:00Z",
      "active",
    ],
    [
      "NY fall: 02:00 EST, two real hours later",
      "America/New_York",
      [7],
      "01:00",
      120,
      "2026-11-01T07:00:00Z",
      "scheduled",
    ],
    // New York spring forward 2026-03-08: a 02:30 start does not exist → 03:30 EDT (07:30Z)
    [
      "NY spring: 03:15 EDT, not yet",
      "America/New_York",
      [7],
      "02:30",
      60,
      "2026-03-08T07:15:00Z",
      "scheduled",
    ],
    ["NY spring: 03:30 EDT starts", "America/New_York", [7], "02:30", 60, "2026-03-08T07:30:00Z", "active"],
    ["NY spring: 04:30 EDT ended", "America/New_York", [7], "02:30", 60, "2026-03-08T08:30:00Z", "scheduled"],
    // Berlin fall back 2026-10-25: 02:30 happens twice; the window starts at the first (CEST, 00:30Z)
    ["Berlin fall: first 02:30 CEST", "Europe/Berlin", [7], "02:30", 60, "2026-10-25T00:30:00Z", "active"],
    [
      "Berlin fall: 03:29 wall (02:29 CET)",
      "Europe/Berlin",
      [7],
      "02:30",
      60,
      "2026-10-25T01:29:00Z",
      "active",
    ],
    [
      "Berlin fall: the repeated 02:30 CET is after the end",
      "Europe/Berlin",
      [7],
      "02:30",
      60,
      "2026-10-25T01:30:00Z",
      "scheduled",
    ],
    // Berlin spring forward 2026-03-29: 02:15 does not exist → 03:15 CEST (01:15Z)
    ["Berlin spring: 03:14 CEST", "Europe/Berlin", [7], "02:15", 30, "2026-03-29T01:14:00Z", "scheduled"],
    ["Berlin spring: 03:15 CEST", "Europe/Berlin", [7], "02:15", 30, "2026-03-29T01:15:00Z", "active"],
    // Spanning midnight and the change: Sat 22:00 CET + 8 h ends Sun 07:00 CEST (05:00Z)
    [
      "Berlin spring, overnight: Sun 06:59 CEST",
      "Europe/Berlin",
      [6],
      "22:00",
      480,
      "2026-03-29T04:59:00Z",
      "active",
    ],
    [
      "Berlin spring, overnight: Sun 07:00 CEST",
      "Europe/Berlin",
      [6],
      "22:00",
      480,
      "2026-03-29T05:00:00Z",
      "scheduled",
    ],
  ])("%s", (_name, zone, weekdays, start, minutes, iso, state) => {
    const window = windowOf({ schedule: weekly(zone, weekdays, start, minutes) });
    expect(windowTiming(window, new Date(iso)).state).toBe(state);
  });

  it("reports the next occurrence while scheduled, and the series ends at until", () => {
    const schedule = {
      ...weekly("Europe/Berlin", [1], "09:00", 60),
      until: new Date("2026-07-21T00:00:00Z"),
    };
    expect(windowTiming(windowOf({ schedule }), new Date("2026-07-14T12:00:00Z"))).toEqual({
      state: "scheduled",
      nextStart: new Date("2026-07-20T07:00:00Z"),
    });
    expect(windowTiming(windowOf({ schedule }), new Date("2026-07-20T08:00:00Z")).state).toBe("ended");
  });

  it("no occurrence before the series begins", () => {
    const schedule = { ...weekly("UTC", [3], "10:00", 60), from: new Date("2026-07-20T00:00:00Z") };
    expect(windowTiming(windowOf({ schedule }), new Date("2026-07-15T10:30:00Z"))).toEqual({
      state: "scheduled",
      nextStart: new Date("2026-07-22T10:00:00Z"),
    });
  });
});

describe("extending a weekly window's current occurrence", () => {
  const at = (iso: string) => new Date(iso);
  const extendAt = (schedule: WeeklySchedule, now: string, endAt: string): WeeklySchedule => {
    const timing = windowTiming(windowOf({ schedule }), at(now));
    expect(timing.state).toBe("active");
    return extendOccurrence(schedule, { start: timing.currentStart!, end: timing.currentEnd! }, at(endAt));
  };

  it("New York, fall-back day: Sun 00:30 EDT + 60 min extended to 01:30 EST (two more real hours); next week unchanged", () => {
    // 2026-11-01 00:30 EDT = 04:30Z; the series' occurrence ends 01:30 EDT = 05:30Z.
    const schedule = weekly("America/New_York", [7], "00:30", 60) as WeeklySchedule;
    const extended = extendAt(schedule, "2026-11-01T05:00:00Z", "2026-11-01T06:30:00Z");
    const window = windowOf({ schedule: extended });
    expect(windowTiming(window, at("2026-11-01T05:45:00Z"))).toEqual({
      state: "active",
      currentStart: at("2026-11-01T04:30:00Z"),
      currentEnd: at("2026-11-01T06:30:00Z"),
    });
    expect(windowTiming(window, at("2026-11-01T06:29:59Z")).state).toBe("active");
    expect(windowTiming(window, at("2026-11-01T06:30:00Z"))).toEqual({
      state: "scheduled",
      nextStart: at("2026-11-08T05:30:00Z"), // 00:30 EST
    });
    // The next occurrence keeps the series' 60 minutes.
    expect(windowTiming(window, at("2026-11-08T06:30:00Z")).state).toBe("scheduled");
    expect(windowTiming(window, at("2026-11-08T06:29:00Z")).currentEnd).toEqual(at("2026-11-08T06:30:00Z"));
  });

  it("Berlin, spring-forward day: the 02:15 start (03:15 CEST) extended past the jump", () => {
    const schedule = weekly("Europe/Berlin", [7], "02:15", 30) as WeeklySchedule;
    const extended = extendAt(schedule, "2026-03-29T01:20:00Z", "2026-03-29T03:00:00Z");
    const window = windowOf({ schedule: extended });
    expect(windowTiming(window, at("2026-03-29T02:59:00Z"))).toMatchObject({
      state: "active",
      currentStart: at("2026-03-29T01:15:00Z"),
      currentEnd: at("2026-03-29T03:00:00Z"),
    });
    expect(windowTiming(window, at("2026-03-29T03:00:00Z")).state).toBe("scheduled");
  });

  it("an extension outlasts the series' until; the series then ends with it", () => {
    const schedule = {
      ...weekly("UTC", [3], "10:00", 60),
      until: at("2026-07-15T10:45:00Z"),
    } as WeeklySchedule;
    const extended = extendAt(schedule, "2026-07-15T10:30:00Z", "2026-07-15T12:00:00Z");
    expect(weeklySeriesEnd(extended)).toEqual(at("2026-07-15T12:00:00Z"));
    expect(windowTiming(windowOf({ schedule: extended }), at("2026-07-15T11:59:00Z")).state).toBe("active");
    expect(windowTiming(windowOf({ schedule: extended }), at("2026-07-15T12:00:00Z")).state).toBe("ended");
  });

  it("extending again moves the same occurrence's end; an end not after the current one or past a week is refused", () => {
    const schedule = weekly("UTC", [3], "10:00", 60) as WeeklySchedule;
    const once = extendAt(schedule, "2026-07-15T10:30:00Z", "2026-07-15T11:30:00Z");
    const twice = extendAt(once, "2026-07-15T11:15:00Z", "2026-07-15T13:00:00Z");
    expect(twice.extension).toEqual({
      occurrenceStart: at("2026-07-15T10:00:00Z"),
      endAt: at("2026-07-15T13:00:00Z"),
    });
    expect(() => extendAt(twice, "2026-07-15T12:00:00Z", "2026-07-15T12:30:00Z")).toThrow(
      "end_time: must be after the current occurrence's end 2026-07-15T13:00:00.000Z",
    );
    expect(() => extendAt(schedule, "2026-07-15T10:30:00Z", "2026-07-22T10:00:01Z")).toThrow(ValidationError);
  });
});

describe("label matchers, Prometheus style", () => {
  it.each([
    ['env="staging"', { operator: "equals", value: "staging" }],
    ['env!="prod"', { operator: "not_equals", value: "prod" }],
    ['env=~"stag.*"', { operator: "regex", value: "stag.*" }],
    ['env!~"prod|live"', { operator: "not_regex", value: "prod|live" }],
    ['env=""', { operator: "not_exists" }],
    ['env!=""', { operator: "exists" }],
    [' env = "a \\"quoted\\" \\\\ value" ', { operator: "equals", value: 'a "quoted" \\ value' }],
  ])("%s", (text, expected) => {
    expect(parseLabelMatcher(text, "m")).toEqual({ field: { kind: "label", name: "env" }, ...expected });
  });

  it.each(["env", "env=staging", '1env="x"', 'env=="x"', 'env="x\\q"', 'env~"x"'])("rejects %s", (text) => {
    expect(() => parseLabelMatcher(text, "scope.label_matchers[0]")).toThrow("scope.label_matchers[0]");
  });
});

describe("verdicts", () => {
  const at = new Date("2026-07-15T10:30:00Z");
  const compiled = (...windows: MaintenanceWindow[]) => windows.map((w) => compileWindow(w));

  it.each<[string, Partial<MaintenanceWindow>["scope"], Partial<RoutableAlert>, boolean]>([
    ["service in scope", { serviceIds: [SERVICE_A], labelMatchers: [], cel: "" }, {}, true],
    [
      "other service",
      { serviceIds: [SERVICE_A], labelMatchers: [], cel: "" },
      { serviceId: SERVICE_B },
      false,
    ],
    [
      "labels only, any service",
      { serviceIds: [], labelMatchers: ['env="staging"'], cel: "" },
      { serviceId: SERVICE_B },
      true,
    ],
    ["label mismatch", { serviceIds: [], labelMatchers: ['env="prod"'], cel: "" }, {}, false],
    [
      "regex anchored",
      { serviceIds: [], labelMatchers: ['instance=~"db-\\\\d+\\\\.internal"'], cel: "" },
      {},
      true,
    ],
    [
      "!~ with the label missing holds",
      { serviceIds: [], labelMatchers: ['region!~"eu-.*"'], cel: "" },
      {},
      true,
    ],
    ["service AND labels", { serviceIds: [SERVICE_A], labelMatchers: ['team="web"'], cel: "" }, {}, false],
    ["CEL", { serviceIds: [], labelMatchers: [], cel: 'alert.severity == "critical"' }, {}, true],
    ["CEL false", { serviceIds: [], labelMatchers: [], cel: 'alert.severity == "info"' }, {}, false],
    [
      "CEL that errors does not cover",
      { serviceIds: [], labelMatchers: [], cel: 'alert.labels.nope == "x"' },
      {},
      false,
    ],
  ])("%s", (_name, scope, alertOverrides, covered) => {
    const verdict = maintenanceVerdict(compiled(windowOf({ scope: scope! })), alert(alertOverrides), at);
    expect(verdict.action).toBe(covered ? "suppress" : "none");
  });

  it("suppress wins over annotate; among equals the earliest created", () => {
    const annotate = windowOf({
      id: "a",
      name: "annotate",
      action: "annotate",
      createdAt: new Date("2026-01-01T00:00:00Z"),
    });
    const suppress = windowOf({ id: "s", name: "suppress", action: "suppress" });
    const olderSuppress = windowOf({
      id: "s0",
      action: "suppress",
      createdAt: new Date("2026-06-01T00:00:00Z"),
    });
    expect(maintenanceVerdict(compiled(annotate), alert(), at)).toEqual({
      action: "annotate",
      windowId: "a",
      windowName: "annotate",
      reason: "postgres 18",
    });
    expect(maintenanceVerdict(compiled(annotate, suppress), alert(), at)).toMatchObject({
      action: "suppress",
      windowId: "s",
    });
    expect(maintenanceVerdict(compiled(suppress, annotate), alert(), at)).toMatchObject({
      action: "suppress",
      windowId: "s",
    });
    expect(maintenanceVerdict(compiled(suppress, olderSuppress), alert(), at)).toMatchObject({
      windowId: "s0",
    });
  });

  it("one window object asked as the clock moves: the remembered state ends at each boundary", () => {
    const windows = compiled(windowOf({ schedule: weekly("Europe/Berlin", [3], "12:00", 60) }));
    const at = (iso: string) => maintenanceVerdict(windows, alert(), new Date(iso)).action;
    expect(at("2026-07-15T09:59:59Z")).toBe("none"); // 11:59:59 CEST, scheduled
    expect(at("2026-07-15T10:00:00Z")).toBe("suppress");
    expect(at("2026-07-15T10:59:59Z")).toBe("suppress");
    expect(at("2026-07-15T11:00:00Z")).toBe("none");
    expect(at("2026-07-22T10:30:00Z")).toBe("suppress"); // next Wednesday
    expect(at("2026-07-15T10:30:00Z")).toBe("suppress"); // the clock went back
  });

  it("only active windows count", () => {
    expect(maintenanceVerdict(compiled(windowOf()), alert(), new Date("2026-07-15T12:00:00Z"))).toEqual({
      action: "none",
    });
    expect(maintenanceVerdict(compiled(windowOf()), alert(), new Date("2026-07-15T09:00:00Z"))).toEqual({
      action: "none",
    });
  });
});

describe("validation names the field", () => {
  const spec = () => {
    const {
      id: _i,
      cancelledAt: _c,
      createdAt: _ca,
      createdBy: _cb,
      updatedAt: _ua,
      updatedBy: _ub,
      ...rest
    } = windowOf();
    return rest;
  };
  it.each<[string, object, string]>([
    ["blank name", { name: " " }, "name"],
    ["no owner", { owner: "" }, "owner"],
    ["bad action", { action: "mute" }, "action"],
    [
      "end before start",
      {
        schedule: {
          kind: "once",
          startAt: new Date("2026-07-15T12:00:00Z"),
          endAt: new Date("2026-07-15T10:00:00Z"),
        },
      },
      "schedule.one_time.end_time",
    ],
    ["bad zone", { schedule: weekly("Mars/Base", [1], "09:00", 60) }, "schedule.weekly.time_zone"],
    ["bad weekday", { schedule: weekly("UTC", [8], "09:00", 60) }, "schedule.weekly.weekdays[0]"],
    ["bad time", { schedule: weekly("UTC", [1], "9am", 60) }, "schedule.weekly.start_time"],
    ["too long", { schedule: weekly("UTC", [1], "09:00", 20_000) }, "schedule.weekly.duration_minutes"],
    ["empty scope", { scope: { serviceIds: [], labelMatchers: [], cel: "" } }, "scope"],
    [
      "bad matcher",
      { scope: { serviceIds: [], labelMatchers: ['env="x"', "env"], cel: "" } },
      "scope.label_matchers[1]",
    ],
    [
      "bad regex",
      { scope: { serviceIds: [], labelMatchers: ['env=~"("'], cel: "" } },
      "scope.label_matchers[0]",
    ],
    ["bad CEL", { scope: { serviceIds: [], labelMatchers: [], cel: "alert.severity ==" } }, "scope.cel"],
  ])("%s → %s", (_name, overrides, field) => {
    try {
      validateWindowSpec({ ...spec(), ...overrides } as never);
      expect.unreachable("expected a ValidationError");
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });

  it("a bad CEL scope says where", () => {
    expect(() =>
      validateWindowSpec({
        ...spec(),
        scope: { serviceIds: [], labelMatchers: [], cel: "alert.sevrity == 1" },
      }),
    ).toThrow(/scope\.cel: No such key: sevrity \(line 1, column 7\)/);
  });
});
