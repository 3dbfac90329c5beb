import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { loadOnCallContext } from "../../adapters/db/stores/schedules.ts";
import { createFixedClock } from "../../domain/clock.ts";
import {
  type Rotation as DomainRotation,
  type Schedule as DomainSchedule,
  listShifts as domainListShifts,
  type Override,
} from "../../domain/schedules/index.ts";
import { MAX_OVERLAPPING_OVERRIDES } from "../../domain/schedules/limits.ts";
import { EscalationPolicyService } from "../../gen/oncall/v1/escalation_policies_pb.ts";
import {
  OverrideKind,
  type ScheduleRule,
  ScheduleService,
  type ShiftSource,
  ShiftUnit,
  Weekday,
} from "../../gen/oncall/v1/schedules_pb.ts";

// ScheduleService in memory (createRouterTransport, the real interceptors and stores) on every
// database path: PGlite, the Data API emulator, and Postgres when DATABASE_URL is set.

const missingId = "00000000-0000-4000-8000-000000000000";
const ts = (iso: string): Timestamp => timestampFromDate(new Date(iso));
const iso = (t: Timestamp | undefined): string => (t ? timestampDate(t).toISOString() : "unset");
const utc = (isoWithOffset: string) => new Date(isoWithOffset).toISOString();
const everyDay = [
  Weekday.MONDAY,
  Weekday.TUESDAY,
  Weekday.WEDNESDAY,
  Weekday.THURSDAY,
  Weekday.FRIDAY,
  Weekday.SATURDAY,
  Weekday.SUNDAY,
];
const weekdays = everyDay.slice(0, 5);

const userRule = (userId: string, days: Weekday[], start: string, end: string) => ({
  target: { kind: { case: "userId" as const, value: userId } },
  weekdays: days,
  start,
  end,
});
const rotationRule = (rotationId: string, days: Weekday[], start: string, end: string) => ({
  target: { kind: { case: "rotationId" as const, value: rotationId } },
  weekdays: days,
  start,
  end,
});

/** "r0", "r1+rot" for a rule of a rotation, "o:<id>" for an override. */
function src(s: ShiftSource | undefined): string {
  if (s?.kind.case === "rule") return `r${s.kind.value.ruleIndex}${s.kind.value.rotationId ? "+rot" : ""}`;
  if (s?.kind.case === "override") return `o:${s.kind.value.overrideId}`;
  return "?";
}

/** The Connect code and the field a failed call names (the text before ": "). */
async function codeAndField(call: Promise<unknown>): Promise<[Code, string]> {
  const error = await failure(call);
  return [error.code, error.rawMessage.split(": ")[0]!];
}

describeEachDatabase("ScheduleService", (suite) => {
  const clock = createFixedClock("2026-03-10T16:00:00Z");
  let schedules: ReturnType<typeof createClient<typeof ScheduleService>>;
  let policies: ReturnType<typeof createClient<typeof EscalationPolicyService>>;

  beforeAll(() => {
    const ctx = createTestAppContext(suite.handle, { clock });
    const transport = createInMemoryTransport(ctx);
    schedules = createClient(ScheduleService, transport);
    policies = createClient(EscalationPolicyService, transport);
  });

  beforeEach(async () => {
    const db = suite.handle.db;
    await db.deleteFrom("escalation_policies").execute();
    await db.deleteFrom("schedules").execute();
    await db.deleteFrom("rotations").execute();
    clock.set("2026-03-10T16:00:00Z");
  });

  // New York: a weekly primary rotation handing off Mondays 09:00 (alice from 2 March 2026, then bob,
  // then carol), on call on weekdays 09:00-17:00; nick on weeknights (crossing midnight); wendy at weekends.
  const primaryInput = {
    name: "Primary",
    description: "weekly, Monday 09:00",
    timeZone: "America/New_York",
    shiftLength: { count: 1, unit: ShiftUnit.WEEK as ShiftUnit } as
      | { count: number; unit: ShiftUnit }
      | undefined,
    startTime: ts("2026-03-02T09:00:00-05:00"),
    participants: ["alice", "bob", "carol"],
  };
  const primaryDomain: DomainRotation = {
    participants: ["alice", "bob", "carol"],
    shiftLength: { count: 1, unit: "week" },
    start: new Date("2026-03-02T09:00:00-05:00"),
    timeZone: "America/New_York",
  };

  async function seedPrimary() {
    const { rotation } = await schedules.createRotation(primaryInput, admin);
    const rules = [
      rotationRule(rotation!.id, weekdays, "09:00", "17:00"),
      userRule("nick", weekdays, "17:00", "09:00"),
      userRule("wendy", [Weekday.SATURDAY, Weekday.SUNDAY], "00:00", "00:00"),
    ];
    const { schedule } = await schedules.createSchedule(
      { name: "Payments", description: "", timeZone: "America/New_York", rules },
      admin,
    );
    return { rotation: rotation!, schedule: schedule! };
  }

  describe("rotations", () => {
    it("creates, gets, lists, updates and deletes a rotation", async () => {
      const { rotation } = await schedules.createRotation(primaryInput, admin);
      expect(rotation).toMatchObject({
        name: "Primary",
        description: "weekly, Monday 09:00",
        timeZone: "America/New_York",
        shiftLength: { count: 1, unit: ShiftUnit.WEEK },
        participants: ["alice", "bob", "carol"],
      });
      expect(iso(rotation?.startTime)).toBe("2026-03-02T14:00:00.000Z");
      expect(iso(rotation?.createTime)).toBe("2026-03-10T16:00:00.000Z");
      // Tuesday 10 March: bob's week, which began Monday 09:00 EDT (13:00Z, the same wall time after DST).
      expect(rotation?.currentShift).toMatchObject({ participantIndex: 1, userId: "bob" });
      expect(iso(rotation?.currentShift?.startTime)).toBe("2026-03-09T13:00:00.000Z");
      expect(iso(rotation?.currentShift?.endTime)).toBe("2026-03-16T13:00:00.000Z");

      const { rotation: got } = await schedules.getRotation({ id: rotation!.id }, admin);
      expect(got).toEqual(rotation);

      await schedules.createRotation({ ...primaryInput, name: "Secondary" }, admin);
      await schedules.createRotation({ ...primaryInput, name: "db on-call" }, admin);
      const first = await schedules.listRotations({ pageSize: 2 }, admin);
      expect(first.rotations.map((r) => r.name)).toEqual(["db on-call", "Primary"]);
      const second = await schedules.listRotations({ pageSize: 2, pageToken: first.nextPageToken }, admin);
      expect(second.rotations.map((r) => r.name)).toEqual(["Secondary"]);
      expect(second.nextPageToken).toBe("");
      expect((await schedules.listRotations({ search: "ARY" }, admin)).rotations.map((r) => r.name)).toEqual([
        "Primary",
        "Secondary",
      ]);

      clock.advance(60_000);
      const { rotation: renamed } = await schedules.updateRotation(
        {
          rotation: { id: rotation!.id, name: "Primary NYC", timeZone: "ignored" },
          updateMask: { paths: ["name"] },
        },
        admin,
      );
      expect(renamed).toMatchObject({
        name: "Primary NYC",
        timeZone: "America/New_York",
        participants: rotation!.participants,
      });
      expect(iso(renamed?.updateTime)).toBe("2026-03-10T16:01:00.000Z");

      await schedules.deleteRotation({ id: rotation!.id }, admin);
      expect((await failure(schedules.getRotation({ id: rotation!.id }, admin))).code).toBe(Code.NotFound);
      expect((await failure(schedules.deleteRotation({ id: rotation!.id }, admin))).code).toBe(Code.NotFound);
    });

    it("edits participants without moving anyone else's turn", async () => {
      const { rotation } = await schedules.createRotation(primaryInput, admin);
      const id = rotation!.id;

      // Add dave after carol: bob finishes his week, carol is next, then dave, then alice.
      const added = await schedules.addRotationParticipant({ rotationId: id, userId: "dave" }, admin);
      expect(added.rotation?.participants).toEqual(["alice", "bob", "carol", "dave"]);
      expect(added.rotation?.currentShift).toMatchObject({ userId: "bob" });
      const afterAdd = await schedules.listShifts(
        {
          scheduleId: (await scheduleOf(id)).id,
          startTime: ts("2026-03-16T12:00:00-04:00"),
          endTime: ts("2026-04-06T12:00:00-04:00"),
        },
        admin,
      );
      expect(afterAdd.shifts.filter((s) => src(s.source) === "r0+rot").map((s) => s.userId)).toEqual([
        "carol",
        "dave",
        "alice",
        "bob",
      ]);

      // Insert at the front: the order continues from bob.
      const front = await schedules.addRotationParticipant(
        { rotationId: id, userId: "zoe", position: 0 },
        admin,
      );
      expect(front.rotation?.participants).toEqual(["zoe", "alice", "bob", "carol", "dave"]);
      expect(front.rotation?.currentShift).toMatchObject({ participantIndex: 2, userId: "bob" });

      // The guard refuses to remove someone else after a concurrent edit.
      const [code] = await codeAndField(
        schedules.removeRotationParticipant({ rotationId: id, participantIndex: 0, userId: "alice" }, admin),
      );
      expect(code).toBe(Code.FailedPrecondition);

      // Removing the person on call hands off now to whoever followed them.
      clock.set("2026-03-10T18:00:00Z");
      const removed = await schedules.removeRotationParticipant(
        { rotationId: id, participantIndex: 2, userId: "bob" },
        admin,
      );
      expect(removed.rotation?.participants).toEqual(["zoe", "alice", "carol", "dave"]);
      expect(removed.rotation?.currentShift).toMatchObject({ userId: "carol" });
      expect(iso(removed.rotation?.currentShift?.startTime)).toBe("2026-03-10T18:00:00.000Z");
      expect(iso(removed.rotation?.currentShift?.endTime)).toBe("2026-03-16T13:00:00.000Z");

      // Reorder: carol keeps her shift, then dave → zoe → alice becomes alice → zoe → dave.
      const reordered = await schedules.reorderRotationParticipants(
        { rotationId: id, order: [2, 1, 0, 3] },
        admin,
      );
      expect(reordered.rotation?.participants).toEqual(["carol", "alice", "zoe", "dave"]);
      expect(reordered.rotation?.currentShift).toMatchObject({ participantIndex: 0, userId: "carol" });

      // Set current: zoe takes over now, until the regular Monday handoff; then dave.
      clock.set("2026-03-11T15:00:00Z");
      const current = await schedules.setCurrentRotationParticipant(
        { rotationId: id, participantIndex: 2 },
        admin,
      );
      expect(current.rotation?.currentShift).toMatchObject({ participantIndex: 2, userId: "zoe" });
      expect(iso(current.rotation?.currentShift?.startTime)).toBe("2026-03-11T15:00:00.000Z");
      expect(iso(current.rotation?.currentShift?.endTime)).toBe("2026-03-16T13:00:00.000Z");
      clock.set("2026-03-17T12:00:00Z");
      expect((await schedules.getRotation({ id }, admin)).rotation?.currentShift?.userId).toBe("dave");
    });

    it("applies concurrent participant edits one after the other, losing none", async () => {
      const { rotation } = await schedules.createRotation(primaryInput, admin);
      const newcomers = ["u1", "u2", "u3", "u4", "u5", "u6"];
      await Promise.all(
        newcomers.map((userId) =>
          schedules.addRotationParticipant({ rotationId: rotation!.id, userId }, admin),
        ),
      );
      const { rotation: after } = await schedules.getRotation({ id: rotation!.id }, admin);
      expect(after?.participants.slice(0, 3)).toEqual(["alice", "bob", "carol"]);
      expect([...(after?.participants.slice(3) ?? [])].sort()).toEqual(newcomers);
      expect(after?.currentShift?.userId).toBe("bob");
    });

    it("keeps the person on call when the handoff grid changes", async () => {
      const { rotation } = await schedules.createRotation(primaryInput, admin);
      // From weekly to daily at 18:00: bob stays on until the new grid's next handoff.
      const { rotation: daily } = await schedules.updateRotation(
        {
          rotation: {
            id: rotation!.id,
            shiftLength: { count: 1, unit: ShiftUnit.DAY },
            startTime: ts("2026-03-01T18:00:00-05:00"),
          },
          updateMask: { paths: ["shift_length", "start_time"] },
        },
        admin,
      );
      expect(daily?.currentShift).toMatchObject({ userId: "bob" });
      expect(iso(daily?.currentShift?.startTime)).toBe("2026-03-10T16:00:00.000Z");
      expect(iso(daily?.currentShift?.endTime)).toBe("2026-03-10T22:00:00.000Z");
      clock.set("2026-03-10T23:00:00Z");
      expect((await schedules.getRotation({ id: rotation!.id }, admin)).rotation?.currentShift?.userId).toBe(
        "carol",
      );
    });

    /** A schedule whose one rule is the rotation, around the clock. */
    async function scheduleOf(rotationId: string) {
      const { schedule } = await schedules.createSchedule(
        {
          name: "only",
          timeZone: "America/New_York",
          rules: [rotationRule(rotationId, everyDay, "00:00", "00:00")],
        },
        admin,
      );
      return schedule!;
    }
  });

  describe("schedules", () => {
    it("creates, gets, lists, updates (rules as a whole list) and deletes a schedule", async () => {
      const { rotation, schedule } = await seedPrimary();
      expect(schedule).toMatchObject({ name: "Payments", timeZone: "America/New_York" });
      expect(schedule.rules).toHaveLength(3);
      expect(schedule.rules[0]).toMatchObject({
        target: { kind: { case: "rotationId", value: rotation.id } },
        weekdays,
        start: "09:00",
        end: "17:00",
      });
      // Weekdays come back deduplicated, in ISO order.
      expect(schedule.rules[2]?.weekdays).toEqual([Weekday.SATURDAY, Weekday.SUNDAY]);

      expect((await schedules.getSchedule({ id: schedule.id }, admin)).schedule).toEqual(schedule);
      expect((await schedules.listSchedules({}, admin)).schedules).toEqual([schedule]);

      clock.advance(1000);
      const rules = [userRule("alice", [Weekday.SUNDAY, Weekday.MONDAY, Weekday.SUNDAY], "22:00", "06:00")];
      const { schedule: updated } = await schedules.updateSchedule(
        {
          schedule: { id: schedule.id, rules, timeZone: "Europe/Berlin" },
          updateMask: { paths: ["rules", "time_zone"] },
        },
        admin,
      );
      expect(updated).toMatchObject({ name: "Payments", timeZone: "Europe/Berlin" });
      expect(updated?.rules.map((r) => [r.target?.kind.value, r.weekdays, r.start, r.end])).toEqual([
        ["alice", [Weekday.MONDAY, Weekday.SUNDAY], "22:00", "06:00"],
      ]);
      expect((await schedules.getSchedule({ id: schedule.id }, admin)).schedule).toEqual(updated);

      // A name-only update keeps the rules.
      const { schedule: renamed } = await schedules.updateSchedule(
        { schedule: { id: schedule.id, name: "Payments EU" }, updateMask: { paths: ["name"] } },
        admin,
      );
      expect(renamed?.rules).toEqual(updated?.rules);

      await schedules.deleteSchedule({ id: schedule.id }, admin);
      expect((await failure(schedules.getSchedule({ id: schedule.id }, admin))).code).toBe(Code.NotFound);
      // The rotation is free again once no rule uses it.
      await schedules.deleteRotation({ id: rotation.id }, admin);
    });

    it("tells who is on call, and why, with a rotation rule and overrides", async () => {
      const { rotation, schedule } = await seedPrimary();
      const { override: replace } = await schedules.createOverride(
        {
          scheduleId: schedule.id,
          kind: OverrideKind.REPLACE,
          userId: "dave",
          replacesUserId: "bob",
          startTime: ts("2026-03-10T12:00:00-04:00"),
          endTime: ts("2026-03-10T15:00:00-04:00"),
        },
        admin,
      );
      clock.advance(1000);
      const { override: add } = await schedules.createOverride(
        {
          scheduleId: schedule.id,
          kind: OverrideKind.ADD,
          userId: "erin",
          startTime: ts("2026-03-11T10:00:00-04:00"),
          endTime: ts("2026-03-11T11:00:00-04:00"),
        },
        admin,
      );
      const onCall = async (at: string) =>
        (await schedules.getOnCall({ scheduleId: schedule.id, at: ts(at) }, admin)).users.map(
          (u) => `${u.userId}:${u.sources.map(src).join(",")}`,
        );

      expect(await onCall("2026-03-10T11:59:59-04:00")).toEqual(["bob:r0+rot"]);
      expect(await onCall("2026-03-10T13:00:00-04:00")).toEqual([`dave:o:${replace!.id}`]);
      expect(await onCall("2026-03-10T15:00:00-04:00")).toEqual(["bob:r0+rot"]);
      expect(await onCall("2026-03-10T20:00:00-04:00")).toEqual(["nick:r1"]);
      expect(await onCall("2026-03-11T10:30:00-04:00")).toEqual(["bob:r0+rot", `erin:o:${add!.id}`]);
      expect(await onCall("2026-03-14T03:00:00-04:00")).toEqual(["nick:r1", "wendy:r2"]);
      expect(await onCall("2026-03-14T12:00:00-04:00")).toEqual(["wendy:r2"]);

      const detailed = await schedules.getOnCall(
        { scheduleId: schedule.id, at: ts("2026-03-10T13:00:00-04:00") },
        admin,
      );
      expect(detailed.users[0]?.sources[0]?.kind).toEqual({
        case: "override",
        value: expect.objectContaining({
          overrideId: replace!.id,
          kind: OverrideKind.REPLACE,
          replacesUserId: "bob",
        }),
      });
      const byRotation = await schedules.getOnCall(
        { scheduleId: schedule.id, at: ts("2026-03-10T10:00:00-04:00") },
        admin,
      );
      expect(byRotation.users[0]?.sources[0]?.kind).toEqual({
        case: "rule",
        value: expect.objectContaining({ ruleIndex: 0, rotationId: rotation.id }),
      });

      // Without `at`: now (clock: 2026-03-10T16:00:01Z = 12:00:01 EDT, inside dave's replacement).
      const now = await schedules.getOnCall({ scheduleId: schedule.id }, admin);
      expect(iso(now.at)).toBe("2026-03-10T16:00:01.000Z");
      expect(now.users.map((u) => u.userId)).toEqual(["dave"]);
    });

    it("lists a week of shifts exactly as the domain computes them", async () => {
      const { rotation, schedule } = await seedPrimary();
      const overrideInputs: (Override & { replacesUserId?: string })[] = [
        {
          kind: "replace",
          userId: "dave",
          replacesUserId: "bob",
          start: new Date("2026-03-10T12:00:00-04:00"),
          end: new Date("2026-03-10T15:00:00-04:00"),
        },
        {
          kind: "add",
          userId: "erin",
          start: new Date("2026-03-11T16:00:00-04:00"),
          end: new Date("2026-03-11T19:00:00-04:00"),
        },
        {
          kind: "remove",
          userId: "nick",
          start: new Date("2026-03-12T00:00:00-04:00"),
          end: new Date("2026-03-12T06:00:00-04:00"),
        },
        {
          kind: "replace",
          userId: "fay",
          replacesUserId: "wendy",
          start: new Date("2026-03-14T00:00:00-04:00"),
          end: new Date("2026-03-15T00:00:00-04:00"),
        },
        // Outside the range: loaded by nobody.
        {
          kind: "add",
          userId: "zed",
          start: new Date("2026-04-01T00:00:00-04:00"),
          end: new Date("2026-04-02T00:00:00-04:00"),
        },
      ];
      const kinds = { add: OverrideKind.ADD, remove: OverrideKind.REMOVE, replace: OverrideKind.REPLACE };
      const ids: string[] = [];
      for (const o of overrideInputs) {
        clock.advance(1000);
        const { override } = await schedules.createOverride(
          {
            scheduleId: schedule.id,
            kind: kinds[o.kind],
            userId: o.userId,
            replacesUserId: o.replacesUserId ?? "",
            startTime: timestampFromDate(o.start),
            endTime: timestampFromDate(o.end),
          },
          admin,
        );
        ids.push(override!.id);
      }
      const start = new Date("2026-03-09T00:00:00-04:00");
      const end = new Date("2026-03-16T00:00:00-04:00");
      const { shifts } = await schedules.listShifts(
        { scheduleId: schedule.id, startTime: timestampFromDate(start), endTime: timestampFromDate(end) },
        admin,
      );

      const domainSchedule: DomainSchedule = {
        timeZone: "America/New_York",
        rules: [
          {
            target: { kind: "rotation", rotationId: "primary" },
            weekdays: [1, 2, 3, 4, 5],
            start: "09:00",
            end: "17:00",
          },
          {
            target: { kind: "user", userId: "nick" },
            weekdays: [1, 2, 3, 4, 5],
            start: "17:00",
            end: "09:00",
          },
          { target: { kind: "user", userId: "wendy" }, weekdays: [6, 0], start: "00:00", end: "00:00" },
        ],
      };
      const expected = domainListShifts(
        domainSchedule,
        new Map([["primary", primaryDomain]]),
        overrideInputs,
        start,
        end,
      );
      const row = (userId: string, s: Date, e: Date, source: string) =>
        `${userId} ${s.toISOString()} ${e.toISOString()} ${source}`;
      expect(
        shifts.map((s) =>
          row(s.userId, timestampDate(s.startTime!), timestampDate(s.endTime!), src(s.source)),
        ),
      ).toEqual(
        expected.map((s) =>
          row(
            s.userId,
            s.start,
            s.end,
            s.source.kind === "rule"
              ? `r${s.source.ruleIndex}${s.source.ruleIndex === 0 ? "+rot" : ""}`
              : `o:${ids[s.source.overrideIndex]}`,
          ),
        ),
      );
      // And a few rows read by hand.
      expect(shifts.length).toBe(expected.length);
      const rows = shifts.map((s) =>
        row(s.userId, timestampDate(s.startTime!), timestampDate(s.endTime!), src(s.source)),
      );
      expect(rows).toContain(
        row("bob", new Date("2026-03-10T09:00:00-04:00"), new Date("2026-03-10T12:00:00-04:00"), "r0+rot"),
      );
      expect(rows).toContain(
        row(
          "dave",
          new Date("2026-03-10T12:00:00-04:00"),
          new Date("2026-03-10T15:00:00-04:00"),
          `o:${ids[0]}`,
        ),
      );
      expect(rows).toContain(
        row(
          "fay",
          new Date("2026-03-14T00:00:00-04:00"),
          new Date("2026-03-15T00:00:00-04:00"),
          `o:${ids[3]}`,
        ),
      );
      expect(rows).toContain(
        row("nick", new Date("2026-03-11T17:00:00-04:00"), new Date("2026-03-12T00:00:00-04:00"), "r1"),
      );
      expect(rows).toContain(
        row("nick", new Date("2026-03-12T06:00:00-04:00"), new Date("2026-03-12T09:00:00-04:00"), "r1"),
      );
      expect(rows.some((r) => r.startsWith("zed "))).toBe(false);

      // The loader the escalation engine uses: only the overrides overlapping the range, in creation order.
      const context = await loadOnCallContext(suite.handle.db, schedule.id, start, end);
      expect(context?.overrides.map((o) => o.id)).toEqual(ids.slice(0, 4));
      expect([...(context?.rotations.keys() ?? [])]).toEqual([rotation.id]);
      expect(context?.rotations.get(rotation.id)).toMatchObject(primaryDomain);
    });

    it("hands off at the same wall-clock time across DST in New York, both directions", async () => {
      const { rotation } = await schedules.createRotation(
        {
          name: "Daily",
          timeZone: "America/New_York",
          shiftLength: { count: 1, unit: ShiftUnit.DAY },
          startTime: ts("2026-03-06T09:00:00-05:00"),
          participants: ["x", "y"],
        },
        admin,
      );
      const { schedule } = await schedules.createSchedule(
        {
          name: "Daily",
          timeZone: "America/New_York",
          rules: [
            rotationRule(rotation!.id, everyDay, "00:00", "00:00"),
            userRule("w", weekdays, "09:00", "17:00"),
          ],
        },
        admin,
      );
      const list = async (from: string, to: string) =>
        (
          await schedules.listShifts(
            { scheduleId: schedule!.id, startTime: ts(from), endTime: ts(to) },
            admin,
          )
        ).shifts.map((s) => `${s.userId} ${iso(s.startTime)} ${iso(s.endTime)}`);

      // Spring forward (Sunday 8 March 02:00): the shift over it lasts 23 hours.
      expect(await list("2026-03-07T12:00:00Z", "2026-03-09T18:00:00Z")).toEqual([
        `x ${utc("2026-03-07T12:00:00Z")} ${utc("2026-03-07T09:00:00-05:00")}`,
        `y ${utc("2026-03-07T09:00:00-05:00")} ${utc("2026-03-08T09:00:00-04:00")}`,
        `x ${utc("2026-03-08T09:00:00-04:00")} ${utc("2026-03-09T09:00:00-04:00")}`,
        `w ${utc("2026-03-09T09:00:00-04:00")} ${utc("2026-03-09T18:00:00Z")}`,
        `y ${utc("2026-03-09T09:00:00-04:00")} ${utc("2026-03-09T18:00:00Z")}`,
      ]);
      expect(Date.parse("2026-03-08T13:00:00Z") - Date.parse("2026-03-07T14:00:00Z")).toBe(23 * 3600_000);

      // Fall back (Sunday 1 November 02:00): 25 hours; handoffs stay at 09:00 local.
      const fall = await list("2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z");
      expect(fall.slice(0, 3).map((r) => r.split(" ").slice(1).join(" "))).toEqual([
        `${utc("2026-10-31T00:00:00Z")} ${utc("2026-10-31T09:00:00-04:00")}`,
        `${utc("2026-10-31T09:00:00-04:00")} ${utc("2026-11-01T09:00:00-05:00")}`,
        `${utc("2026-11-01T09:00:00-05:00")} ${utc("2026-11-02T00:00:00Z")}`,
      ]);
      expect(
        Date.parse(utc("2026-11-01T09:00:00-05:00")) - Date.parse(utc("2026-10-31T09:00:00-04:00")),
      ).toBe(25 * 3600_000);

      // GetOnCall on either side of the spring-forward handoff.
      const who = async (at: string) =>
        (await schedules.getOnCall({ scheduleId: schedule!.id, at: ts(at) }, admin)).users.map(
          (u) => u.userId,
        );
      expect(await who("2026-03-08T08:59:59-04:00")).toEqual(["y"]);
      expect(await who("2026-03-08T09:00:00-04:00")).toEqual(["x"]);
    });

    it("lists one user's shifts across schedules", async () => {
      const { schedule: payments } = await seedPrimary();
      const { schedule: db } = await schedules.createSchedule(
        {
          name: "Databases",
          timeZone: "Europe/Berlin",
          rules: [userRule("bob", [Weekday.WEDNESDAY], "08:00", "12:00")],
        },
        admin,
      );
      const { schedule: other } = await schedules.createSchedule(
        { name: "Other", timeZone: "UTC", rules: [userRule("someone", everyDay, "00:00", "00:00")] },
        admin,
      );
      // An override in a schedule without a rule for bob puts him on call there too.
      const { override } = await schedules.createOverride(
        {
          scheduleId: other!.id,
          kind: OverrideKind.REPLACE,
          userId: "bob",
          replacesUserId: "someone",
          startTime: ts("2026-03-12T00:00:00Z"),
          endTime: ts("2026-03-12T01:00:00Z"),
        },
        admin,
      );
      const { shifts } = await schedules.listUserShifts(
        { userId: "bob", startTime: ts("2026-03-11T00:00:00Z"), endTime: ts("2026-03-13T00:00:00Z") },
        admin,
      );
      expect(
        shifts.map((s) => `${s.scheduleName} ${iso(s.startTime)} ${iso(s.endTime)} ${s.sources.map(src)}`),
      ).toEqual([
        `Databases ${utc("2026-03-11T08:00:00+01:00")} ${utc("2026-03-11T12:00:00+01:00")} r0`,
        `Payments ${utc("2026-03-11T09:00:00-04:00")} ${utc("2026-03-11T17:00:00-04:00")} r0+rot`,
        `Other ${utc("2026-03-12T00:00:00Z")} ${utc("2026-03-12T01:00:00Z")} o:${override!.id}`,
        `Payments ${utc("2026-03-12T09:00:00-04:00")} ${utc("2026-03-12T17:00:00-04:00")} r0+rot`,
      ]);
      expect(shifts.map((s) => s.scheduleId)).toEqual([db!.id, payments.id, other!.id, payments.id]);

      // "My upcoming shifts": from now by default; a shift in progress starts now.
      const upcoming = await schedules.listUserShifts(
        { userId: "bob", endTime: ts("2026-03-10T22:00:00Z") },
        admin,
      );
      expect(upcoming.shifts.map((s) => `${iso(s.startTime)} ${iso(s.endTime)}`)).toEqual([
        `${utc("2026-03-10T16:00:00Z")} ${utc("2026-03-10T17:00:00-04:00")}`,
      ]);
    });

    it("creates, lists (paged, by range) and deletes overrides", async () => {
      const { schedule } = await seedPrimary();
      const make = (userId: string, start: string, end: string) =>
        schedules.createOverride(
          { scheduleId: schedule.id, kind: OverrideKind.ADD, userId, startTime: ts(start), endTime: ts(end) },
          admin,
        );
      const { override: past } = await make("p", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
      const { override: a } = await make("a", "2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z");
      const { override: b } = await make("b", "2026-03-10T00:00:00Z", "2026-03-20T00:00:00Z");
      const { override: c } = await make("c", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z");
      expect(a).toMatchObject({
        scheduleId: schedule.id,
        kind: OverrideKind.ADD,
        userId: "a",
        replacesUserId: "",
      });

      // From now (2026-03-10T16:00Z) on, by start time.
      const page1 = await schedules.listOverrides({ scheduleId: schedule.id, pageSize: 2 }, admin);
      expect(page1.overrides.map((o) => o.userId)).toEqual(["b", "a"]);
      const page2 = await schedules.listOverrides(
        { scheduleId: schedule.id, pageSize: 2, pageToken: page1.nextPageToken },
        admin,
      );
      expect(page2.overrides.map((o) => o.userId)).toEqual(["c"]);
      expect(page2.nextPageToken).toBe("");

      const ranged = await schedules.listOverrides(
        {
          scheduleId: schedule.id,
          startTime: ts("2026-02-01T00:00:00Z"),
          endTime: ts("2026-03-11T00:00:00Z"),
        },
        admin,
      );
      expect(ranged.overrides.map((o) => o.id)).toEqual([past!.id, b!.id]);

      await schedules.deleteOverride({ id: a!.id }, admin);
      expect(
        (await schedules.listOverrides({ scheduleId: schedule.id }, admin)).overrides.map((o) => o.id),
      ).toEqual([b!.id, c!.id]);
      expect((await failure(schedules.deleteOverride({ id: a!.id }, admin))).code).toBe(Code.NotFound);
      expect((await failure(schedules.listOverrides({ scheduleId: missingId }, admin))).code).toBe(
        Code.NotFound,
      );
      // An empty schedule lists nothing (and is not "not found").
      const { schedule: empty } = await schedules.createSchedule({ name: "empty", timeZone: "UTC" }, admin);
      expect((await schedules.listOverrides({ scheduleId: empty!.id }, admin)).overrides).toEqual([]);
    });
  });

  describe("references", () => {
    it("refuses to delete a rotation a schedule rule uses, and leaves the schedule intact", async () => {
      const { rotation, schedule } = await seedPrimary();
      const error = await failure(schedules.deleteRotation({ id: rotation.id }, admin));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.rawMessage).toContain(`schedule "Payments" (${schedule.id})`);
      expect((await schedules.getRotation({ id: rotation.id }, admin)).rotation?.id).toBe(rotation.id);
      expect((await schedules.getSchedule({ id: schedule.id }, admin)).schedule).toEqual(schedule);
      const onCall = await schedules.getOnCall(
        { scheduleId: schedule.id, at: ts("2026-03-10T10:00:00-04:00") },
        admin,
      );
      expect(onCall.users.map((u) => u.userId)).toEqual(["bob"]);
    });

    it("refuses to delete a rotation or schedule an escalation step targets", async () => {
      const { rotation, schedule } = await seedPrimary();
      // A rotation that only the step uses.
      const { rotation: spare } = await schedules.createRotation({ ...primaryInput, name: "Spare" }, admin);
      const { policy } = await policies.createEscalationPolicy(
        {
          name: "Payments",
          steps: [
            {
              delaySeconds: 0,
              targets: [
                { kind: { case: "scheduleId", value: schedule.id } },
                { kind: { case: "rotationId", value: spare!.id } },
              ],
            },
          ],
        },
        admin,
      );
      const bySchedule = await failure(schedules.deleteSchedule({ id: schedule.id }, admin));
      expect(bySchedule.code).toBe(Code.FailedPrecondition);
      expect(bySchedule.rawMessage).toContain(`escalation policy "Payments" (${policy!.id})`);
      const byRotation = await failure(schedules.deleteRotation({ id: spare!.id }, admin));
      expect(byRotation.code).toBe(Code.FailedPrecondition);

      await policies.deleteEscalationPolicy({ id: policy!.id }, admin);
      await schedules.deleteRotation({ id: spare!.id }, admin);
      await schedules.deleteSchedule({ id: schedule.id }, admin);
      await schedules.deleteRotation({ id: rotation.id }, admin);
    });
  });

  describe("validation", () => {
    const rotation = (over: Partial<typeof primaryInput>) =>
      schedules.createRotation({ ...primaryInput, ...over }, admin);
    const schedule = (rules: unknown[], over: Record<string, unknown> = {}) =>
      schedules.createSchedule(
        { name: "s", timeZone: "America/New_York", rules: rules as ScheduleRule[], ...over },
        admin,
      );
    const okRule = userRule("u", weekdays, "09:00", "17:00");
    const override = (over: Record<string, unknown>) =>
      schedules.createOverride(
        {
          scheduleId: missingId,
          kind: OverrideKind.ADD,
          userId: "u",
          startTime: ts("2026-03-10T00:00:00Z"),
          endTime: ts("2026-03-11T00:00:00Z"),
          ...over,
        },
        admin,
      );

    const cases: [string, () => Promise<unknown>, string][] = [
      ["empty rotation", () => rotation({ participants: [] }), "participants"],
      ["blank participant", () => rotation({ participants: ["a", ""] }), "participants[1]"],
      ["participant with spaces", () => rotation({ participants: ["a b"] }), "participants[0]"],
      ["unknown rotation time zone", () => rotation({ timeZone: "Mars/Olympus_Mons" }), "time_zone"],
      ["missing time zone", () => rotation({ timeZone: "" }), "time_zone"],
      ["missing shift length", () => rotation({ shiftLength: undefined }), "shift_length"],
      [
        "shift unit unset",
        () => rotation({ shiftLength: { count: 1, unit: ShiftUnit.UNSPECIFIED } }),
        "shift_length.unit",
      ],
      [
        "shift count 0",
        () => rotation({ shiftLength: { count: 0, unit: ShiftUnit.DAY } }),
        "shift_length.count",
      ],
      [
        "shift of 53 weeks",
        () => rotation({ shiftLength: { count: 53, unit: ShiftUnit.WEEK } }),
        "shift_length.count",
      ],
      ["missing start", () => rotation({ startTime: undefined }), "start_time"],
      ["blank rotation name", () => rotation({ name: "  " }), "name"],
      ["malformed rotation id", () => schedules.getRotation({ id: "not-a-uuid" }, admin), "id"],
      [
        "update with an unknown zone",
        () =>
          schedules.updateRotation(
            { rotation: { id: missingId, timeZone: "Nowhere/Land" }, updateMask: { paths: ["time_zone"] } },
            admin,
          ),
        "rotation.time_zone",
      ],
      [
        "update of participants through the mask",
        () =>
          schedules.updateRotation(
            { rotation: { id: missingId }, updateMask: { paths: ["participants"] } },
            admin,
          ),
        "update_mask.paths[0]",
      ],
      [
        "malformed rotation_id",
        () => schedules.addRotationParticipant({ rotationId: "x", userId: "u" }, admin),
        "rotation_id",
      ],
      [
        "blank user to add",
        () => schedules.addRotationParticipant({ rotationId: missingId, userId: "" }, admin),
        "user_id",
      ],
      ["bad HH:MM", () => schedule([userRule("u", weekdays, "9:00", "17:00")]), "rules[0].start"],
      ["24:00", () => schedule([okRule, userRule("u", weekdays, "08:00", "24:00")]), "rules[1].end"],
      ["minute 60", () => schedule([userRule("u", weekdays, "08:60", "10:00")]), "rules[0].start"],
      [
        "weekday out of range",
        () => schedule([userRule("u", [8 as Weekday], "09:00", "17:00")]),
        "rules[0].weekdays[0]",
      ],
      [
        "weekday unset",
        () => schedule([userRule("u", [Weekday.MONDAY, Weekday.UNSPECIFIED], "09:00", "17:00")]),
        "rules[0].weekdays[1]",
      ],
      ["no weekdays", () => schedule([userRule("u", [], "09:00", "17:00")]), "rules[0].weekdays"],
      [
        "rule without target",
        () => schedule([{ weekdays, start: "09:00", end: "17:00" }]),
        "rules[0].target",
      ],
      [
        "malformed rule rotation id",
        () => schedule([rotationRule("abc", weekdays, "09:00", "17:00")]),
        "rules[0].target.rotation_id",
      ],
      [
        "unknown rule rotation",
        () => schedule([okRule, rotationRule(missingId, weekdays, "09:00", "17:00")]),
        "rules[1].target.rotation_id",
      ],
      ["unknown schedule time zone", () => schedule([okRule], { timeZone: "America/Gotham" }), "time_zone"],
      [
        "update with an unknown rotation",
        () =>
          schedules.updateSchedule(
            {
              schedule: {
                id: missingId,
                rules: [rotationRule(missingId, weekdays, "09:00", "17:00")] as ScheduleRule[],
              },
              updateMask: { paths: ["rules"] },
            },
            admin,
          ),
        "schedule.rules[0].target.rotation_id",
      ],
      [
        "update with a bad zone",
        () =>
          schedules.updateSchedule(
            { schedule: { id: missingId, timeZone: "x" }, updateMask: { paths: ["time_zone"] } },
            admin,
          ),
        "schedule.time_zone",
      ],
      ["override end before start", () => override({ endTime: ts("2026-03-09T00:00:00Z") }), "end_time"],
      ["override without end", () => override({ endTime: undefined }), "end_time"],
      ["override kind unset", () => override({ kind: OverrideKind.UNSPECIFIED }), "kind"],
      [
        "replace without the replaced user",
        () => override({ kind: OverrideKind.REPLACE }),
        "replaces_user_id",
      ],
      [
        "replace oneself",
        () => override({ kind: OverrideKind.REPLACE, replacesUserId: "u" }),
        "replaces_user_id",
      ],
      ["add with a replaced user", () => override({ replacesUserId: "v" }), "replaces_user_id"],
      ["override on a malformed schedule id", () => override({ scheduleId: "123" }), "schedule_id"],
      [
        "on-call of a malformed schedule id",
        () => schedules.getOnCall({ scheduleId: "zzz" }, admin),
        "schedule_id",
      ],
      [
        "shifts ending before they start",
        () =>
          schedules.listShifts(
            {
              scheduleId: missingId,
              startTime: ts("2026-03-10T00:00:00Z"),
              endTime: ts("2026-03-09T00:00:00Z"),
            },
            admin,
          ),
        "end_time",
      ],
      [
        "shifts over 367 days",
        () =>
          schedules.listShifts(
            {
              scheduleId: missingId,
              startTime: ts("2026-01-01T00:00:00Z"),
              endTime: ts("2027-01-03T00:00:00Z"),
            },
            admin,
          ),
        "end_time",
      ],
      [
        "shifts without start",
        () => schedules.listShifts({ scheduleId: missingId, endTime: ts("2026-03-09T00:00:00Z") }, admin),
        "start_time",
      ],
      [
        "user shifts without user",
        () => schedules.listUserShifts({ endTime: ts("2026-03-19T00:00:00Z") }, admin),
        "user_id",
      ],
      [
        "user shifts over a year",
        () => schedules.listUserShifts({ userId: "u", endTime: ts("2027-03-19T00:00:00Z") }, admin),
        "end_time",
      ],
      [
        "a page token from elsewhere",
        () => schedules.listSchedules({ pageToken: "e30" }, admin),
        "page_token",
      ],
    ];

    it.each(cases)("%s → invalid_argument on its field", async (_label, call, field) => {
      expect(await codeAndField(call())).toEqual([Code.InvalidArgument, field]);
    });

    it("answers edits that do not fit the rotation with the request's field names", async () => {
      const { rotation: r } = await schedules.createRotation(primaryInput, admin);
      const id = r!.id;
      expect(
        await codeAndField(
          schedules.addRotationParticipant({ rotationId: id, userId: "u", position: 9 }, admin),
        ),
      ).toEqual([Code.InvalidArgument, "position"]);
      expect(
        await codeAndField(
          schedules.removeRotationParticipant({ rotationId: id, participantIndex: 3 }, admin),
        ),
      ).toEqual([Code.InvalidArgument, "participant_index"]);
      expect(
        await codeAndField(
          schedules.reorderRotationParticipants({ rotationId: id, order: [0, 0, 1] }, admin),
        ),
      ).toEqual([Code.InvalidArgument, "order"]);
      expect(
        await codeAndField(
          schedules.setCurrentRotationParticipant({ rotationId: id, participantIndex: -1 }, admin),
        ),
      ).toEqual([Code.InvalidArgument, "participant_index"]);
      const { rotation: solo } = await schedules.createRotation(
        { ...primaryInput, participants: ["only"] },
        admin,
      );
      expect(
        await codeAndField(
          schedules.removeRotationParticipant({ rotationId: solo!.id, participantIndex: 0 }, admin),
        ),
      ).toEqual([Code.InvalidArgument, "participant_index"]);
      // Nothing changed.
      expect((await schedules.getRotation({ id }, admin)).rotation?.participants).toEqual([
        "alice",
        "bob",
        "carol",
      ]);
    });

    it("answers not_found for what the request addresses", async () => {
      const range = { startTime: ts("2026-03-10T00:00:00Z"), endTime: ts("2026-03-11T00:00:00Z") };
      for (const call of [
        () => schedules.getSchedule({ id: missingId }, admin),
        () => schedules.getOnCall({ scheduleId: missingId }, admin),
        () => schedules.listShifts({ scheduleId: missingId, ...range }, admin),
        () =>
          schedules.createOverride(
            { scheduleId: missingId, kind: OverrideKind.ADD, userId: "u", ...range },
            admin,
          ),
        () =>
          schedules.updateSchedule(
            { schedule: { id: missingId, name: "x" }, updateMask: { paths: ["name"] } },
            admin,
          ),
        () => schedules.deleteSchedule({ id: missingId }, admin),
        () => schedules.addRotationParticipant({ rotationId: missingId, userId: "u" }, admin),
        () =>
          schedules.updateRotation(
            { rotation: { id: missingId, name: "x" }, updateMask: { paths: ["name"] } },
            admin,
          ),
      ]) {
        expect((await failure(call())).code).toBe(Code.NotFound);
      }
      // A user on no schedule has no shifts (not an error).
      expect((await schedules.listUserShifts({ userId: "nobody", ...range }, admin)).shifts).toEqual([]);
    });

    it("refuses calls without a token", async () => {
      expect((await failure(schedules.listSchedules({}))).code).toBe(Code.Unauthenticated);
    });
  });

  it("refuses an override past the caps at save, naming the field, and keeps the others", async () => {
    const { schedule } = await schedules.createSchedule({ name: "crowded", timeZone: "UTC" }, admin);
    const create = (userId: string, start: string, end: string) =>
      schedules.createOverride(
        {
          scheduleId: schedule!.id,
          kind: OverrideKind.ADD,
          userId,
          startTime: timestampFromDate(new Date(start)),
          endTime: timestampFromDate(new Date(end)),
        },
        admin,
      );
    // Through the store's own insert, for speed: 50 overlapping 2026-03-11T00:00 – 2026-03-12T00:00.
    await sql`
      insert into schedule_overrides (schedule_id, kind, user_id, start_at, end_at)
      select ${schedule!.id}::uuid, 'add', 'u' || i, '2026-03-11T00:00:00Z'::timestamptz, '2026-03-12T00:00:00Z'::timestamptz
      from generate_series(1, ${MAX_OVERLAPPING_OVERRIDES}::int) i
    `.execute(suite.handle.db);

    const refused = await failure(create("one-more", "2026-03-11T10:00:00Z", "2026-03-11T11:00:00Z"));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toBe(
      `start_time: the schedule already has ${MAX_OVERLAPPING_OVERRIDES} overrides overlapping this range; at most ${MAX_OVERLAPPING_OVERRIDES} may overlap`,
    );
    // Another range is fine.
    const { override } = await create("later", "2026-03-12T00:00:00Z", "2026-03-12T01:00:00Z");
    expect(override?.userId).toBe("later");
    const listed = await schedules.listOverrides({ scheduleId: schedule!.id, pageSize: 500 }, admin);
    expect(listed.overrides).toHaveLength(MAX_OVERLAPPING_OVERRIDES + 1);
  });

  it("answers the heaviest listing in bounded pages, each starting where the last stopped", async () => {
    const start = new Date("2026-03-10T00:00:00Z");
    const end = new Date(start.getTime() + 366 * 24 * 3600 * 1000);
    const rules = [];
    for (let i = 0; i < 50; i++) {
      const { rotation } = await schedules.createRotation(
        {
          name: `hourly ${i}`,
          timeZone: "UTC",
          shiftLength: { count: 1, unit: ShiftUnit.HOUR },
          startTime: timestampFromDate(start),
          participants: [`a${i}`, `b${i}`],
        },
        admin,
      );
      rules.push({
        target: { kind: { case: "rotationId" as const, value: rotation!.id } },
        weekdays: [1, 2, 3, 4, 5, 6, 7] as Weekday[],
        start: "00:00",
        end: "00:00",
      });
    }
    const { schedule } = await schedules.createSchedule({ name: "heaviest", timeZone: "UTC", rules }, admin);
    const range = {
      scheduleId: schedule!.id,
      startTime: timestampFromDate(start),
      endTime: timestampFromDate(end),
    };

    const first = await schedules.listShifts(range, admin);
    // 1-hour windows of 50 shifts each (50 rules): ten fill the default 500, twenty the maximum 1000.
    expect(first.shifts).toHaveLength(500);
    expect(first.nextPageToken).not.toBe("");
    const second = await schedules.listShifts(
      { ...range, pageSize: 1000, pageToken: first.nextPageToken },
      admin,
    );
    expect(second.shifts).toHaveLength(1000);
    expect(timestampDate(second.shifts[0]!.startTime!)).toEqual(timestampDate(first.shifts.at(-1)!.endTime!));
    const other = await failure(
      schedules.listShifts(
        {
          ...range,
          endTime: timestampFromDate(new Date(end.getTime() - 1000)),
          pageToken: first.nextPageToken,
        },
        admin,
      ),
    );
    expect(other.code).toBe(Code.InvalidArgument);
    expect(other.rawMessage.startsWith("page_token: ")).toBe(true);
  });
});
