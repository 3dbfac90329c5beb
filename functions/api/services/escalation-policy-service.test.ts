import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { seedDirectoryUsers } from "../../../test/support/seed-oncall.ts";
import { loadEscalationPolicy } from "../../adapters/db/stores/escalation-policies.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { ChannelService } from "../../gen/oncall/v1/channels_pb.ts";
import {
  EscalationPolicyService,
  type EscalationStep,
  type EscalationTarget,
} from "../../gen/oncall/v1/escalation_policies_pb.ts";
import { ScheduleService, ShiftUnit } from "../../gen/oncall/v1/schedules_pb.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";

// EscalationPolicyService in memory (createRouterTransport, the real interceptors and stores) on
// every database path: PGlite, the Data API emulator, and Postgres when DATABASE_URL is set.

const missingId = "00000000-0000-4000-8000-000000000000";

const user = (value: string) => ({ kind: { case: "userId" as const, value } });
const scheduleTarget = (value: string) => ({ kind: { case: "scheduleId" as const, value } });
const rotationTarget = (value: string) => ({ kind: { case: "rotationId" as const, value } });
const channel = (value: string) => ({ kind: { case: "channelId" as const, value } });

/** Steps as "delay:kind=id,kind=id" strings, to compare whole lists at a glance. */
const stepsOf = (steps: readonly EscalationStep[] | undefined) =>
  (steps ?? []).map(
    (s) =>
      `${s.delaySeconds}:${s.targets.map((t: EscalationTarget) => `${t.kind.case}=${t.kind.value}`).join(",")}`,
  );

describeEachDatabase("EscalationPolicyService", (suite) => {
  const clock = createFixedClock("2026-11-27T12:00:00Z");
  let policies: ReturnType<typeof createClient<typeof EscalationPolicyService>>;
  let schedules: ReturnType<typeof createClient<typeof ScheduleService>>;
  let services: ReturnType<typeof createClient<typeof ServiceService>>;
  let channels: ReturnType<typeof createClient<typeof ChannelService>>;
  let channelId: string;
  let scheduleId: string;
  let rotationId: string;

  beforeAll(() => {
    const ctx = createTestAppContext(suite.handle, { clock });
    const transport = createInMemoryTransport(ctx);
    policies = createClient(EscalationPolicyService, transport);
    schedules = createClient(ScheduleService, transport);
    services = createClient(ServiceService, transport);
    channels = createClient(ChannelService, transport);
  });

  beforeEach(async () => {
    const db = suite.handle.db;
    await db.deleteFrom("services").execute();
    await db.deleteFrom("escalation_policies").execute();
    await db.deleteFrom("schedules").execute();
    await db.deleteFrom("rotations").execute();
    await db.deleteFrom("notification_channels").execute();
    clock.set("2026-11-27T12:00:00Z");
    // The users the policies below page (user targets are checked against the directory at save).
    await seedDirectoryUsers(db, ["a", "u", "bob", "lead-7"]);
    const { channel: slack } = await channels.createChannel(
      {
        channel: {
          name: "slack-payments",
          config: { kind: { case: "slack", value: { webhookUrl: "http://127.0.0.1:9/services/T/B/X" } } },
        },
      },
      admin,
    );
    channelId = slack!.id;
    const { rotation } = await schedules.createRotation(
      {
        name: "Primary",
        timeZone: "Europe/Berlin",
        shiftLength: { count: 1, unit: ShiftUnit.WEEK },
        startTime: timestampFromDate(new Date("2026-11-02T09:00:00+01:00")),
        participants: ["alice", "bob"],
      },
      admin,
    );
    const { schedule } = await schedules.createSchedule(
      { name: "Payments", timeZone: "Europe/Berlin" },
      admin,
    );
    rotationId = rotation!.id;
    scheduleId = schedule!.id;
  });

  it("refuses at save a repeating policy without a minute after each step, naming the field", async () => {
    const quick = await failure(
      policies.createEscalationPolicy(
        { name: "storm", repeatCount: 20, steps: [{ delaySeconds: 0, targets: [user("a")] }] },
        admin,
      ),
    );
    expect(quick.code).toBe(Code.InvalidArgument);
    expect(quick.rawMessage).toBe(
      "steps[0].delay_seconds: a policy that repeats waits at least 60 seconds after every step (repeat_count is 20)",
    );
    const tooMany = await failure(
      policies.createEscalationPolicy(
        {
          name: "crowd",
          repeatCount: 20,
          steps: Array.from({ length: 20 }, () => ({
            delaySeconds: 60,
            targets: Array.from({ length: 50 }, (_, j) => user(`u${j}`)),
          })),
        },
        admin,
      ),
    );
    expect(tooMany.code).toBe(Code.InvalidArgument);
    expect(tooMany.rawMessage).toMatch(/^steps: one alert would page 21000 targets/);

    // A policy that does not repeat may page at once; making it repeat is refused and changes nothing.
    const { policy } = await policies.createEscalationPolicy(
      { name: "once", steps: [{ delaySeconds: 0, targets: [user("a")] }] },
      admin,
    );
    const repeat = await failure(
      policies.updateEscalationPolicy(
        { policy: { id: policy!.id, repeatCount: 3 }, updateMask: { paths: ["repeat_count"] } },
        admin,
      ),
    );
    expect(repeat.code).toBe(Code.InvalidArgument);
    expect(repeat.rawMessage).toMatch(
      /^policy\.repeat_count: a policy that repeats waits at least 60 seconds/,
    );
    expect((await policies.getEscalationPolicy({ id: policy!.id }, admin)).policy).toEqual(policy);
  });

  it("creates, gets, lists, updates (steps as a whole list) and deletes a policy", async () => {
    const { policy } = await policies.createEscalationPolicy(
      {
        name: "Payments",
        description: "page the on-call, then the lead",
        repeatCount: 2,
        steps: [
          { delaySeconds: 60, targets: [scheduleTarget(scheduleId), channel(channelId)] },
          { delaySeconds: 300, targets: [rotationTarget(rotationId.toUpperCase()), user("lead-7")] },
        ],
      },
      admin,
    );
    expect(policy).toMatchObject({
      name: "Payments",
      description: "page the on-call, then the lead",
      repeatCount: 2,
    });
    // Ids are stored lower-case, whatever case they came in.
    expect(stepsOf(policy?.steps)).toEqual([
      `60:scheduleId=${scheduleId},channelId=${channelId}`,
      `300:rotationId=${rotationId},userId=lead-7`,
    ]);
    expect(timestampDate(policy!.createTime!).toISOString()).toBe("2026-11-27T12:00:00.000Z");
    expect((await policies.getEscalationPolicy({ id: policy!.id }, admin)).policy).toEqual(policy);

    // What the escalation engine loads.
    expect(await loadEscalationPolicy(suite.handle.db, policy!.id)).toEqual({
      id: policy!.id,
      repeatCount: 2,
      steps: [
        {
          delaySeconds: 60,
          targets: [
            { kind: "schedule", id: scheduleId },
            { kind: "channel", id: channelId },
          ],
        },
        {
          delaySeconds: 300,
          targets: [
            { kind: "rotation", id: rotationId },
            { kind: "user", id: "lead-7" },
          ],
        },
      ],
    });
    expect(await loadEscalationPolicy(suite.handle.db, missingId)).toBeUndefined();

    await policies.createEscalationPolicy({ name: "databases" }, admin);
    await policies.createEscalationPolicy({ name: "Search" }, admin);
    const first = await policies.listEscalationPolicies({ pageSize: 2 }, admin);
    expect(first.policies.map((p) => p.name)).toEqual(["databases", "Payments"]);
    expect(first.policies[1]).toEqual(policy);
    const second = await policies.listEscalationPolicies(
      { pageSize: 2, pageToken: first.nextPageToken },
      admin,
    );
    expect(second.policies.map((p) => p.name)).toEqual(["Search"]);
    expect(second.nextPageToken).toBe("");
    expect(
      (await policies.listEscalationPolicies({ search: "PAY" }, admin)).policies.map((p) => p.id),
    ).toEqual([policy!.id]);

    // Replace the steps: one step, the old ones gone.
    clock.advance(60_000);
    const { policy: updated } = await policies.updateEscalationPolicy(
      {
        policy: { id: policy!.id, name: "ignored", steps: [{ delaySeconds: 60, targets: [user("bob")] }] },
        updateMask: { paths: ["steps"] },
      },
      admin,
    );
    expect(updated).toMatchObject({ name: "Payments", repeatCount: 2 });
    expect(stepsOf(updated?.steps)).toEqual(["60:userId=bob"]);
    expect(timestampDate(updated!.updateTime!).toISOString()).toBe("2026-11-27T12:01:00.000Z");
    expect((await policies.getEscalationPolicy({ id: policy!.id }, admin)).policy).toEqual(updated);
    // A name/repeat update keeps the steps.
    const { policy: renamed } = await policies.updateEscalationPolicy(
      {
        policy: { id: policy!.id, name: "Payments v2", repeatCount: 0 },
        updateMask: { paths: ["name", "repeat_count"] },
      },
      admin,
    );
    expect(renamed).toMatchObject({ name: "Payments v2", repeatCount: 0 });
    expect(stepsOf(renamed?.steps)).toEqual(["60:userId=bob"]);
    // An empty mask replaces everything, including the steps (here: with none).
    const { policy: cleared } = await policies.updateEscalationPolicy(
      { policy: { id: policy!.id, name: "Payments v3" } },
      admin,
    );
    expect(cleared).toMatchObject({ name: "Payments v3", description: "", repeatCount: 0, steps: [] });

    await policies.deleteEscalationPolicy({ id: policy!.id }, admin);
    expect((await failure(policies.getEscalationPolicy({ id: policy!.id }, admin))).code).toBe(Code.NotFound);
    expect((await failure(policies.deleteEscalationPolicy({ id: policy!.id }, admin))).code).toBe(
      Code.NotFound,
    );
  });

  it("rolls back a failed step replacement: the policy keeps its old steps", async () => {
    const { policy } = await policies.createEscalationPolicy(
      { name: "p", steps: [{ delaySeconds: 5, targets: [user("a")] }] },
      admin,
    );
    const error = await failure(
      policies.updateEscalationPolicy(
        {
          policy: {
            id: policy!.id,
            name: "renamed",
            steps: [{ delaySeconds: 0, targets: [scheduleTarget(missingId)] }],
          },
          updateMask: { paths: ["name", "steps"] },
        },
        admin,
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect((await policies.getEscalationPolicy({ id: policy!.id }, admin)).policy).toEqual(policy);
  });

  it("detaches services from a deleted policy, and refuses while an alert escalates along it", async () => {
    const { policy } = await policies.createEscalationPolicy({ name: "p" }, admin);
    const { service } = await services.createService(
      { name: "checkout", escalationPolicyId: policy!.id },
      admin,
    );
    const {
      rows: [{ id: alertId } = { id: 0 }],
    } = await sql<{ id: number }>`
      insert into alerts (service_id, dedup_key, status, severity, summary, source)
      values (${service!.id}::uuid, 'k', 'triggered', 'critical', 's', 'test')
      returning id
    `.execute(suite.handle.db);
    await sql`
      insert into alert_escalations (alert_id, policy_id, status, execution_name)
      values (${alertId}::bigint, ${policy!.id}::uuid, 'active', ${`alert-${alertId}`})
    `.execute(suite.handle.db);

    const refused = await failure(policies.deleteEscalationPolicy({ id: policy!.id }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain(`alert ${alertId}`);

    await sql`update alert_escalations set status = 'completed' where alert_id = ${alertId}::bigint`.execute(
      suite.handle.db,
    );
    await policies.deleteEscalationPolicy({ id: policy!.id }, admin);
    expect((await services.getService({ id: service!.id }, admin)).service?.escalationPolicyId).toBe("");
  });

  describe("validation", () => {
    const create = (over: Record<string, unknown>) =>
      policies.createEscalationPolicy(
        { name: "p", ...over } as Parameters<typeof policies.createEscalationPolicy>[0],
        admin,
      );
    const step = (over: Record<string, unknown> = {}) => ({ delaySeconds: 0, targets: [user("u")], ...over });

    const cases: [string, () => Promise<unknown>, Code, string][] = [
      ["a blank name", () => create({ name: " " }), Code.InvalidArgument, "name"],
      ["a negative repeat count", () => create({ repeatCount: -1 }), Code.InvalidArgument, "repeat_count"],
      ["a repeat count of 21", () => create({ repeatCount: 21 }), Code.InvalidArgument, "repeat_count"],
      [
        "a negative delay",
        () => create({ steps: [step(), step({ delaySeconds: -5 })] }),
        Code.InvalidArgument,
        "steps[1].delay_seconds",
      ],
      [
        "a delay over a week",
        () => create({ steps: [step({ delaySeconds: 604_801 })] }),
        Code.InvalidArgument,
        "steps[0].delay_seconds",
      ],
      [
        "a step with no targets",
        () => create({ steps: [step(), step({ targets: [] })] }),
        Code.InvalidArgument,
        "steps[1].targets",
      ],
      [
        "a target with nothing chosen",
        () => create({ steps: [step({ targets: [user("u"), {}] })] }),
        Code.InvalidArgument,
        "steps[0].targets[1]",
      ],
      [
        "a blank user",
        () => create({ steps: [step({ targets: [user("")] })] }),
        Code.InvalidArgument,
        "steps[0].targets[0].user_id",
      ],
      [
        "a malformed schedule id",
        () => create({ steps: [step({ targets: [scheduleTarget("sched-1")] })] }),
        Code.InvalidArgument,
        "steps[0].targets[0].schedule_id",
      ],
      [
        "a malformed rotation id",
        () => create({ steps: [step({ targets: [rotationTarget("1")] })] }),
        Code.InvalidArgument,
        "steps[0].targets[0].rotation_id",
      ],
      [
        "an unknown schedule",
        () => create({ steps: [step(), step({ targets: [user("u"), scheduleTarget(missingId)] })] }),
        Code.InvalidArgument,
        "steps[1].targets[1].schedule_id",
      ],
      [
        "an unknown rotation",
        () => create({ steps: [step({ targets: [rotationTarget(missingId)] })] }),
        Code.InvalidArgument,
        "steps[0].targets[0].rotation_id",
      ],
      [
        "an unknown channel",
        () => create({ steps: [step({ targets: [user("a"), channel(missingId)] })] }),
        Code.InvalidArgument,
        "steps[0].targets[1].channel_id",
      ],
      [
        "a channel id with spaces",
        () => create({ steps: [step({ targets: [channel("a b")] })] }),
        Code.InvalidArgument,
        "steps[0].targets[0].channel_id",
      ],
      [
        "21 steps",
        () => create({ steps: Array.from({ length: 21 }, () => step()) }),
        Code.InvalidArgument,
        "steps",
      ],
      [
        "a malformed id",
        () => policies.getEscalationPolicy({ id: "policy-1" }, admin),
        Code.InvalidArgument,
        "id",
      ],
      [
        "an update without a policy",
        () => policies.updateEscalationPolicy({}, admin),
        Code.InvalidArgument,
        "policy",
      ],
      [
        "an update of an unknown field",
        () =>
          policies.updateEscalationPolicy(
            { policy: { id: missingId }, updateMask: { paths: ["create_time"] } },
            admin,
          ),
        Code.InvalidArgument,
        "update_mask.paths[0]",
      ],
      [
        "an update with a step without targets",
        () =>
          policies.updateEscalationPolicy(
            { policy: { id: missingId, steps: [{ delaySeconds: 1 }] }, updateMask: { paths: ["steps"] } },
            admin,
          ),
        Code.InvalidArgument,
        "policy.steps[0].targets",
      ],
      [
        "an update with an unknown schedule",
        () =>
          policies.updateEscalationPolicy(
            {
              policy: { id: missingId, steps: [step({ targets: [scheduleTarget(missingId)] })] },
              updateMask: { paths: ["steps"] },
            },
            admin,
          ),
        Code.InvalidArgument,
        "policy.steps[0].targets[0].schedule_id",
      ],
      [
        "a page token from another list",
        () => policies.listEscalationPolicies({ pageToken: "abc" }, admin),
        Code.InvalidArgument,
        "page_token",
      ],
      [
        "an update of an unknown policy",
        () =>
          policies.updateEscalationPolicy(
            { policy: { id: missingId, name: "x" }, updateMask: { paths: ["name"] } },
            admin,
          ),
        Code.NotFound,
        "escalation policy 00000000-0000-4000-8000-000000000000 not found",
      ],
    ];

    it.each(cases)("%s", async (_label, call, code, field) => {
      const error = await failure(call());
      expect([error.code, error.rawMessage.split(": ")[0]]).toEqual([code, field]);
    });

    it("refuses a user the directory does not know, naming the field, and writes nothing", async () => {
      await suite.handle.db.deleteFrom("directory_users").where("id", "=", "ghost").execute();
      const error = await failure(create({ steps: [step(), step({ targets: [user("ghost"), user("u")] })] }));
      expect([error.code, error.rawMessage]).toEqual([
        Code.InvalidArgument,
        "steps[1].targets[0].user_id: user ghost is not in the directory",
      ]);
      expect(await suite.handle.db.selectFrom("escalation_policies").select("id").execute()).toEqual([]);

      // An update's new steps too; the policy keeps its old ones.
      const { policy } = await create({ steps: [step()] });
      const refused = await failure(
        policies.updateEscalationPolicy(
          {
            policy: { id: policy!.id, steps: [step({ targets: [user("u"), user("ghost")] })] },
            updateMask: { paths: ["steps"] },
          },
          admin,
        ),
      );
      expect([refused.code, refused.rawMessage.split(": ")[0]]).toEqual([
        Code.InvalidArgument,
        "policy.steps[0].targets[1].user_id",
      ]);
      expect(stepsOf((await policies.getEscalationPolicy({ id: policy!.id }, admin)).policy?.steps)).toEqual([
        "0:userId=u",
      ]);
      // Known once the directory has them.
      await seedDirectoryUsers(suite.handle.db, ["ghost"]);
      const { policy: saved } = await create({ steps: [step({ targets: [user("ghost")] })] });
      expect(stepsOf(saved?.steps)).toEqual(["0:userId=ghost"]);
    });

    it("names the referenced id in the message", async () => {
      const error = await failure(create({ steps: [step({ targets: [scheduleTarget(missingId)] })] }));
      expect(error.rawMessage).toBe(`steps[0].targets[0].schedule_id: schedule ${missingId} does not exist`);
      expect(await suite.handle.db.selectFrom("escalation_policies").select("id").execute()).toEqual([]);
    });
  });
});
