import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import { authenticateWebhookKey } from "../../../../test/support/seed.ts";
import { applySignals } from "./alert-signals.ts";
import { hashSecret } from "./integration-keys.ts";
import {
  createIntegrationKey,
  createService,
  deleteService,
  getService,
  likeContaining,
  listIntegrationKeys,
  listServices,
  revokeIntegrationKey,
  rotateIntegrationKey,
  updateService,
} from "./services.ts";

const t0 = new Date("2026-11-27T12:00:00Z");
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const missing = "00000000-0000-4000-8000-000000000000";

it("escapes LIKE wildcards", () => {
  expect(likeContaining("50%_off\\x")).toBe("%50\\%\\_off\\\\x%");
});

describeEachDatabase("services store", (suite) => {
  const db = () => suite.handle.db;
  const newService = (name: string, now = t0) =>
    createService(db(), { name, description: "", escalationPolicyId: null, now }).then((s) => s!);
  const authenticate = (secret: string, now = t0) =>
    authenticateWebhookKey(db(), { secret, now, defaultLimitPerMinute: 60 });

  beforeEach(async () => {
    await db().deleteFrom("services").execute();
    await db().deleteFrom("escalation_policies").execute();
  });

  it("creates, reads, updates and deletes", async () => {
    const created = await newService("checkout");
    expect(created).toMatchObject({
      name: "checkout",
      description: "",
      escalation_policy_id: null,
      created_at: t0,
      updated_at: t0,
    });
    expect(await getService(db(), created.id)).toEqual(created);
    expect(await getService(db(), missing)).toBeUndefined();

    const policy = await db()
      .insertInto("escalation_policies")
      .values({ name: "p" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const updated = await updateService(
      db(),
      created.id,
      { description: "shop", escalationPolicyId: policy.id },
      later(5),
    );
    expect(updated).toEqual({
      outcome: "updated",
      service: { ...created, description: "shop", escalation_policy_id: policy.id, updated_at: later(5) },
    });
    expect(await updateService(db(), created.id, { escalationPolicyId: missing }, later(6))).toEqual({
      outcome: "policy_not_found",
    });
    expect(await updateService(db(), missing, { name: "x" }, later(6))).toEqual({
      outcome: "service_not_found",
    });
    expect(await updateService(db(), created.id, { escalationPolicyId: null }, later(7))).toMatchObject({
      outcome: "updated",
      service: { escalation_policy_id: null, description: "shop" },
    });
    expect(
      await createService(db(), { name: "x", description: "", escalationPolicyId: missing, now: t0 }),
    ).toBeUndefined();

    expect(await deleteService(db(), created.id, later(8))).toEqual({ outcome: "deleted" });
    expect(await deleteService(db(), created.id, later(9))).toEqual({ outcome: "not_found" });
    expect(await getService(db(), created.id)).toBeUndefined();
    expect(await updateService(db(), created.id, { name: "back" }, later(9))).toEqual({
      outcome: "service_not_found",
    });
  });

  it("lists by case-insensitive name then id, in pages, with a literal search", async () => {
    for (const name of ["beta", "Alpha", "gamma", "alpha", "50%_off", "delta"]) await newService(name);
    const names: string[] = [];
    let after: { name: string; id: string } | undefined;
    let pages = 0;
    do {
      const page = await listServices(db(), { search: "", limit: 4, after });
      names.push(...page.services.map((s) => s.name));
      after = page.next;
      pages++;
    } while (after);
    expect(pages).toBe(2);
    expect(names).toHaveLength(6);
    expect(names.map((n) => n.toLowerCase())).toEqual([
      "50%_off",
      "alpha",
      "alpha",
      "beta",
      "delta",
      "gamma",
    ]);

    const search = async (text: string) =>
      (await listServices(db(), { search: text, limit: 10 })).services.map((s) => s.name);
    expect((await search("ALPHA")).sort()).toEqual(["Alpha", "alpha"]);
    expect(await search("%_")).toEqual(["50%_off"]);
    expect(await search("a_")).toEqual([]);
  });

  it("archives a deleted service: refused while alerts are open, then keys revoked, alerts and events kept", async () => {
    const doomed = await newService("doomed");
    const kept = await newService("kept");
    const key = await createIntegrationKey(db(), {
      serviceId: doomed.id,
      name: "k",
      type: "generic",
      rateLimitPerMinute: null,
      now: t0,
    });
    for (const serviceId of [doomed.id, kept.id]) {
      await applySignals(db(), {
        serviceId,
        actor: "admin",
        now: t0,
        signals: [
          {
            action: "trigger",
            dedupKey: "d",
            summary: "s",
            details: "",
            severity: "info",
            source: "manual",
            labels: {},
            annotations: {},
          },
        ],
      });
    }
    expect(await deleteService(db(), doomed.id, later(1))).toEqual({ outcome: "open_alerts", openAlerts: 1 });
    expect(await getService(db(), doomed.id)).toBeDefined();
    expect(await authenticate(key!.secret)).toBeDefined();

    await sql`update alerts set status = 'resolved' where service_id = ${doomed.id}::uuid`.execute(db());
    expect(await deleteService(db(), doomed.id, later(2))).toEqual({ outcome: "deleted" });
    expect(await getService(db(), doomed.id)).toBeUndefined();
    expect((await listServices(db(), { search: "", limit: 10 })).services.map((s) => s.name)).toEqual([
      "kept",
    ]);
    expect(await listIntegrationKeys(db(), { serviceId: doomed.id, includeRevoked: true })).toBeUndefined();
    expect(
      await createIntegrationKey(db(), {
        serviceId: doomed.id,
        name: "k2",
        type: "generic",
        rateLimitPerMinute: null,
        now: later(3),
      }),
    ).toBeUndefined();
    expect(await authenticate(key!.secret, later(3))).toBeUndefined();
    const keys = await db().selectFrom("integration_keys").select(["id", "revoked_at"]).execute();
    expect(keys).toEqual([{ id: key!.key.id, revoked_at: later(2) }]);
    expect(
      (await db().selectFrom("alerts").select("service_id").execute()).map((r) => r.service_id).sort(),
    ).toEqual([doomed.id, kept.id].sort());
    expect(await db().selectFrom("alert_events").select("id").execute()).toHaveLength(2);
  });

  it("keeps a rotated secret working during the overlap, and not after", async () => {
    const service = await newService("svc");
    const issued = await createIntegrationKey(db(), {
      serviceId: service.id,
      name: "am",
      type: "alertmanager",
      rateLimitPerMinute: null,
      now: t0,
    });
    const first = await rotateIntegrationKey(db(), issued!.key.id, { now: t0, overlapSeconds: 3600 });
    if (first.outcome !== "rotated") throw new Error(`expected rotated, got ${first.outcome}`);
    expect(first.issued.key).toMatchObject({
      previous_secret_prefix: issued!.secret.slice(0, 10),
      previous_secret_expires_at: later(3600),
    });
    expect(await authenticate(issued!.secret, later(3599))).toMatchObject({ keyId: issued!.key.id });
    expect(await authenticate(first.issued.secret, later(3599))).toMatchObject({ keyId: issued!.key.id });
    expect(await authenticate(issued!.secret, later(3600))).toBeUndefined();
    expect(await authenticate(first.issued.secret, later(3600))).toMatchObject({ keyId: issued!.key.id });

    // A second rotation keeps only the secret it replaces; the first one stops at once.
    const second = await rotateIntegrationKey(db(), issued!.key.id, { now: later(60), overlapSeconds: 600 });
    if (second.outcome !== "rotated") throw new Error(`expected rotated, got ${second.outcome}`);
    expect(await authenticate(issued!.secret, later(61))).toBeUndefined();
    expect(await authenticate(first.issued.secret, later(61))).toBeDefined();
    expect(await authenticate(second.issued.secret, later(61))).toBeDefined();

    // Revoking stops both.
    await revokeIntegrationKey(db(), issued!.key.id, later(62));
    expect(await authenticate(first.issued.secret, later(63))).toBeUndefined();
    expect(await authenticate(second.issued.secret, later(63))).toBeUndefined();
  });

  it("issues, lists, revokes and rotates integration keys", async () => {
    const service = await newService("svc");
    const issued = await createIntegrationKey(db(), {
      serviceId: service.id,
      name: "am",
      type: "alertmanager",
      rateLimitPerMinute: 30,
      now: t0,
    });
    expect(issued?.key).toMatchObject({
      service_id: service.id,
      name: "am",
      type: "alertmanager",
      rate_limit_per_minute: 30,
      secret_prefix: issued!.secret.slice(0, 10),
      created_at: t0,
      revoked_at: null,
      last_used_at: null,
    });
    const stored = await db().selectFrom("integration_keys").select("secret_hash").executeTakeFirstOrThrow();
    expect(stored.secret_hash).toBe(hashSecret(issued!.secret));
    expect(await authenticate(issued!.secret)).toMatchObject({ keyId: issued!.key.id, limitPerMinute: 30 });

    const other = await createIntegrationKey(db(), {
      serviceId: service.id,
      name: "any",
      type: "universal",
      rateLimitPerMinute: null,
      now: later(1),
    });
    expect(
      await createIntegrationKey(db(), {
        serviceId: missing,
        name: "x",
        type: "generic",
        rateLimitPerMinute: null,
        now: t0,
      }),
    ).toBeUndefined();

    const rotated = await rotateIntegrationKey(db(), issued!.key.id, { now: t0, overlapSeconds: 0 });
    expect(rotated.outcome).toBe("rotated");
    if (rotated.outcome !== "rotated") return;
    expect(rotated.issued.key).toMatchObject({
      id: issued!.key.id,
      previous_secret_prefix: null,
      previous_secret_expires_at: null,
    });
    expect(await authenticate(issued!.secret)).toBeUndefined();
    expect(await authenticate(rotated.issued.secret)).toMatchObject({ keyId: issued!.key.id });

    const revoked = await revokeIntegrationKey(db(), issued!.key.id, later(10));
    expect(revoked?.revoked_at).toEqual(later(10));
    expect((await revokeIntegrationKey(db(), issued!.key.id, later(20)))?.revoked_at).toEqual(later(10));
    expect(await authenticate(rotated.issued.secret)).toBeUndefined();
    const noOverlap = { now: later(30), overlapSeconds: 0 };
    expect(await rotateIntegrationKey(db(), issued!.key.id, noOverlap)).toMatchObject({ outcome: "revoked" });
    expect(await rotateIntegrationKey(db(), missing, noOverlap)).toEqual({ outcome: "not_found" });
    expect(await revokeIntegrationKey(db(), missing, t0)).toBeUndefined();

    expect(
      (await listIntegrationKeys(db(), { serviceId: service.id, includeRevoked: false }))?.map((k) => k.id),
    ).toEqual([other!.key.id]);
    expect(
      (await listIntegrationKeys(db(), { serviceId: service.id, includeRevoked: true }))?.map((k) => k.name),
    ).toEqual(["am", "any"]);
    const empty = await newService("empty");
    expect(await listIntegrationKeys(db(), { serviceId: empty.id, includeRevoked: true })).toEqual([]);
    expect(await listIntegrationKeys(db(), { serviceId: missing, includeRevoked: true })).toBeUndefined();
  });
});
