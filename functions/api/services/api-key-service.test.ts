import { createHash } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, bearer, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { ApiKeyScope, ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";
import { SystemService } from "../../gen/oncall/v1/system_pb.ts";

// ApiKeyService in memory, and API keys as credentials for every other service.
const start = "2026-11-27T12:00:00Z";
const clock = createFixedClock(start);
let database: DatabaseHandle;
let apiKeys: ReturnType<typeof createClient<typeof ApiKeyService>>;
let system: ReturnType<typeof createClient<typeof SystemService>>;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database, { clock });
  const transport = createInMemoryTransport(ctx);
  apiKeys = createClient(ApiKeyService, transport);
  system = createClient(SystemService, transport);
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom("api_keys").execute();
  clock.set(start);
});

async function expectInvalid(call: Promise<unknown>, field: string): Promise<void> {
  const error = await failure(call);
  expect(error.code).toBe(Code.InvalidArgument);
  expect(error.rawMessage.startsWith(`${field}: `)).toBe(true);
}

describe("ApiKeyService", () => {
  it("creates a key whose secret is shown once and stored as a hash", async () => {
    const { key, secret } = await apiKeys.createApiKey({ name: " ci ", scope: ApiKeyScope.READ }, admin);
    expect(secret).toMatch(/^oak_[A-Za-z0-9_-]{32}$/);
    expect(key).toMatchObject({ name: "ci", scope: ApiKeyScope.READ, secretPrefix: secret.slice(0, 10) });
    expect(key?.createTime).toEqual(timestampFromDate(new Date(start)));
    expect(key?.lastUsedTime).toBeUndefined();

    const rows = await database.db.selectFrom("api_keys").selectAll().execute();
    expect(rows.map((r) => r.secret_hash)).toEqual([createHash("sha256").update(secret).digest("hex")]);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it("authenticates a key as api_key:<id> with its scopes and records its use", async () => {
    const { key: reader, secret: readSecret } = await apiKeys.createApiKey(
      { name: "r", scope: ApiKeyScope.READ },
      admin,
    );
    clock.advance(1_000);
    const { key: writer, secret: writeSecret } = await apiKeys.createApiKey(
      { name: "w", scope: ApiKeyScope.READ_WRITE },
      admin,
    );

    clock.advance(10_000);
    expect(await system.whoAmI({}, bearer(readSecret))).toMatchObject({
      principal: `api_key:${reader!.id}`,
      scopes: ["read"],
    });
    expect(await system.whoAmI({}, bearer(writeSecret))).toMatchObject({
      principal: `api_key:${writer!.id}`,
      scopes: ["read", "write"],
    });
    expect((await system.whoAmI({}, admin)).principal).toBe("admin");

    const used = (await apiKeys.listApiKeys({}, admin)).keys;
    expect(used.map((k) => [k.name, k.lastUsedTime])).toEqual([
      ["r", timestampFromDate(clock.now())],
      ["w", timestampFromDate(clock.now())],
    ]);
  });

  it("revokes at once and idempotently; revoked keys are listed only on request", async () => {
    const { key, secret } = await apiKeys.createApiKey(
      { name: "leaked", scope: ApiKeyScope.READ_WRITE },
      admin,
    );
    clock.advance(1_000);
    await apiKeys.createApiKey({ name: "kept", scope: ApiKeyScope.READ }, admin);
    expect((await system.whoAmI({}, bearer(secret))).principal).toBe(`api_key:${key!.id}`);

    clock.advance(1_000);
    const { key: revoked } = await apiKeys.revokeApiKey({ id: key!.id }, admin);
    expect(revoked?.revokeTime).toEqual(timestampFromDate(clock.now()));
    expect((await failure(system.whoAmI({}, bearer(secret)))).code).toBe(Code.Unauthenticated);

    clock.advance(1_000);
    expect((await apiKeys.revokeApiKey({ id: key!.id }, admin)).key?.revokeTime).toEqual(revoked?.revokeTime);

    expect((await apiKeys.listApiKeys({}, admin)).keys.map((k) => k.name)).toEqual(["kept"]);
    expect((await apiKeys.listApiKeys({ includeRevoked: true }, admin)).keys.map((k) => k.name)).toEqual([
      "leaked",
      "kept",
    ]);
  });

  it.each([
    ["no scope", () => apiKeys.createApiKey({ name: "k" }, admin), "scope"],
    ["an unknown scope", () => apiKeys.createApiKey({ name: "k", scope: 3 as ApiKeyScope }, admin), "scope"],
    ["a blank name", () => apiKeys.createApiKey({ name: "", scope: ApiKeyScope.READ }, admin), "name"],
    ["a malformed id", () => apiKeys.revokeApiKey({ id: "key-1" }, admin), "id"],
  ])("refuses %s with invalid_argument naming the field", async (_label, call, field) => {
    await expectInvalid(call(), field);
  });

  it("answers not_found for an unknown key", async () => {
    const error = await failure(apiKeys.revokeApiKey({ id: "00000000-0000-4000-8000-000000000000" }, admin));
    expect(error.code).toBe(Code.NotFound);
  });

  it("is admin-only: API keys, even read-write ones, get permission_denied", async () => {
    const { secret: readWrite } = await apiKeys.createApiKey(
      { name: "rw", scope: ApiKeyScope.READ_WRITE },
      admin,
    );
    const { secret: read } = await apiKeys.createApiKey({ name: "r", scope: ApiKeyScope.READ }, admin);
    for (const secret of [readWrite, read]) {
      expect((await failure(apiKeys.listApiKeys({}, bearer(secret)))).code).toBe(Code.PermissionDenied);
      expect(
        (
          await failure(
            apiKeys.createApiKey({ name: "escalate", scope: ApiKeyScope.READ_WRITE }, bearer(secret)),
          )
        ).code,
      ).toBe(Code.PermissionDenied);
    }
    expect((await apiKeys.listApiKeys({}, admin)).keys).toHaveLength(2);
  });

  it("refuses calls without a valid token with unauthenticated", async () => {
    expect((await failure(apiKeys.listApiKeys({}))).code).toBe(Code.Unauthenticated);
    expect((await failure(apiKeys.listApiKeys({}, bearer("oak_unknown")))).code).toBe(Code.Unauthenticated);
    // GetVersion stays public.
    expect((await system.getVersion({})).runtime).toBe("embedded");
  });
});
