import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import {
  addParticipant,
  moveParticipant,
  type Rotation,
  removeParticipant,
  reorderParticipants,
  rotationShiftAt,
  rotationShifts,
  type ShiftLength,
  setCurrentParticipant,
} from "./rotation.ts";

const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

function rotation(
  timeZone: string,
  start: string,
  shiftLength: ShiftLength,
  participants = ["a", "b", "c"],
): Rotation {
  return { participants, shiftLength, start: at(start), timeZone };
}

const day: ShiftLength = { count: 1, unit: "day" };
const week: ShiftLength = { count: 1, unit: "week" };

describe("handoffs across DST", () => {
  it.each([
    {
      name: "daily 09:00, New York spring-forward (the Saturday shift lasts 23 h)",
      r: rotation("America/New_York", "2026-03-06T09:00:00-05:00", day),
      handoffs: [
        "2026-03-06T09:00:00-05:00",
        "2026-03-07T09:00:00-05:00",
        "2026-03-08T09:00:00-04:00",
        "2026-03-09T09:00:00-04:00",
      ],
    },
    {
      name: "daily 09:00, New York fall-back (the Saturday shift lasts 25 h)",
      r: rotation("America/New_York", "2026-10-30T09:00:00-04:00", day),
      handoffs: [
        "2026-10-30T09:00:00-04:00",
        "2026-10-31T09:00:00-04:00",
        "2026-11-01T09:00:00-05:00",
        "2026-11-02T09:00:00-05:00",
      ],
    },
    {
      name: "daily 02:30, New York: 02:30 does not exist on 8 March, handoff at 03:30 EDT, back to 02:30 next day",
      r: rotation("America/New_York", "2026-03-06T02:30:00-05:00", day),
      handoffs: [
        "2026-03-06T02:30:00-05:00",
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T02:30:00-04:00",
      ],
    },
    {
      name: "daily 01:30, New York fall-back: 01:30 happens twice, handoff at the first (EDT)",
      r: rotation("America/New_York", "2026-10-30T01:30:00-04:00", day),
      handoffs: [
        "2026-10-30T01:30:00-04:00",
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
      ],
    },
    {
      name: "daily, starting on the second 01:30 (EST) of fall-back day: start is kept as given",
      r: rotation("America/New_York", "2026-11-01T01:30:00-05:00", day),
      handoffs: ["2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"],
    },
    {
      name: "weekly Sunday 02:30, New York spring-forward",
      r: rotation("America/New_York", "2026-03-01T02:30:00-05:00", week),
      handoffs: ["2026-03-01T02:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-15T02:30:00-04:00"],
    },
    {
      name: "weekly Monday 09:00, Berlin spring-forward",
      r: rotation("Europe/Berlin", "2026-03-23T09:00:00+01:00", week),
      handoffs: ["2026-03-23T09:00:00+01:00", "2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00"],
    },
    {
      name: "weekly Monday 09:00, Berlin fall-back",
      r: rotation("Europe/Berlin", "2026-10-19T09:00:00+02:00", week),
      handoffs: ["2026-10-19T09:00:00+02:00", "2026-10-26T09:00:00+01:00"],
    },
    {
      name: "daily 02:30, Berlin spring-forward: 03:30 CEST on 29 March",
      r: rotation("Europe/Berlin", "2026-03-27T02:30:00+01:00", day),
      handoffs: [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
      ],
    },
    {
      name: "daily 02:30, Berlin fall-back: the first 02:30 (CEST) on 25 October",
      r: rotation("Europe/Berlin", "2026-10-23T02:30:00+02:00", day),
      handoffs: [
        "2026-10-23T02:30:00+02:00",
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
      ],
    },
    {
      name: "two-weekly, Berlin, across spring-forward",
      r: rotation("Europe/Berlin", "2026-03-16T09:00:00+01:00", { count: 2, unit: "week" }),
      handoffs: ["2026-03-16T09:00:00+01:00", "2026-03-30T09:00:00+02:00"],
    },
    {
      name: "four-daily, New York, across fall-back",
      r: rotation("America/New_York", "2026-10-29T09:00:00-04:00", { count: 4, unit: "day" }),
      handoffs: ["2026-10-29T09:00:00-04:00", "2026-11-02T09:00:00-05:00", "2026-11-06T09:00:00-05:00"],
    },
    {
      name: "12 h, New York spring-forward: absolute hours, so 09:00/21:00 EST becomes 10:00/22:00 EDT",
      r: rotation("America/New_York", "2026-03-07T09:00:00-05:00", { count: 12, unit: "hour" }),
      handoffs: [
        "2026-03-07T09:00:00-05:00",
        "2026-03-07T21:00:00-05:00",
        "2026-03-08T10:00:00-04:00",
        "2026-03-08T22:00:00-04:00",
      ],
    },
    {
      name: "12 h, Berlin fall-back: 08:00/20:00 CEST becomes 07:00/19:00 CET",
      r: rotation("Europe/Berlin", "2026-10-24T08:00:00+02:00", { count: 12, unit: "hour" }),
      handoffs: [
        "2026-10-24T08:00:00+02:00",
        "2026-10-24T20:00:00+02:00",
        "2026-10-25T07:00:00+01:00",
        "2026-10-25T19:00:00+01:00",
      ],
    },
  ])("$name", ({ r, handoffs }) => {
    const expected = handoffs.map((h) => iso(at(h)));
    const first = at(handoffs[0]!);
    const last = at(handoffs[handoffs.length - 1]!);
    const shifts = rotationShifts(r, first, last);
    expect(shifts.map((s) => iso(s.start))).toEqual(expected.slice(0, -1));
    expect(shifts.map((s) => iso(s.end))).toEqual(expected.slice(1));
    expect(shifts.map((s) => s.userId)).toEqual(["a", "b", "c", "a"].slice(0, shifts.length));
    for (const [k, h] of expected.slice(1, -1).entries()) {
      const handoff = new Date(h);
      expect(rotationShiftAt(r, new Date(handoff.getTime() - 1))?.index).toBe(k % 3);
      expect(rotationShiftAt(r, handoff)?.index).toBe((k + 1) % 3);
    }
  });

  it.each([
    ["America/New_York", "2026-01-02T09:00:00-05:00"],
    ["America/New_York", "2026-01-02T02:30:00-05:00"],
    ["Europe/Berlin", "2026-01-02T09:00:00+01:00"],
    ["Europe/Berlin", "2026-06-02T18:45:00+02:00"],
  ])("daily handoffs in %s from %s match Luxon's plus({ days }) for a year", (zone, start) => {
    const r = rotation(zone, start, day);
    const shifts = rotationShifts(r, at(start), new Date(at(start).getTime() + 366 * 86_400_000));
    const base = DateTime.fromISO(start, { zone });
    expect(shifts.length).toBeGreaterThanOrEqual(365);
    shifts.forEach((s, k) => {
      expect(s.start.getTime()).toBe(base.plus({ days: k }).toMillis());
    });
  });

  it("has no one before its start and repeats users as listed", () => {
    const r = rotation("UTC", "2026-01-05T09:00:00Z", day, ["a", "a", "b"]);
    expect(rotationShiftAt(r, at("2026-01-05T08:59:59.999Z"))).toBeNull();
    expect(
      rotationShifts(r, at("2026-01-01T00:00:00Z"), at("2026-01-08T12:00:00Z")).map((s) => s.userId),
    ).toEqual(["a", "a", "b", "a"]);
    expect(rotationShifts(r, at("2026-01-01T00:00:00Z"), at("2026-01-05T09:00:00Z"))).toEqual([]);
  });

  it("finds the shift far from the start (estimate corrected across many DST changes)", () => {
    const r = rotation("America/New_York", "2020-03-07T09:00:00-05:00", day);
    const s = rotationShiftAt(r, at("2026-11-01T08:59:00-05:00"))!;
    expect(iso(s.start)).toBe(iso(at("2026-10-31T09:00:00-04:00")));
    expect(iso(s.end)).toBe(iso(at("2026-11-01T09:00:00-05:00")));
  });
});

describe("edits", () => {
  // Daily at 09:00 UTC from Monday 5 January 2026: a (5th), b (6th), c (7th), d (8th), a (9th) …
  const base = rotation("UTC", "2026-01-05T09:00:00Z", day, ["a", "b", "c", "d"]);
  const list = (r: Rotation, from = "2026-01-05T00:00:00Z", to = "2026-01-11T00:00:00Z") =>
    rotationShifts(r, at(from), at(to)).map((s) => `${s.userId} ${iso(s.start).slice(5, 16)}`);

  it.each([
    {
      name: "setCurrentParticipant hands off now; the grid stays and the order continues from the new person",
      edit: (r: Rotation) => setCurrentParticipant(r, 2, at("2026-01-05T15:00:00Z")),
      expected: [
        "a 01-05T09:00",
        "c 01-05T15:00",
        "d 01-06T09:00",
        "a 01-07T09:00",
        "b 01-08T09:00",
        "c 01-09T09:00",
        "d 01-10T09:00",
      ],
    },
    {
      name: "setCurrentParticipant exactly at a handoff: no short shift",
      edit: (r: Rotation) => setCurrentParticipant(r, 0, at("2026-01-06T09:00:00Z")),
      expected: [
        "a 01-05T09:00",
        "a 01-06T09:00",
        "b 01-07T09:00",
        "c 01-08T09:00",
        "d 01-09T09:00",
        "a 01-10T09:00",
      ],
    },
    {
      name: "setCurrentParticipant before the start picks who takes the first shift",
      edit: (r: Rotation) => setCurrentParticipant(r, 3, at("2026-01-01T00:00:00Z")),
      expected: [
        "d 01-05T09:00",
        "a 01-06T09:00",
        "b 01-07T09:00",
        "c 01-08T09:00",
        "d 01-09T09:00",
        "a 01-10T09:00",
      ],
    },
    {
      name: "addParticipant at the end: b finishes, c and d keep their days, the newcomer comes before a",
      edit: (r: Rotation) => addParticipant(r, "e", at("2026-01-06T12:00:00Z")),
      expected: [
        "a 01-05T09:00",
        "b 01-06T09:00",
        "c 01-07T09:00",
        "d 01-08T09:00",
        "e 01-09T09:00",
        "a 01-10T09:00",
      ],
    },
    {
      name: "addParticipant at position 0: the current person stays; the newcomer comes after d",
      edit: (r: Rotation) => addParticipant(r, "e", at("2026-01-06T12:00:00Z"), 0),
      expected: [
        "a 01-05T09:00",
        "b 01-06T09:00",
        "c 01-07T09:00",
        "d 01-08T09:00",
        "e 01-09T09:00",
        "a 01-10T09:00",
      ],
    },
    {
      name: "removeParticipant (not on call): no handoff, the order closes up",
      edit: (r: Rotation) => removeParticipant(r, 2, at("2026-01-06T12:00:00Z")),
      expected: [
        "a 01-05T09:00",
        "b 01-06T09:00",
        "d 01-07T09:00",
        "a 01-08T09:00",
        "b 01-09T09:00",
        "d 01-10T09:00",
      ],
    },
    {
      name: "removeParticipant (on call): the next person takes over now, until the regular handoff",
      edit: (r: Rotation) => removeParticipant(r, 1, at("2026-01-06T12:00:00Z")),
      // Before 12:00 the projection uses today's list; it is not history.
      expected: [
        "d 01-05T09:00",
        "a 01-06T09:00",
        "c 01-06T12:00",
        "d 01-07T09:00",
        "a 01-08T09:00",
        "c 01-09T09:00",
        "d 01-10T09:00",
      ],
    },
    {
      name: "removeParticipant (on call, last in the list): wraps to the first",
      edit: (r: Rotation) => removeParticipant(r, 3, at("2026-01-08T12:00:00Z")),
      from: "2026-01-08T00:00:00Z",
      expected: ["b 01-07T09:00", "c 01-08T09:00", "a 01-08T12:00", "b 01-09T09:00", "c 01-10T09:00"],
    },
    {
      name: "moveParticipant: b finishes, then the new order d, a, b, c continues after b",
      edit: (r: Rotation) => moveParticipant(r, 3, 0, at("2026-01-06T12:00:00Z")),
      from: "2026-01-06T00:00:00Z",
      expected: [
        "a 01-05T09:00",
        "b 01-06T09:00",
        "c 01-07T09:00",
        "d 01-08T09:00",
        "a 01-09T09:00",
        "b 01-10T09:00",
      ],
    },
    {
      name: "reorderParticipants: b finishes, then the new order b, d, c, a",
      edit: (r: Rotation) => reorderParticipants(r, [1, 3, 2, 0], at("2026-01-06T12:00:00Z")),
      from: "2026-01-06T00:00:00Z",
      // Who was on before the edit is kept (previousIndex), so yesterday still shows a.
      expected: [
        "a 01-05T09:00",
        "b 01-06T09:00",
        "d 01-07T09:00",
        "c 01-08T09:00",
        "a 01-09T09:00",
        "b 01-10T09:00",
      ],
    },
  ])("$name", ({ edit, expected, from }) => {
    const edited = edit(base);
    expect(list(edited, from)).toEqual(expected);
    expect(base.anchor).toBeUndefined(); // edits return a new value
  });

  it("keeps the anchor of an earlier setCurrentParticipant through later edits", () => {
    const r1 = setCurrentParticipant(base, 2, at("2026-01-05T15:00:00Z"));
    const r2 = addParticipant(r1, "e", at("2026-01-05T18:00:00Z"));
    expect(list(r2)).toEqual([
      "a 01-05T09:00",
      "c 01-05T15:00",
      "d 01-06T09:00",
      "e 01-07T09:00",
      "a 01-08T09:00",
      "b 01-09T09:00",
      "c 01-10T09:00",
    ]);
  });

  it("setCurrentParticipant to the person on call changes nothing", () => {
    expect(setCurrentParticipant(base, 1, at("2026-01-06T12:00:00Z"))).toBe(base);
  });

  it("picks among repeated users by position", () => {
    const r = rotation("UTC", "2026-01-05T09:00:00Z", day, ["a", "b", "a", "c"]);
    const edited = setCurrentParticipant(r, 2, at("2026-01-05T10:00:00Z"));
    expect(list(edited, "2026-01-05T10:00:00Z", "2026-01-08T00:00:00Z")).toEqual([
      "a 01-05T10:00",
      "c 01-06T09:00",
      "a 01-07T09:00",
    ]);
    expect(rotationShiftAt(edited, at("2026-01-05T12:00:00Z"))?.index).toBe(2);
  });
});

describe("validation", () => {
  const ok = rotation("Europe/Berlin", "2026-01-05T09:00:00+01:00", day);
  it.each([
    ["no participants", { ...ok, participants: [] }, "participants"],
    ["an empty user id", { ...ok, participants: ["a", ""] }, "participants[1]"],
    ["a zero count", { ...ok, shiftLength: { count: 0, unit: "day" } }, "shiftLength.count"],
    ["a fractional count", { ...ok, shiftLength: { count: 1.5, unit: "hour" } }, "shiftLength.count"],
    ["an unknown unit", { ...ok, shiftLength: { count: 1, unit: "month" } }, "shiftLength.unit"],
    ["an unknown time zone", { ...ok, timeZone: "Europe/Atlantis" }, "timeZone"],
    ["an invalid start", { ...ok, start: new Date("nope") }, "start"],
    ["an anchor outside the list", { ...ok, anchor: { index: 3, at: ok.start } }, "anchor.index"],
    [
      "an anchor before the start",
      { ...ok, anchor: { index: 0, at: at("2026-01-01T00:00:00Z") } },
      "anchor.at",
    ],
  ] as [string, Rotation, string][])("rejects %s", (_name, r, field) => {
    expect(fieldOf(() => rotationShiftAt(r, at("2026-02-01T00:00:00Z")))).toBe(field);
  });

  it.each([
    [
      "end before start",
      () => rotationShifts(ok, at("2026-02-01T00:00:00Z"), at("2026-01-01T00:00:00Z")),
      "end",
    ],
    [
      "more than 366 days",
      () => rotationShifts(ok, at("2026-01-01T00:00:00Z"), at("2027-01-02T00:00:01Z")),
      "end",
    ],
    ["an invalid instant", () => rotationShiftAt(ok, new Date(Number.NaN)), "at"],
    [
      "removing the last participant",
      () => removeParticipant({ ...ok, participants: ["a"] }, 0, ok.start),
      "index",
    ],
    [
      "removing the last participant, the caller naming the field",
      () => removeParticipant({ ...ok, participants: ["a"] }, 0, ok.start, "participant_index"),
      "participant_index",
    ],
    [
      "an index outside the list, named by the caller",
      () => setCurrentParticipant(ok, 3, ok.start, "participant_index"),
      "participant_index",
    ],
    [
      "a bad position, named by the caller",
      () => addParticipant(ok, "d", ok.start, 5, { userId: "user_id", position: "position" }),
      "position",
    ],
    ["an index outside the list", () => setCurrentParticipant(ok, 3, ok.start), "index"],
    ["a bad position", () => addParticipant(ok, "d", ok.start, 5), "position"],
    ["an empty user id", () => addParticipant(ok, "", ok.start), "userId"],
    ["a repeated position in an order", () => reorderParticipants(ok, [0, 0, 1], ok.start), "order"],
    ["a move target outside the list", () => moveParticipant(ok, 0, 3, ok.start), "to"],
  ])("rejects %s", (_name, fn, field) => {
    expect(fieldOf(fn)).toBe(field);
  });

  it("accepts exactly 366 days", () => {
    expect(rotationShifts(ok, at("2028-01-01T00:00:00Z"), at("2029-01-01T00:00:00Z")).length).toBe(367);
  });
});
