import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../../../../test/support/databases.ts";
import { authenticateApiKey, createApiKey, listApiKeys, revokeApiKey } from "./api-keys.ts";
import { hashSecret } from "./integration-keys.ts";

const t0 = new Date("2026-11-27T12:00:00Z");
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describeEachDatabase("api keys store", (suite) => {
  const db = () => suite.handle.db;
  // Compared in JS: the Data API sends strings as varchar, which Postgres will not compare with uuid.
  const lastUsed = async (id: string) =>
    (await db().selectFrom("api_keys").select(["id", "last_used_at"]).execute()).find((k) => k.id === id)
      ?.last_used_at;

  beforeEach(async () => {
    await db().deleteFrom("api_keys").execute();
  });

  it("creates a key, keeping only the hash of its secret", async () => {
    const { key, secret } = await createApiKey(db(), { name: "ci", scope: "read", now: t0 });
    expect(key).toMatchObject({
      name: "ci",
      scope: "read",
      secret_prefix: secret.slice(0, 10),
      created_at: t0,
      revoked_at: null,
    });
    const row = await db().selectFrom("api_keys").selectAll().executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(hashSecret(secret));
    expect(Object.values(row)).not.toContain(secret);
  });

  it("authenticates by hash and records use at most once a minute", async () => {
    const { key, secret } = await createApiKey(db(), { name: "bot", scope: "read_write", now: t0 });
    expect(await authenticateApiKey(db(), { secret, now: later(1) })).toEqual({
      id: key.id,
      scope: "read_write",
    });
    expect(await lastUsed(key.id)).toEqual(later(1));
    await authenticateApiKey(db(), { secret, now: later(30) });
    expect(await lastUsed(key.id)).toEqual(later(1));
    await authenticateApiKey(db(), { secret, now: later(62) });
    expect(await lastUsed(key.id)).toEqual(later(62));

    expect(await authenticateApiKey(db(), { secret: `${secret}x`, now: t0 })).toBeUndefined();
    expect(await authenticateApiKey(db(), { secret: "oak_unknown", now: t0 })).toBeUndefined();
    expect(await authenticateApiKey(db(), { secret: secret.slice(4), now: t0 })).toBeUndefined();
  });

  it("revokes at once and idempotently; lists revoked keys only on request", async () => {
    const { key, secret } = await createApiKey(db(), { name: "old", scope: "read", now: t0 });
    const { key: kept } = await createApiKey(db(), { name: "new", scope: "read_write", now: later(1) });
    expect((await revokeApiKey(db(), key.id, later(5)))?.revoked_at).toEqual(later(5));
    expect((await revokeApiKey(db(), key.id, later(9)))?.revoked_at).toEqual(later(5));
    expect(await revokeApiKey(db(), "00000000-0000-4000-8000-000000000000", t0)).toBeUndefined();
    expect(await authenticateApiKey(db(), { secret, now: later(10) })).toBeUndefined();

    expect((await listApiKeys(db(), { includeRevoked: false })).map((k) => k.id)).toEqual([kept.id]);
    expect((await listApiKeys(db(), { includeRevoked: true })).map((k) => k.name)).toEqual(["old", "new"]);
  });
});
