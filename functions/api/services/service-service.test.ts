import { createHash } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, bearer, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { authenticateWebhookKey } from "../../../test/support/seed.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { AlertService } from "../../gen/oncall/v1/alerts_pb.ts";
import { ApiKeyScope, ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";
import { IntegrationKeyType, ServiceService } from "../../gen/oncall/v1/services_pb.ts";

// ServiceService in memory: the real router, interceptors and store, on a PGlite clone.
const clock = createFixedClock("2026-11-27T12:00:00Z");
let database: DatabaseHandle;
let services: ReturnType<typeof createClient<typeof ServiceService>>;
let alerts: ReturnType<typeof createClient<typeof AlertService>>;
let apiKeys: ReturnType<typeof createClient<typeof ApiKeyService>>;

const missingId = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database, { clock });
  const transport = createInMemoryTransport(ctx);
  services = createClient(ServiceService, transport);
  alerts = createClient(AlertService, transport);
  apiKeys = createClient(ApiKeyService, transport);
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("services").execute();
  await database.db.deleteFrom("api_keys").execute();
  clock.set("2026-11-27T12:00:00Z");
});

/** The ConnectError a call fails with (fails the test when the call succeeds). */

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error = await failure(call);
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.rawMessage.startsWith(`${field}: `)).toBe(true);
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("services", () => {
  it("creates, gets, updates and deletes a service", async () => {
    const { service: created } = await services.createService(
      { name: "  Checkout  ", description: "the shop's checkout" },
      admin,
    );
    expect(created).toMatchObject({
      name: "Checkout",
      description: "the shop's checkout",
      escalationPolicyId: "",
    });
    expect(created?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created?.createTime?.seconds).toBe(BigInt(Date.parse("2026-11-27T12:00:00Z") / 1000));

    const { service: got } = await services.getService({ id: created!.id }, admin);
    expect(got).toEqual(created);

    clock.advance(60_000);
    const { service: renamed } = await services.updateService(
      {
        service: { id: created!.id, name: "Payments", description: "ignored: not in the mask" },
        updateMask: { paths: ["name"] },
      },
      admin,
    );
    expect(renamed).toMatchObject({ id: created!.id, name: "Payments", description: "the shop's checkout" });
    expect(renamed?.updateTime?.seconds).toBe(created!.createTime!.seconds + 60n);

    // An empty mask replaces all updatable fields.
    const { service: replaced } = await services.updateService(
      { service: { id: created!.id, name: "Pay" } },
      admin,
    );
    expect(replaced).toMatchObject({ name: "Pay", description: "", escalationPolicyId: "" });
    // ...so leaving the name out says why it was read at all.
    const unnamed = await failure(
      services.updateService({ service: { id: created!.id, description: "only this" } }, admin),
    );
    expect(unnamed.code).toBe(Code.InvalidArgument);
    expect(unnamed.rawMessage).toBe(
      "service.name: is required: an empty update_mask replaces every field (name, description, escalation_policy_id); list the fields to change in update_mask",
    );
    const { service: described } = await services.updateService(
      { service: { id: created!.id, description: "only this" }, updateMask: { paths: ["description"] } },
      admin,
    );
    expect(described).toMatchObject({ name: "Pay", description: "only this" });

    await services.deleteService({ id: created!.id }, admin);
    expect((await failure(services.getService({ id: created!.id }, admin))).code).toBe(Code.NotFound);
    expect((await failure(services.deleteService({ id: created!.id }, admin))).code).toBe(Code.NotFound);
  });

  it("attaches an existing escalation policy and refuses an unknown one with not_found", async () => {
    const { id: policyId } = await database.db
      .insertInto("escalation_policies")
      .values({ name: "default" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const { service } = await services.createService({ name: "api", escalationPolicyId: policyId }, admin);
    expect(service?.escalationPolicyId).toBe(policyId);

    const unknown = await failure(
      services.createService({ name: "x", escalationPolicyId: missingId }, admin),
    );
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain("escalation policy");

    const update = await failure(
      services.updateService(
        {
          service: { id: service!.id, escalationPolicyId: missingId },
          updateMask: { paths: ["escalation_policy_id"] },
        },
        admin,
      ),
    );
    expect(update.code).toBe(Code.NotFound);
    expect(update.rawMessage).toContain("escalation policy");

    const { service: detached } = await services.updateService(
      {
        service: { id: service!.id, escalationPolicyId: "" },
        updateMask: { paths: ["escalation_policy_id"] },
      },
      admin,
    );
    expect(detached).toMatchObject({ name: "api", escalationPolicyId: "" });
  });

  it.each([
    ["a blank name", () => services.createService({ name: "   " }, admin), "name"],
    ["a long name", () => services.createService({ name: "n".repeat(201) }, admin), "name"],
    [
      "a NUL in the description",
      () => services.createService({ name: "a", description: "x\u0000" }, admin),
      "description",
    ],
    [
      "a malformed policy id",
      () => services.createService({ name: "a", escalationPolicyId: "p1" }, admin),
      "escalation_policy_id",
    ],
    ["a malformed id", () => services.getService({ id: "not-a-uuid" }, admin), "id"],
    ["an empty id", () => services.deleteService({ id: "" }, admin), "id"],
    ["no service in an update", () => services.updateService({}, admin), "service"],
    [
      "a malformed id in an update",
      () => services.updateService({ service: { id: "1" } }, admin),
      "service.id",
    ],
    [
      "an unknown mask path",
      () =>
        services.updateService(
          { service: { id: missingId, name: "a" }, updateMask: { paths: ["name", "id"] } },
          admin,
        ),
      "update_mask.paths[1]",
    ],
    [
      "a blank name in an update",
      () =>
        services.updateService(
          { service: { id: missingId, name: "" }, updateMask: { paths: ["name"] } },
          admin,
        ),
      "service.name",
    ],
    ["a negative page size", () => services.listServices({ pageSize: -1 }, admin), "page_size"],
    ["a made-up page token", () => services.listServices({ pageToken: "abc" }, admin), "page_token"],
  ])("refuses %s with invalid_argument naming the field", async (_label, call, field) => {
    await expectInvalid(call(), field);
  });

  it("answers not_found for a well-formed unknown id", async () => {
    expect((await failure(services.getService({ id: missingId }, admin))).code).toBe(Code.NotFound);
    expect(
      (await failure(services.updateService({ service: { id: missingId, name: "a" } }, admin))).code,
    ).toBe(Code.NotFound);
  });

  it("lists by name in pages with no duplicates or gaps, and searches case-insensitively", async () => {
    const names = ["delta", "Alpha", "charlie", "bravo", "echo", "foxtrot", "golf", "100%_off", "100 off"];
    for (const name of names) await services.createService({ name }, admin);

    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await services.listServices({ pageSize: 4, pageToken }, admin);
      seen.push(...page.services.map((s) => s.name));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(seen).toEqual([
      "100 off",
      "100%_off",
      "Alpha",
      "bravo",
      "charlie",
      "delta",
      "echo",
      "foxtrot",
      "golf",
    ]);

    const search = async (text: string) =>
      (await services.listServices({ search: text }, admin)).services.map((s) => s.name);
    expect(await search("ALP")).toEqual(["Alpha"]);
    expect(await search("%_")).toEqual(["100%_off"]);
    expect(await search("_")).toEqual(["100%_off"]);
    expect(await search("zulu")).toEqual([]);
  });

  it("refuses a page token with other filters", async () => {
    for (const name of ["a1", "a2", "a3"]) await services.createService({ name }, admin);
    const first = await services.listServices({ search: "a", pageSize: 1 }, admin);
    expect(first.nextPageToken).not.toBe("");
    await expectInvalid(
      services.listServices({ search: "a2", pageToken: first.nextPageToken }, admin),
      "page_token",
    );
  });

  it("refuses to delete a service with open alerts; once resolved, archives it and keeps its history", async () => {
    const { service } = await services.createService({ name: "doomed" }, admin);
    const { service: other } = await services.createService({ name: "kept" }, admin);
    const { secret } = await services.createIntegrationKey(
      { serviceId: service!.id, name: "am", type: IntegrationKeyType.ALERTMANAGER },
      admin,
    );
    const { alert } = await alerts.createAlert({ serviceId: service!.id, summary: "disk full" }, admin);
    await alerts.createAlert({ serviceId: other!.id, summary: "cpu hot" }, admin);

    const refused = await failure(services.deleteService({ id: service!.id }, admin));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain("1 open alert");
    expect((await services.getService({ id: service!.id }, admin)).service?.name).toBe("doomed");

    await alerts.resolveAlert({ id: alert!.id }, admin);
    await services.deleteService({ id: service!.id }, admin);

    expect((await failure(services.getService({ id: service!.id }, admin))).code).toBe(Code.NotFound);
    expect((await services.listServices({}, admin)).services.map((s) => s.name)).toEqual(["kept"]);
    expect(
      await authenticateWebhookKey(database.db, { secret, now: clock.now(), defaultLimitPerMinute: 60 }),
    ).toBeUndefined();
    // Its alerts and their events stay readable.
    const { alert: kept } = await alerts.getAlert({ id: alert!.id }, admin);
    expect(kept).toMatchObject({ summary: "disk full", serviceId: service!.id });
    const listed = await alerts.listAlerts({ serviceIds: [service!.id] }, admin);
    expect(listed.alerts.map((a) => a.summary)).toEqual(["disk full"]);
    expect(
      (
        await database.db
          .selectFrom("alert_events")
          .select("id")
          .where("alert_id", "=", Number(alert!.id))
          .execute()
      ).length,
    ).toBeGreaterThan(0);
  });
});

describe("integration keys", () => {
  let serviceId: string;
  beforeEach(async () => {
    serviceId = (await services.createService({ name: "checkout" }, admin)).service!.id;
  });
  const authenticate = (secret: string) =>
    authenticateWebhookKey(database.db, { secret, now: clock.now(), defaultLimitPerMinute: 60 });

  it("shows the secret once, stores only its hash, and authenticates with it", async () => {
    const { key, secret } = await services.createIntegrationKey(
      { serviceId, name: "prometheus", type: IntegrationKeyType.ALERTMANAGER, rateLimitPerMinute: 120 },
      admin,
    );
    expect(secret).toMatch(/^oik_[A-Za-z0-9_-]{32}$/);
    expect(key).toMatchObject({
      serviceId,
      name: "prometheus",
      type: IntegrationKeyType.ALERTMANAGER,
      secretPrefix: secret.slice(0, 10),
      rateLimitPerMinute: 120,
    });
    expect(key?.revokeTime).toBeUndefined();

    const rows = await database.db.selectFrom("integration_keys").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret_hash).toBe(sha256(secret));
    expect(JSON.stringify(rows)).not.toContain(secret);

    expect(await authenticate(secret)).toMatchObject({
      keyId: key!.id,
      serviceId,
      type: "alertmanager",
      limitPerMinute: 120,
    });
    const { keys } = await services.listIntegrationKeys({ serviceId }, admin);
    expect(keys.map((k) => [k.id, k.name, k.lastUsedTime?.seconds])).toEqual([
      [key!.id, "prometheus", BigInt(Date.parse("2026-11-27T12:00:00Z") / 1000)],
    ]);
  });

  it("revokes at once and idempotently; revoked keys are listed only on request", async () => {
    const { key, secret } = await services.createIntegrationKey(
      { serviceId, name: "grafana", type: IntegrationKeyType.GRAFANA },
      admin,
    );
    clock.advance(1_000);
    const { key: live } = await services.createIntegrationKey(
      { serviceId, name: "any", type: IntegrationKeyType.UNIVERSAL },
      admin,
    );
    expect(live?.rateLimitPerMinute).toBe(0);

    const { key: revoked } = await services.revokeIntegrationKey({ id: key!.id }, admin);
    expect(revoked?.revokeTime).toBeDefined();
    expect(await authenticate(secret)).toBeUndefined();

    clock.advance(5_000);
    const { key: again } = await services.revokeIntegrationKey({ id: key!.id }, admin);
    expect(again?.revokeTime).toEqual(revoked?.revokeTime);

    expect((await services.listIntegrationKeys({ serviceId }, admin)).keys.map((k) => k.name)).toEqual([
      "any",
    ]);
    expect(
      (await services.listIntegrationKeys({ serviceId, includeRevoked: true }, admin)).keys.map(
        (k) => k.name,
      ),
    ).toEqual(["grafana", "any"]);
  });

  it("rotates: both secrets work for the overlap (24 h by default), then only the new one; a revoked key cannot rotate", async () => {
    const { key, secret: oldSecret } = await services.createIntegrationKey(
      { serviceId, name: "generic", type: IntegrationKeyType.GENERIC },
      admin,
    );
    const { key: rotated, secret: newSecret } = await services.rotateIntegrationKey({ id: key!.id }, admin);
    expect(rotated?.id).toBe(key!.id);
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated?.secretPrefix).toBe(newSecret.slice(0, 10));
    expect(rotated?.previousSecretPrefix).toBe(oldSecret.slice(0, 10));
    const expires = BigInt(clock.now().getTime() / 1000 + 24 * 3600);
    expect(rotated?.previousSecretExpireTime?.seconds).toBe(expires);
    expect(
      (await services.listIntegrationKeys({ serviceId }, admin)).keys[0]?.previousSecretExpireTime?.seconds,
    ).toBe(expires);
    expect(await authenticate(oldSecret)).toMatchObject({ keyId: key!.id });
    expect(await authenticate(newSecret)).toMatchObject({ keyId: key!.id, type: "generic" });

    clock.advance(24 * 3600 * 1000);
    expect(await authenticate(oldSecret)).toBeUndefined();
    expect(await authenticate(newSecret)).toMatchObject({ keyId: key!.id });

    // overlap_seconds: 0 stops the replaced secret at once.
    const { secret: third } = await services.rotateIntegrationKey({ id: key!.id, overlapSeconds: 0 }, admin);
    expect(await authenticate(newSecret)).toBeUndefined();
    expect(await authenticate(third)).toMatchObject({ keyId: key!.id });
    const tooLong = await failure(
      services.rotateIntegrationKey({ id: key!.id, overlapSeconds: 8 * 86400 }, admin),
    );
    expect(tooLong.code).toBe(Code.InvalidArgument);
    expect(tooLong.rawMessage.startsWith("overlap_seconds: ")).toBe(true);

    await services.revokeIntegrationKey({ id: key!.id }, admin);
    expect((await failure(services.rotateIntegrationKey({ id: key!.id }, admin))).code).toBe(
      Code.FailedPrecondition,
    );
    expect(await authenticate(third)).toBeUndefined();
  });

  it("answers not_found for unknown services and keys", async () => {
    const create = services.createIntegrationKey(
      { serviceId: missingId, name: "k", type: IntegrationKeyType.GENERIC },
      admin,
    );
    expect((await failure(create)).code).toBe(Code.NotFound);
    expect((await failure(services.listIntegrationKeys({ serviceId: missingId }, admin))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(services.revokeIntegrationKey({ id: missingId }, admin))).code).toBe(Code.NotFound);
    expect((await failure(services.rotateIntegrationKey({ id: missingId }, admin))).code).toBe(Code.NotFound);
    expect((await services.listIntegrationKeys({ serviceId }, admin)).keys).toEqual([]);
  });

  it.each([
    ["no type", { name: "k" }, "type"],
    ["an unknown type", { name: "k", type: 42 as IntegrationKeyType }, "type"],
    ["no name", { type: IntegrationKeyType.GENERIC }, "name"],
    [
      "a negative rate",
      { name: "k", type: IntegrationKeyType.GENERIC, rateLimitPerMinute: -1 },
      "rate_limit_per_minute",
    ],
    [
      "a malformed service id",
      { serviceId: "svc", name: "k", type: IntegrationKeyType.GENERIC },
      "service_id",
    ],
  ])("refuses a key with %s", async (_label, request, field) => {
    await expectInvalid(services.createIntegrationKey({ serviceId, ...request }, admin), field);
  });

  it.each([
    ["revoke", () => services.revokeIntegrationKey({ id: "k1" }, admin)],
    ["rotate", () => services.rotateIntegrationKey({ id: "k1" }, admin)],
    ["list", () => services.listIntegrationKeys({ serviceId: "s1" }, admin)],
  ])("refuses a malformed id on %s", async (_label, call) => {
    expect((await failure(call())).code).toBe(Code.InvalidArgument);
  });
});

describe("authorization", () => {
  it("refuses a missing or wrong token with unauthenticated", async () => {
    expect((await failure(services.listServices({}))).code).toBe(Code.Unauthenticated);
    expect((await failure(services.listServices({}, bearer("oak_nope")))).code).toBe(Code.Unauthenticated);
    expect((await failure(services.listServices({}, bearer("wrong")))).code).toBe(Code.Unauthenticated);
  });

  it("lets a read key read but not write, and a read-write key do both", async () => {
    const { secret: read } = await apiKeys.createApiKey(
      { name: "dashboards", scope: ApiKeyScope.READ },
      admin,
    );
    const { secret: readWrite } = await apiKeys.createApiKey(
      { name: "terraform", scope: ApiKeyScope.READ_WRITE },
      admin,
    );
    const { service } = await services.createService({ name: "checkout" }, bearer(readWrite));
    expect(service?.name).toBe("checkout");

    expect((await services.getService({ id: service!.id }, bearer(read))).service?.name).toBe("checkout");
    expect((await services.listServices({}, bearer(read))).services).toHaveLength(1);
    const denied = await failure(services.createService({ name: "x" }, bearer(read)));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.rawMessage).toContain("read-only");
    expect((await failure(services.deleteService({ id: service!.id }, bearer(read)))).code).toBe(
      Code.PermissionDenied,
    );
    expect(
      (
        await failure(
          services.createIntegrationKey({ serviceId: service!.id, name: "k", type: 3 }, bearer(read)),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    // Nothing was changed by the refused calls.
    expect((await services.listServices({}, admin)).services.map((s) => s.name)).toEqual(["checkout"]);
  });
});
