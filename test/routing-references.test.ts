import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { isForeignKeyViolation } from "../functions/adapters/db/errors.ts";
import { newIntegrationSecret } from "../functions/adapters/db/stores/integration-keys.ts";
import { createRule } from "../functions/adapters/db/stores/routing.ts";
import { createAlertUseCases } from "../functions/app/alerts.ts";
import { deleteChannel } from "../functions/app/channels.ts";
import { deleteEscalationPolicy } from "../functions/app/escalation-policies.ts";
import { cancelMaintenanceWindow, createMaintenanceWindow } from "../functions/app/maintenance.ts";
import {
  createRoutingRule,
  deleteRoutingRule,
  listRoutingDecisions,
  routingDepsOf,
  updateRoutingRule,
} from "../functions/app/routing.ts";
import { deleteSchedule } from "../functions/app/schedules.ts";
import { deleteService } from "../functions/app/services.ts";
import { createTemplateUseCases } from "../functions/app/templates.ts";
import { createFixedClock } from "../functions/domain/clock.ts";
import { PreconditionError, ValidationError } from "../functions/domain/errors.ts";
import type { RuleAction, RuleDraft } from "../functions/domain/routing/rules.ts";
import { createRecordingEscalationRunner, createTestAppContext } from "./support/app-context.ts";
import { describeEachDatabase } from "./support/databases.ts";
import { attachPolicy, seedChannel, seedPolicy, seedSchedule } from "./support/seed-oncall.ts";

// Referential integrity of routing (issue 13): what a rule's scope and actions or a live maintenance
// window's scope name cannot be deleted (FAILED_PRECONDITION naming the users, nothing deleted), the
// database refuses it whatever the timing (routing_references' foreign keys and the archive
// trigger), and a rule that still names something gone (saved before the guard) is recorded as an
// error on the decision while the alert falls back to its service's default policy.

describeEachDatabase("routing references", (suite) => {
  const clock = createFixedClock("2026-11-30T14:00:00Z");
  const runner = createRecordingEscalationRunner();
  const ctx = () => createTestAppContext(suite.handle, { clock, escalations: runner });
  const db = () => suite.handle.db;

  async function seedService(): Promise<string> {
    const { rows } = await sql<{ id: string }>`
      insert into services (name) values (${`svc-${randomUUID()}`}) returning id`.execute(db());
    return rows[0]!.id;
  }

  async function seedTemplate(): Promise<string> {
    const { rows } = await sql<{ id: string }>`
      insert into templates (name, kind, live_version, latest_version)
      values (${`tpl-${randomUUID()}`}, 'alert', 1, 1) returning id`.execute(db());
    return rows[0]!.id;
  }

  const rule = (name: string, actions: RuleAction[], more: Partial<RuleDraft> = {}): RuleDraft => ({
    name,
    description: "",
    enabled: true,
    terminal: false,
    condition: { matchers: [] },
    actions,
    ...more,
  });

  const save = async (draft: RuleDraft) =>
    (await createRoutingRule(routingDepsOf(ctx()), { draft, actor: "admin" })).rule;

  const refusal = async (promise: Promise<unknown>): Promise<string> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PreconditionError);
    return (error as Error).message;
  };

  const exists = async (table: string, id: string) =>
    (
      await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(table)} where id = ${id}::uuid`.execute(db())
    ).rows[0]!.n === 1;

  beforeEach(async () => {
    await db().deleteFrom("routing_rules").execute();
    await sql`delete from maintenance_windows`.execute(db());
    await sql`update routing_rule_set set version = version + 1 where id = 1`.execute(db());
    runner.calls.length = 0;
  });

  const templates = () => createTemplateUseCases({ db, clock, defaults: () => new Map() });

  // One case per kind: what names it, how it is deleted, where it lives.
  const kinds: {
    kind: string;
    table: string;
    seed: () => Promise<string>;
    actions: (id: string) => RuleAction[];
    scope?: boolean;
    remove: (id: string) => Promise<unknown>;
  }[] = [
    {
      kind: "escalation policy",
      table: "escalation_policies",
      seed: () => seedPolicy(db(), []),
      actions: (id) => [{ kind: "route", policyId: id }],
      remove: (id) => deleteEscalationPolicy(ctx(), id),
    },
    {
      kind: "channel",
      table: "notification_channels",
      seed: () => seedChannel(db(), `ch-${randomUUID()}`),
      actions: (id) => [{ kind: "notify_channel", channelId: id }],
      remove: (id) => deleteChannel(ctx(), id),
    },
    {
      kind: "schedule",
      table: "schedules",
      seed: () => seedSchedule(db(), null),
      actions: (id) => [{ kind: "notify_schedule", scheduleId: id }],
      remove: (id) => deleteSchedule(ctx(), id),
    },
    {
      kind: "template",
      table: "templates",
      seed: seedTemplate,
      actions: () => [],
      remove: (id) => templates().delete(id),
    },
    {
      kind: "service (rule scope)",
      table: "services",
      seed: seedService,
      actions: () => [{ kind: "suppress", reason: "quiet" }],
      scope: true,
      remove: (id) => deleteService(ctx(), id),
    },
  ];

  for (const k of kinds) {
    it(`a ${k.kind} a disabled rule names cannot be deleted until the rule is gone`, async () => {
      const id = await k.seed();
      let actions = k.actions(id);
      if (k.kind === "template") {
        actions = [
          {
            kind: "notify_channel",
            channelId: await seedChannel(db(), `ch-${randomUUID()}`),
            templateId: id,
          },
        ];
      }
      const named = await save(
        rule(`uses ${k.kind}`, actions, { enabled: false, ...(k.scope ? { serviceIds: [id] } : {}) }),
      );

      const message = await refusal(k.remove(id));
      expect(message).toContain(`routing rule "uses ${k.kind}" (${named.id})`);
      const live = k.table === "services" ? sql`deleted_at is null` : sql`true`;
      expect(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from ${sql.table(k.table)} where id = ${id}::uuid and ${live}`.execute(
            db(),
          )
        ).rows[0]!.n,
      ).toBe(1);

      await deleteRoutingRule(routingDepsOf(ctx()), { id: named.id, actor: "admin" });
      await k.remove(id);
      if (k.table !== "services") expect(await exists(k.table, id)).toBe(false);
    });
  }

  it("a service in a live maintenance window's scope cannot be deleted; once the window is cancelled it can", async () => {
    const serviceId = await seedService();
    const window = await createMaintenanceWindow(
      ctx(),
      {
        name: "db upgrade",
        reason: "upgrade",
        owner: "ops",
        action: "suppress",
        schedule: {
          kind: "once",
          startAt: new Date("2026-12-01T00:00:00Z"),
          endAt: new Date("2026-12-01T02:00:00Z"),
        },
        scope: { serviceIds: [serviceId], labelMatchers: [], cel: "" },
      },
      "ops",
    );
    const message = await refusal(deleteService(ctx(), serviceId));
    expect(message).toContain(`maintenance window "db upgrade" (${window.window.id})`);

    await cancelMaintenanceWindow(ctx(), window.window.id, "ops");
    await deleteService(ctx(), serviceId);
  });

  it("names at most 10 users and says how many more", async () => {
    const policyId = await seedPolicy(db(), []);
    for (let i = 1; i <= 12; i++)
      await save(rule(`r${String(i).padStart(2, "0")}`, [{ kind: "route", policyId }]));
    const message = await refusal(deleteEscalationPolicy(ctx(), policyId));
    expect(message).toContain('routing rule "r01"');
    expect(message).toContain('routing rule "r10"');
    expect(message).not.toContain('routing rule "r11"');
    expect(message).toContain("and 2 more");
  });

  it("a rule's new actions move what it holds: the old policy is free, the new one is held", async () => {
    const [a, b] = [await seedPolicy(db(), []), await seedPolicy(db(), [])];
    const r = await save(rule("moves", [{ kind: "route", policyId: a }]));
    await updateRoutingRule(routingDepsOf(ctx()), {
      id: r.id,
      patch: { actions: [{ kind: "route", policyId: b }] },
      actor: "admin",
    });
    await deleteEscalationPolicy(ctx(), a);
    await refusal(deleteEscalationPolicy(ctx(), b));
    // Enabling or disabling (no change of what it names) keeps the hold.
    await updateRoutingRule(routingDepsOf(ctx()), { id: r.id, patch: { enabled: false }, actor: "admin" });
    await refusal(deleteEscalationPolicy(ctx(), b));
  });

  it("the database refuses a delete that skips the check, and a rule written after its target went", async () => {
    const policyId = await seedPolicy(db(), []);
    const serviceId = await seedService();
    await save(rule("guarded", [{ kind: "route", policyId }], { serviceIds: [serviceId] }));
    // A delete or archive that does not ask first (or whose check raced a save) is refused.
    const deleted = await sql`delete from escalation_policies where id = ${policyId}::uuid`
      .execute(db())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isForeignKeyViolation(deleted)).toBe(true);
    const archived = await sql`update services set deleted_at = now() where id = ${serviceId}::uuid`
      .execute(db())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isForeignKeyViolation(archived)).toBe(true);

    // A save whose check passed before the target went (the write is what the database judges).
    const gone = randomUUID();
    const write = createRule(db(), {
      draft: rule("late", [{ kind: "route", policyId: gone }]),
      actor: "admin",
      now: clock.now(),
    });
    expect(
      isForeignKeyViolation(
        await write.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    ).toBe(true);
    const archivedService = await seedService();
    await deleteService(ctx(), archivedService);
    const late = createRule(db(), {
      draft: rule("late scope", [{ kind: "suppress", reason: "x" }], { serviceIds: [archivedService] }),
      actor: "admin",
      now: clock.now(),
    });
    expect(
      isForeignKeyViolation(
        await late.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    ).toBe(true);
    expect((await db().selectFrom("routing_rules").select("name").execute()).map((r) => r.name)).toEqual([
      "guarded",
    ]);
  });

  /** Until another connection of this database waits on a lock (bounded by tries, not by time). */
  async function untilSomeoneWaitsOnALock(): Promise<void> {
    for (let i = 0; i < 20_000; i++) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(db());
      if (rows[0]!.n > 0) return;
    }
    throw new Error("no connection ever waited on a lock");
  }

  // Two connections at once: only a real server has them (PGlite and the Data API emulator serve one
  // statement at a time), so these cases exist only there rather than showing as skipped elsewhere.
  (suite.kind === "postgres" ? it : () => {})(
    "a delete racing a rule save that has not committed waits for it, then is refused naming the rule",
    async () => {
      const policyId = await seedPolicy(db(), []);
      let deletion: Promise<unknown> | undefined;
      await db()
        .transaction()
        .execute(async (trx) => {
          await createRule(trx, {
            draft: rule("racing", [{ kind: "route", policyId }]),
            actor: "admin",
            now: clock.now(),
          });
          deletion = deleteEscalationPolicy(ctx(), policyId).then(
            () => undefined,
            (e: unknown) => e,
          );
          await untilSomeoneWaitsOnALock();
        });
      const error = await deletion;
      expect(error).toBeInstanceOf(PreconditionError);
      expect((error as Error).message).toContain('routing rule "racing"');
      expect(await exists("escalation_policies", policyId)).toBe(true);
    },
  );

  (suite.kind === "postgres" ? it : () => {})(
    "a rule save racing a service archive that has not committed waits for it, then is refused naming the field",
    async () => {
      const serviceId = await seedService();
      let saving: Promise<unknown> | undefined;
      await db()
        .transaction()
        .execute(async (trx) => {
          await sql`update services set deleted_at = ${clock.now().toISOString()}::timestamptz
            where id = ${serviceId}::uuid`.execute(trx);
          // Its check still sees the service (the archive is not committed); its write waits.
          saving = save(rule("late", [{ kind: "suppress", reason: "x" }], { serviceIds: [serviceId] })).then(
            () => undefined,
            (e: unknown) => e,
          );
          await untilSomeoneWaitsOnALock();
        });
      const error = await saving;
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toBe(`rule.service_ids[0]: service ${serviceId} does not exist`);
      expect(await db().selectFrom("routing_rules").select("id").execute()).toEqual([]);
    },
  );

  // Before this change a route-only rule like this one had the escalation start fail on the
  // alert_escalations foreign key for ever (the webhook answered "unavailable", nobody was paged);
  // one that also suppressed suppressed the alert.
  it.each([
    ["routes", false],
    ["suppresses and routes", true],
  ])(
    "a rule that %s to a policy that is gone (saved before the guard) is recorded as an error; the alert takes the service default",
    async (_, suppresses) => {
      const secret = newIntegrationSecret();
      const serviceId = await seedService();
      await sql`
      insert into integration_keys (service_id, name, type, secret_hash, secret_prefix)
      values (${serviceId}::uuid, 'am', 'alertmanager', ${secret.hash}, ${secret.displayPrefix})
    `.execute(db());
      const defaultPolicy = await seedPolicy(db(), [
        { delaySeconds: 0, targets: [{ kind: "user", id: "oncall" }] },
      ]);
      await attachPolicy(db(), serviceId, defaultPolicy);
      const gonePolicy = await seedPolicy(db(), [
        { delaySeconds: 0, targets: [{ kind: "user", id: "dba" }] },
      ]);
      const broken = await save(
        rule(
          "to a gone policy",
          [
            ...(suppresses ? [{ kind: "suppress", reason: "should not apply" } as const] : []),
            { kind: "route", policyId: gonePolicy },
          ],
          { terminal: true },
        ),
      );
      // What a database migrated from before the guard may hold: the rule names a deleted policy.
      await sql`delete from routing_references where rule_id = ${broken.id}::uuid`.execute(db());
      await sql`delete from escalation_policies where id = ${gonePolicy}::uuid`.execute(db());
      await sql`update routing_rule_set set version = version + 1 where id = 1`.execute(db());

      const { results } = await createAlertUseCases(ctx()).ingest({
        source: "alertmanager",
        secret: secret.secret,
        body: {
          version: "4",
          status: "firing",
          alerts: [
            {
              status: "firing",
              labels: { alertname: "Disk" },
              annotations: {},
              fingerprint: `fp-${randomUUID()}`,
            },
          ],
        },
      });
      const alertId = results[0]!.alertId!;
      const [decision] = await listRoutingDecisions(routingDepsOf(ctx()), { alertId, limit: 10 });
      expect(decision?.decision).toMatchObject({
        outcome: "routed",
        policyId: defaultPolicy,
        policySource: "service_default",
        matched: [],
        errors: [
          {
            ruleId: broken.id,
            message: expect.stringContaining(`escalation policy ${gonePolicy} does not exist`),
          },
        ],
      });
      const escalation = await sql<{ policy_id: string }>`
      select policy_id from alert_escalations where alert_id = ${alertId}::bigint`.execute(db());
      expect(escalation.rows.map((r) => r.policy_id)).toEqual([defaultPolicy]);
      const state = await sql<{ state: string | null }>`
      select routing_state as state from alerts where id = ${alertId}::bigint`.execute(db());
      expect(state.rows[0]?.state ?? null).not.toBe("suppressed");
    },
  );
});
