import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createEmbeddedUserDirectory } from "../functions/adapters/directory/embedded-directory.ts";
import { openTestDatabase } from "../test/support/databases.ts";
import { demoUserIds, seedDemo } from "./seed-demo.ts";

let database: DatabaseHandle;
let dataDir: string;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  dataDir = await mkdtemp(join(tmpdir(), "oncall-seed-"));
});

afterAll(async () => {
  await database?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it("puts the rotation's two people in the embedded directory once, with a verified email and the demo webhook", async () => {
  const options = { dataDir, demoIntegrationKey: undefined, now: new Date("2026-11-30T10:00:00Z") };
  await seedDemo(database, { ...options, demoWebhookUrl: "http://127.0.0.1:9000/page" });
  const directory = createEmbeddedUserDirectory(() => database.db);
  const users = await directory.getUsers([...demoUserIds]);
  expect(users.map((u) => u.id).sort()).toEqual([...demoUserIds]);
  const rotation = await database.db.selectFrom("rotations").select("participants").executeTakeFirstOrThrow();
  expect(rotation.participants).toEqual([...demoUserIds]);

  const alice = await directory.contactMethods("demo-alice");
  expect(alice.map((cm) => [cm.type, cm.value, cm.verified, cm.disabled]).sort()).toEqual([
    ["email", "alice@example.com", true, false],
    ["webhook", "http://127.0.0.1:9000/page", true, false],
  ]);
  expect((await directory.contactMethods("demo-bob")).map((cm) => cm.type)).toEqual(["email"]);

  // A later start adds nothing, and does not bring back what an operator deleted.
  await database.db.deleteFrom("directory_users").where("id", "=", "demo-bob").execute();
  await seedDemo(database, { ...options, demoWebhookUrl: "http://127.0.0.1:9001/other" });
  expect((await directory.getUsers([...demoUserIds])).map((u) => u.id)).toEqual(["demo-alice"]);
  expect(await directory.contactMethods("demo-alice")).toHaveLength(2);
});
