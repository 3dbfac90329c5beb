import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import {
  listShifts,
  type OnCallUser,
  onCallAt,
  type Shift,
  type ShiftSource,
  upcomingShiftsForUser,
} from "./on-call.ts";
import type { Rotation } from "./rotation.ts";
import type { Override, Schedule } from "./schedule.ts";

const at = (iso: string) => new Date(iso);
const utc = (iso: string) => at(iso).toISOString();
const src = (s: ShiftSource) => (s.kind === "rule" ? `r${s.ruleIndex}` : `o${s.overrideIndex}`);
const who = (users: OnCallUser[]) => users.map((u) => `${u.userId}:${u.sources.map(src).join("+")}`);
const row = (s: Shift) => `${s.userId} ${src(s.source)} ${s.start.toISOString()} ${s.end.toISOString()}`;
const r = (userId: string, source: string, start: string, end: string) =>
  `${userId} ${source} ${utc(start)} ${utc(end)}`;

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

// New York. A weekly primary rotation handing off Mondays 09:00 (alice from 2 March 2026, bob, carol),
// on call around the clock; wendy covers weekend days; nick covers weeknights (crossing midnight).
const rotations = new Map<string, Rotation>([
  [
    "primary",
    {
      participants: ["alice", "bob", "carol"],
      shiftLength: { count: 1, unit: "week" },
      start: at("2026-03-02T09:00:00-05:00"),
      timeZone: "America/New_York",
    },
  ],
]);
const primary = {
  target: { kind: "rotation", rotationId: "primary" },
  weekdays: [0, 1, 2, 3, 4, 5, 6],
  start: "00:00",
  end: "00:00",
} as const;
const schedule: Schedule = {
  timeZone: "America/New_York",
  rules: [
    primary,
    { target: { kind: "user", userId: "wendy" }, weekdays: ["sat", "sun"], start: "09:00", end: "21:00" },
    {
      target: { kind: "user", userId: "nick" },
      weekdays: ["mon", "tue", "wed", "thu", "fri"],
      start: "22:00",
      end: "06:00",
    },
  ],
};
const primaryOnly: Schedule = { timeZone: "America/New_York", rules: [primary] };

describe("onCallAt: rules", () => {
  it.each([
    ["before the rotation starts, Monday 08:59", "2026-03-02T08:59:59-05:00", []],
    ["Monday after the first handoff", "2026-03-02T10:00:00-05:00", ["alice:r0"]],
    ["Friday night", "2026-03-06T23:00:00-05:00", ["alice:r0", "nick:r2"]],
    [
      "Saturday 05:59: Friday's window crosses midnight",
      "2026-03-07T05:59:59-05:00",
      ["alice:r0", "nick:r2"],
    ],
    ["Saturday 06:00: the night window has ended", "2026-03-07T06:00:00-05:00", ["alice:r0"]],
    ["Saturday 09:00: the weekend layer starts", "2026-03-07T09:00:00-05:00", ["alice:r0", "wendy:r1"]],
    ["spring-forward Sunday 03:30 EDT", "2026-03-08T03:30:00-04:00", ["alice:r0"]],
    ["spring-forward Sunday 20:59 EDT", "2026-03-08T20:59:00-04:00", ["alice:r0", "wendy:r1"]],
    ["Sunday night is not a weeknight", "2026-03-08T23:00:00-04:00", ["alice:r0"]],
    ["Monday 08:59:59.999 EDT, just before the handoff", "2026-03-09T08:59:59.999-04:00", ["alice:r0"]],
    ["Monday 09:00 EDT, the handoff (same wall time after DST)", "2026-03-09T09:00:00-04:00", ["bob:r0"]],
    ["Monday night", "2026-03-09T22:00:00-04:00", ["bob:r0", "nick:r2"]],
    ["fall-back Sunday 01:30 EST (second occurrence)", "2026-11-01T01:30:00-05:00", ["bob:r0"]],
  ])("%s", (_name, t, expected) => {
    expect(who(onCallAt(schedule, rotations, [], at(t)))).toEqual(expected);
  });

  it("gives the same user once, with every rule that puts them on call", () => {
    const both: Schedule = {
      timeZone: "Europe/Berlin",
      rules: [
        { target: { kind: "user", userId: "u" }, weekdays: [1], start: "08:00", end: "18:00" },
        { target: { kind: "user", userId: "u" }, weekdays: ["monday"], start: "12:00", end: "13:00" },
        { target: { kind: "user", userId: "a" }, weekdays: [1], start: "00:00", end: "00:00" },
      ],
    };
    expect(who(onCallAt(both, new Map(), [], at("2026-03-30T12:30:00+02:00")))).toEqual(["a:r2", "u:r0+r1"]);
  });
});

describe("listShifts: rules", () => {
  it("lists a week of the three layers, clipped to the range, across spring-forward", () => {
    const shifts = listShifts(
      schedule,
      rotations,
      [],
      at("2026-03-06T00:00:00-05:00"),
      at("2026-03-10T00:00:00-04:00"),
    );
    expect(shifts.map(row)).toEqual([
      r("alice", "r0", "2026-03-06T00:00:00-05:00", "2026-03-09T09:00:00-04:00"),
      r("nick", "r2", "2026-03-06T00:00:00-05:00", "2026-03-06T06:00:00-05:00"),
      r("nick", "r2", "2026-03-06T22:00:00-05:00", "2026-03-07T06:00:00-05:00"),
      r("wendy", "r1", "2026-03-07T09:00:00-05:00", "2026-03-07T21:00:00-05:00"),
      r("wendy", "r1", "2026-03-08T09:00:00-04:00", "2026-03-08T21:00:00-04:00"),
      r("bob", "r0", "2026-03-09T09:00:00-04:00", "2026-03-10T00:00:00-04:00"),
      r("nick", "r2", "2026-03-09T22:00:00-04:00", "2026-03-10T00:00:00-04:00"),
    ]);
  });

  it("merges adjacent windows of one user from one rule, and consecutive turns of a repeated user", () => {
    const daily: Rotation = {
      participants: ["a", "a", "b"],
      shiftLength: { count: 1, unit: "day" },
      start: at("2026-10-23T09:00:00+02:00"),
      timeZone: "Europe/Berlin",
    };
    const s: Schedule = {
      timeZone: "Europe/Berlin",
      rules: [
        {
          target: { kind: "user", userId: "u" },
          weekdays: [0, 1, 2, 3, 4, 5, 6],
          start: "00:00",
          end: "00:00",
        },
        {
          target: { kind: "rotation", rotationId: "d" },
          weekdays: [0, 1, 2, 3, 4, 5, 6],
          start: "09:00",
          end: "09:00",
        },
      ],
    };
    const shifts = listShifts(
      s,
      new Map([["d", daily]]),
      [],
      at("2026-10-23T00:00:00+02:00"),
      at("2026-10-30T00:00:00+01:00"),
    );
    expect(shifts.map(row)).toEqual([
      r("u", "r0", "2026-10-23T00:00:00+02:00", "2026-10-30T00:00:00+01:00"),
      r("a", "r1", "2026-10-23T09:00:00+02:00", "2026-10-25T09:00:00+01:00"),
      r("b", "r1", "2026-10-25T09:00:00+01:00", "2026-10-26T09:00:00+01:00"),
      r("a", "r1", "2026-10-26T09:00:00+01:00", "2026-10-28T09:00:00+01:00"),
      r("b", "r1", "2026-10-28T09:00:00+01:00", "2026-10-29T09:00:00+01:00"),
      r("a", "r1", "2026-10-29T09:00:00+01:00", "2026-10-30T00:00:00+01:00"),
    ]);
  });

  it("intersects a rotation with a part-time window, across fall-back in Berlin with 12 h shifts", () => {
    const twelve: Rotation = {
      participants: ["x", "y"],
      shiftLength: { count: 12, unit: "hour" },
      start: at("2026-10-24T08:00:00+02:00"),
      timeZone: "Europe/Berlin",
    };
    const s: Schedule = {
      timeZone: "Europe/Berlin",
      rules: [
        {
          target: { kind: "rotation", rotationId: "t" },
          weekdays: ["sat", "sun"],
          start: "18:00",
          end: "02:30",
        },
      ],
    };
    const shifts = listShifts(
      s,
      new Map([["t", twelve]]),
      [],
      at("2026-10-24T00:00:00+02:00"),
      at("2026-10-26T00:00:00+01:00"),
    );
    expect(shifts.map(row)).toEqual([
      r("x", "r0", "2026-10-24T18:00:00+02:00", "2026-10-24T20:00:00+02:00"),
      // 02:30 on fall-back night is its first occurrence (CEST).
      r("y", "r0", "2026-10-24T20:00:00+02:00", "2026-10-25T02:30:00+02:00"),
      // Absolute 12 h: the 08:00/20:00 CEST handoffs are 07:00/19:00 CET after fall-back.
      r("x", "r0", "2026-10-25T18:00:00+01:00", "2026-10-25T19:00:00+01:00"),
      r("y", "r0", "2026-10-25T19:00:00+01:00", "2026-10-26T00:00:00+01:00"),
    ]);
  });
});

describe("overrides", () => {
  const monday = "2026-03-09T09:00:00-04:00"; // alice → bob handoff
  const nextMonday = "2026-03-16T09:00:00-04:00"; // bob → carol handoff

  it("replace exactly over a shift: starts and ends on the handoffs", () => {
    const overrides: Override[] = [
      { kind: "replace", userId: "dave", replacesUserId: "bob", start: at(monday), end: at(nextMonday) },
    ];
    const check = (t: string) => who(onCallAt(primaryOnly, rotations, overrides, at(t)));
    expect(check("2026-03-09T08:59:59.999-04:00")).toEqual(["alice:r0"]);
    expect(check(monday)).toEqual(["dave:o0"]);
    expect(check("2026-03-16T08:59:59.999-04:00")).toEqual(["dave:o0"]);
    expect(check(nextMonday)).toEqual(["carol:r0"]);
    expect(
      listShifts(
        primaryOnly,
        rotations,
        overrides,
        at("2026-03-09T00:00:00-04:00"),
        at("2026-03-17T00:00:00-04:00"),
      ).map(row),
    ).toEqual([
      r("alice", "r0", "2026-03-09T00:00:00-04:00", monday),
      r("dave", "o0", monday, nextMonday),
      r("carol", "r0", nextMonday, "2026-03-17T00:00:00-04:00"),
    ]);
  });

  it("remove from a handoff leaves a gap; the rest of the shift stays", () => {
    const overrides: Override[] = [
      { kind: "remove", userId: "bob", start: at(monday), end: at("2026-03-10T09:00:00-04:00") },
    ];
    expect(who(onCallAt(primaryOnly, rotations, overrides, at(monday)))).toEqual([]);
    expect(
      listShifts(
        primaryOnly,
        rotations,
        overrides,
        at("2026-03-09T00:00:00-04:00"),
        at("2026-03-17T00:00:00-04:00"),
      ).map(row),
    ).toEqual([
      r("alice", "r0", "2026-03-09T00:00:00-04:00", monday),
      r("bob", "r0", "2026-03-10T09:00:00-04:00", nextMonday),
      r("carol", "r0", nextMonday, "2026-03-17T00:00:00-04:00"),
    ]);
  });

  // All overlapping at Wednesday noon, while alice is on call through rule 0.
  const t = at("2026-03-04T12:00:00-05:00");
  const o = (x: Record<string, string>): Override =>
    ({ ...x, start: at("2026-03-04T00:00:00-05:00"), end: at("2026-03-05T00:00:00-05:00") }) as Override;
  it.each([
    [
      "add beats remove (remove created later)",
      [o({ kind: "add", userId: "eve" }), o({ kind: "remove", userId: "eve" })],
      ["alice:r0", "eve:o0"],
    ],
    [
      "add beats remove (remove created first)",
      [o({ kind: "remove", userId: "eve" }), o({ kind: "add", userId: "eve" })],
      ["alice:r0", "eve:o1"],
    ],
    [
      "replace, then remove of the replaced user does nothing more",
      [
        o({ kind: "replace", userId: "frank", replacesUserId: "alice" }),
        o({ kind: "remove", userId: "alice" }),
      ],
      ["frank:o0"],
    ],
    [
      "remove applies after replace: the replacement can be removed",
      [
        o({ kind: "remove", userId: "frank" }),
        o({ kind: "replace", userId: "frank", replacesUserId: "alice" }),
      ],
      [],
    ],
    [
      "add applies after replace: the replaced user can be added back",
      [o({ kind: "add", userId: "alice" }), o({ kind: "replace", userId: "frank", replacesUserId: "alice" })],
      ["alice:o0", "frank:o1"],
    ],
    [
      "chained replaces apply in creation order (alice→bob, bob→carol)",
      [
        o({ kind: "replace", userId: "bob", replacesUserId: "alice" }),
        o({ kind: "replace", userId: "carol", replacesUserId: "bob" }),
      ],
      ["carol:o1"],
    ],
    [
      "chained replaces created the other way round (bob→carol, alice→bob)",
      [
        o({ kind: "replace", userId: "carol", replacesUserId: "bob" }),
        o({ kind: "replace", userId: "bob", replacesUserId: "alice" }),
      ],
      ["bob:o1"],
    ],
    [
      "replace of someone not on call does nothing",
      [o({ kind: "replace", userId: "dave", replacesUserId: "bob" })],
      ["alice:r0"],
    ],
    ["add of someone already on call adds a reason", [o({ kind: "add", userId: "alice" })], ["alice:r0+o0"]],
    [
      "remove then add of someone on call: on call by the override only",
      [o({ kind: "remove", userId: "alice" }), o({ kind: "add", userId: "alice" })],
      ["alice:o1"],
    ],
  ] as [string, Override[], string[]][])("%s", (_name, overrides, expected) => {
    expect(who(onCallAt(primaryOnly, rotations, overrides, t))).toEqual(expected);
    // The listing agrees with the point query.
    const listed = listShifts(
      primaryOnly,
      rotations,
      overrides,
      at("2026-03-04T11:00:00-05:00"),
      at("2026-03-04T13:00:00-05:00"),
    );
    expect(listed.map((s) => `${s.userId}:${src(s.source)}`).sort()).toEqual(
      expected
        .flatMap((e) => {
          const [user, sources] = e.split(":");
          return sources!.split("+").map((s) => `${user}:${s}`);
        })
        .sort(),
    );
  });

  it("clips overrides to the range and ignores those outside it", () => {
    const overrides: Override[] = [
      { kind: "add", userId: "eve", start: at("2026-03-01T00:00:00Z"), end: at("2026-03-04T12:00:00Z") },
      { kind: "add", userId: "zed", start: at("2026-04-01T00:00:00Z"), end: at("2026-04-02T00:00:00Z") },
    ];
    const shifts = listShifts(
      primaryOnly,
      rotations,
      overrides,
      at("2026-03-04T00:00:00Z"),
      at("2026-03-05T00:00:00Z"),
    );
    expect(shifts.map(row)).toEqual([
      r("alice", "r0", "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z"),
      r("eve", "o0", "2026-03-04T00:00:00Z", "2026-03-04T12:00:00Z"),
    ]);
  });
});

describe("upcomingShiftsForUser", () => {
  it("merges a user's shifts across reasons into continuous periods, from now", () => {
    const overrides: Override[] = [
      // alice extends her week by a day, in two back-to-back overrides.
      {
        kind: "add",
        userId: "alice",
        start: at("2026-03-09T09:00:00-04:00"),
        end: at("2026-03-09T21:00:00-04:00"),
      },
      {
        kind: "add",
        userId: "alice",
        start: at("2026-03-09T21:00:00-04:00"),
        end: at("2026-03-10T09:00:00-04:00"),
      },
    ];
    const mine = upcomingShiftsForUser(
      schedule,
      rotations,
      overrides,
      "alice",
      at("2026-03-04T12:00:00-05:00"),
      at("2026-04-01T00:00:00-04:00"),
    );
    expect(
      mine.map((s) => `${s.start.toISOString()} ${s.end.toISOString()} ${s.sources.map(src).join("+")}`),
    ).toEqual([
      `${utc("2026-03-04T12:00:00-05:00")} ${utc("2026-03-10T09:00:00-04:00")} r0+o0+o1`,
      `${utc("2026-03-23T09:00:00-04:00")} ${utc("2026-03-30T09:00:00-04:00")} r0`,
    ]);
    // The listing keeps the two overrides apart: they are different sources.
    const listed = listShifts(
      schedule,
      rotations,
      overrides,
      at("2026-03-09T00:00:00-04:00"),
      at("2026-03-11T00:00:00-04:00"),
    );
    expect(listed.filter((s) => s.userId === "alice").map((s) => src(s.source))).toEqual(["r0", "o0", "o1"]);
  });
});

describe("query validation", () => {
  const from = at("2026-01-01T00:00:00Z");
  it.each([
    ["end equal to start", () => listShifts(schedule, rotations, [], from, from), "end"],
    ["end before start", () => listShifts(schedule, rotations, [], from, at("2025-12-31T00:00:00Z")), "end"],
    [
      "more than 366 days",
      () => listShifts(schedule, rotations, [], from, at("2027-01-02T00:00:00.001Z")),
      "end",
    ],
    ["an invalid start", () => listShifts(schedule, rotations, [], new Date(Number.NaN), from), "start"],
    ["an invalid instant", () => onCallAt(schedule, rotations, [], new Date(Number.NaN)), "at"],
    [
      "a bad override",
      () => onCallAt(schedule, rotations, [{ kind: "add", userId: "", start: from, end: from }], from),
      "overrides[0].userId",
    ],
    [
      "a bad rule",
      () => onCallAt({ ...schedule, rules: [primary, { ...primary, end: "7pm" }] }, rotations, [], from),
      "rules[1].end",
    ],
    [
      "no user",
      () => upcomingShiftsForUser(schedule, rotations, [], "", from, at("2026-02-01T00:00:00Z")),
      "userId",
    ],
    [
      "until before now",
      () => upcomingShiftsForUser(schedule, rotations, [], "alice", from, at("2025-02-01T00:00:00Z")),
      "until",
    ],
  ])("rejects %s", (_name, fn, field) => {
    expect(fieldOf(fn)).toBe(field);
  });

  it("accepts exactly 366 days", () => {
    expect(
      listShifts(schedule, rotations, [], at("2028-01-01T00:00:00Z"), at("2029-01-01T00:00:00Z")).length,
    ).toBeGreaterThan(0);
  });
});

describe("a year with three rules and fifty overrides", () => {
  const yearRotations = new Map<string, Rotation>([
    [
      "primary",
      {
        participants: ["p1", "p2", "p3", "p4"],
        shiftLength: { count: 1, unit: "week" },
        start: at("2026-01-05T09:00:00-05:00"),
        timeZone: "America/New_York",
      },
    ],
    [
      "secondary",
      {
        participants: ["s1", "s2", "s3"],
        shiftLength: { count: 12, unit: "hour" },
        start: at("2026-01-01T08:00:00-05:00"),
        timeZone: "America/New_York",
      },
    ],
  ]);
  const yearSchedule: Schedule = {
    timeZone: "America/New_York",
    rules: [
      {
        target: { kind: "rotation", rotationId: "primary" },
        weekdays: [0, 1, 2, 3, 4, 5, 6],
        start: "00:00",
        end: "00:00",
      },
      {
        target: { kind: "rotation", rotationId: "secondary" },
        weekdays: [1, 2, 3, 4, 5],
        start: "18:00",
        end: "08:00",
      },
      { target: { kind: "user", userId: "weekend" }, weekdays: ["sat", "sun"], start: "09:00", end: "09:00" },
    ],
  };
  // Deterministic pseudo-random overrides (a linear congruential generator with a fixed seed).
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pool = ["p1", "p2", "p3", "p4", "s1", "s2", "s3", "x1", "x2", "weekend"];
  const pick = () => pool[Math.floor(rand() * pool.length)]!;
  const yearStart = Date.parse("2026-01-01T05:00:00Z");
  const quarter = 15 * 60_000;
  const yearOverrides: Override[] = Array.from({ length: 50 }, (_, i) => {
    const start = new Date(yearStart + Math.floor((rand() * 360 * 86_400_000) / quarter) * quarter);
    const end = new Date(start.getTime() + (4 + Math.floor(rand() * 4 * 24 * 4)) * quarter);
    const userId = pick();
    if (i % 3 === 0) return { kind: "add", userId, start, end };
    if (i % 3 === 1) return { kind: "remove", userId, start, end };
    const replacesUserId = pool.find((u) => u !== userId && rand() < 0.3) ?? (userId === "p1" ? "p2" : "p1");
    return { kind: "replace", userId, replacesUserId, start, end };
  });
  const from = at("2026-01-01T00:00:00-05:00");
  const to = at("2027-01-01T00:00:00-05:00");
  const shifts = listShifts(yearSchedule, yearRotations, yearOverrides, from, to);

  it("returns plausible counts, merged and within the range", () => {
    const byRule = (i: number) =>
      shifts.filter((s) => s.source.kind === "rule" && s.source.ruleIndex === i).length;
    // Without overrides: 52 weekly turns (from 5 January); 2 × 261 weeknight pieces (each window meets
    // two 12 h turns); 52 weekends (Saturday and Sunday windows merge). Overrides cut some, drop others.
    expect(byRule(0)).toBeGreaterThanOrEqual(45);
    expect(byRule(0)).toBeLessThan(53 + 2 * 50);
    expect(byRule(1)).toBeGreaterThanOrEqual(2 * 261 - 60);
    expect(byRule(1)).toBeLessThan(2 * 261 + 2 * 50);
    expect(byRule(2)).toBeGreaterThanOrEqual(45);
    expect(byRule(2)).toBeLessThan(53 + 2 * 50);
    expect(shifts.filter((s) => s.source.kind === "override").length).toBeLessThanOrEqual(2 * 50);
    const seen = new Map<string, Shift>();
    for (const s of shifts) {
      expect(s.start.getTime()).toBeLessThan(s.end.getTime());
      expect(s.start.getTime()).toBeGreaterThanOrEqual(from.getTime());
      expect(s.end.getTime()).toBeLessThanOrEqual(to.getTime());
      const key = `${s.userId} ${src(s.source)}`;
      const previous = seen.get(key);
      if (previous) expect(previous.end.getTime()).toBeLessThan(s.start.getTime()); // merged: never touching
      seen.set(key, s);
    }
  });

  it("agrees with onCallAt at every edge and at a thousand other instants", () => {
    const instants = new Set<number>();
    for (const s of shifts) instants.add(s.start.getTime()).add(s.end.getTime() - 1);
    for (const o of yearOverrides)
      instants
        .add(o.start.getTime())
        .add(o.end.getTime() - 1)
        .add(o.end.getTime());
    for (let i = 0; i < 1000; i++)
      instants.add(from.getTime() + Math.floor(rand() * (to.getTime() - from.getTime())));
    for (const t of instants) {
      if (t < from.getTime() || t >= to.getTime()) continue;
      const listed = shifts
        .filter((s) => s.start.getTime() <= t && t < s.end.getTime())
        .map((s) => `${s.userId}:${src(s.source)}`)
        .sort();
      const point = onCallAt(yearSchedule, yearRotations, yearOverrides, new Date(t))
        .flatMap((u) => u.sources.map((s) => `${u.userId}:${src(s)}`))
        .sort();
      expect(point, new Date(t).toISOString()).toEqual(listed);
    }
  });
});
