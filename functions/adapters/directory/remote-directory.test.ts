import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createRecordingContactSender,
  createTestAppContext,
  testAdminToken,
} from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import { admin, createInMemoryTransport } from "../../../test/support/rpc.ts";
import { createRouterOptions } from "../../api/routes.ts";
import { createUserDirectoryService } from "../../api/services/user-directory-service.ts";
import { createDirectoryUseCases } from "../../app/directory.ts";
import { createFixedClock } from "../../domain/clock.ts";
import type { UserDirectory } from "../../domain/directory/model.ts";
import { UnavailableError } from "../../domain/errors.ts";
import { UserDirectoryService } from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import type { DatabaseHandle } from "../db/database.ts";
import { createRemoteDirectoryTransport, createRemoteUserDirectory } from "./remote-directory.ts";

// The remote directory client against a real Connect server (connect-node over HTTP on 127.0.0.1)
// that serves the embedded directory: the real implementation of the same contract. A counting
// interceptor on the server says how many calls reached the upstream, and can make it fail or hang.

let database: DatabaseHandle;
let server: Server;
let url: string;
const calls: string[] = [];
/** The ids of each GetUsers call that reached the server. */
const askedIds: string[][] = [];
let upstream: "ok" | "unavailable" | "hang" = "ok";

const counting: Interceptor = (next) => async (req) => {
  calls.push(req.method.name);
  if (req.method.name === "GetUsers") askedIds.push([...(req.message as unknown as { ids: string[] }).ids]);
  if (upstream === "unavailable") throw new ConnectError("kneutral-api is down", Code.Unavailable);
  if (upstream === "hang") {
    // Until the client's deadline (sent as connect-timeout-ms) aborts the call.
    await new Promise((_, reject) => req.signal.addEventListener("abort", () => reject(req.signal.reason)));
  }
  return next(req);
};

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const ctx = createTestAppContext(database);
  const directory = createDirectoryUseCases({
    db: () => database.db,
    clock: ctx.clock,
    sender: createRecordingContactSender(),
  });
  await directory.createUser({
    id: "ada",
    name: "Ada Lovelace",
    email: "ada@example.com",
    timeZone: "Europe/London",
    slackUserId: "U024BE7LH",
    teamsUserId: "",
  });
  await directory.createUser({
    id: "bob",
    name: "Bob",
    email: "bob@example.com",
    timeZone: "UTC",
    slackUserId: "",
    teamsUserId: "",
  });
  await directory.createContactMethod({
    userId: "ada",
    type: "webhook",
    name: "Bridge",
    value: "https://hooks.example.com/ada",
  });
  await directory.createContactMethod({ userId: "ada", type: "slack_dm", name: "Slack", value: "U024BE7LH" });
  const options = createRouterOptions(ctx);
  const handler = connectNodeAdapter({
    ...options,
    interceptors: [counting, ...(options.interceptors ?? [])],
    routes: (router) => router.service(UserDirectoryService, createUserDirectoryService(ctx)),
  });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await database?.close();
});

beforeEach(() => {
  calls.length = 0;
  askedIds.length = 0;
  upstream = "ok";
});

function remoteDirectory(options: { token?: string; timeoutMs?: number } = {}) {
  const clock = createFixedClock("2026-11-29T09:00:00Z");
  const directory = createRemoteUserDirectory({
    transport: createRemoteDirectoryTransport(url, async () => options.token ?? testAdminToken),
    clock,
    ttlMs: 60_000,
    staleMs: 3_600_000,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  return { directory, clock };
}

async function unavailable(call: Promise<unknown>): Promise<UnavailableError> {
  const outcome = await call.then(
    () => new Error("expected UnavailableError"),
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(UnavailableError);
  return outcome as UnavailableError;
}

describe("remote user directory", () => {
  it("reads users and contact methods through the contract, leaving unknown ids out", async () => {
    const { directory } = remoteDirectory();
    const users = await directory.getUsers(["ada", "nobody", "bob"]);
    expect(users.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      {
        id: "ada",
        name: "Ada Lovelace",
        email: "ada@example.com",
        timeZone: "Europe/London",
        slackUserId: "U024BE7LH",
      },
      { id: "bob", name: "Bob", email: "bob@example.com", timeZone: "UTC" },
    ]);
    const methods = await directory.contactMethods("ada");
    expect(methods.map((m) => [m.type, m.value, m.verified, m.disabled])).toEqual([
      ["webhook", "https://hooks.example.com/ada", true, false],
      ["slack_dm", "U024BE7LH", true, false],
    ]);
    expect(await directory.contactMethods("nobody")).toEqual([]);
    expect((await directory.searchUsers("love", 10)).map((u) => u.id)).toEqual(["ada"]);
    expect(calls).toEqual(["GetUsers", "ListContactMethods", "ListContactMethods", "SearchUsers"]);
  });

  it("serves answers from the cache until the TTL passes", async () => {
    const { directory, clock } = remoteDirectory();
    await directory.getUsers(["ada"]);
    await directory.contactMethods("ada");
    clock.advance(59_000);
    await directory.getUsers(["ada"]);
    await directory.contactMethods("ada");
    expect(calls).toEqual(["GetUsers", "ListContactMethods"]);
    clock.advance(1_000);
    await directory.getUsers(["ada"]);
    await directory.contactMethods("ada");
    expect(calls).toEqual(["GetUsers", "ListContactMethods", "GetUsers", "ListContactMethods"]);
  });

  it("makes one upstream call for 100 concurrent lookups of one user", async () => {
    const { directory } = remoteDirectory();
    const users = await Promise.all(Array.from({ length: 100 }, () => directory.getUsers(["ada"])));
    const methods = await Promise.all(Array.from({ length: 100 }, () => directory.contactMethods("ada")));
    expect(users.every((u) => u[0]?.name === "Ada Lovelace")).toBe(true);
    expect(methods.every((m) => m.length === 2)).toBe(true);
    expect(calls).toEqual(["GetUsers", "ListContactMethods"]);
  });

  it("asks for 150 ids in two calls and shares the ids already on their way", async () => {
    const { directory } = remoteDirectory();
    const ids = ["ada", ...Array.from({ length: 149 }, (_, i) => `ghost-${i}`)];
    const [many, one] = await Promise.all([directory.getUsers(ids), directory.getUsers(["ada", "bob"])]);
    expect(many.map((u) => u.id)).toEqual(["ada"]);
    expect(one.map((u) => u.id).sort()).toEqual(["ada", "bob"]);
    // 100 + 50 ids, then bob alone (ada was on its way already).
    expect(askedIds.map((ids) => ids.length)).toEqual([100, 50, 1]);
    expect(askedIds[2]).toEqual(["bob"]);
  });

  it("never caches an empty answer as truth", async () => {
    const { directory } = remoteDirectory();
    expect(await directory.getUsers(["nobody"])).toEqual([]);
    expect(await directory.getUsers(["nobody"])).toEqual([]);
    expect(await directory.contactMethods("bob")).toEqual([]);
    expect(await directory.contactMethods("bob")).toEqual([]);
    expect(calls).toEqual(["GetUsers", "GetUsers", "ListContactMethods", "ListContactMethods"]);
  });

  it("serves the last known answer while the upstream fails, and fails without one", async () => {
    const { directory, clock } = remoteDirectory();
    await directory.getUsers(["ada"]);
    await directory.contactMethods("ada");
    clock.advance(10 * 60_000); // past the TTL, within the stale window
    upstream = "unavailable";
    expect((await directory.getUsers(["ada"]))[0]?.name).toBe("Ada Lovelace");
    expect(await directory.contactMethods("ada")).toHaveLength(2);
    const none = await unavailable(directory.getUsers(["bob"]));
    expect(none.message).toContain("kneutral-api is down");
    await unavailable(directory.contactMethods("bob"));
    await unavailable(directory.searchUsers("ada", 5));
    clock.advance(3_600_000); // past the stale window: too old to stand in
    await unavailable(directory.getUsers(["ada"]));
    upstream = "ok";
    expect((await directory.getUsers(["ada"]))[0]?.name).toBe("Ada Lovelace");
  });

  it("keeps the last known good when the upstream answers empty, then fails", async () => {
    const { directory, clock } = remoteDirectory();
    expect(await directory.getUsers(["bob"])).toHaveLength(1);
    await database.db
      .updateTable("directory_users")
      .set({ id: "bob-renamed" })
      .where("id", "=", "bob")
      .execute();
    try {
      clock.advance(60_000);
      expect(await directory.getUsers(["bob"])).toEqual([]); // the upstream's word, not cached
      expect(await directory.getUsers(["bob"])).toEqual([]);
      upstream = "unavailable";
      expect(await directory.getUsers(["bob"])).toHaveLength(1);
    } finally {
      await database.db
        .updateTable("directory_users")
        .set({ id: "bob" })
        .where("id", "=", "bob-renamed")
        .execute();
    }
    expect(calls).toEqual(["GetUsers", "GetUsers", "GetUsers", "GetUsers"]);
  });

  it("gives up on a hanging upstream at its deadline", async () => {
    // Every call hangs, so the short deadline can only fire (no call has to beat it on a busy
    // machine); serving the last known answer on any failure is the test above.
    const { directory } = remoteDirectory({ timeoutMs: 300 });
    upstream = "hang";
    expect((await unavailable(directory.getUsers(["bob"]))).message).toMatch(/DeadlineExceeded/);
    expect((await unavailable(directory.contactMethods("ada"))).message).toMatch(/DeadlineExceeded/);
    expect((await unavailable(directory.searchUsers("ada", 5))).message).toMatch(/DeadlineExceeded/);
    expect(calls).toEqual(["GetUsers", "ListContactMethods", "SearchUsers"]);
  });

  it("fails as unavailable with a wrong token, saying so", async () => {
    const { directory } = remoteDirectory({ token: "not-the-token" });
    const error = await unavailable(directory.getUsers(["ada"]));
    expect(error.message).toContain("Unauthenticated");
  });

  it("backs oncall's own UserDirectoryService when the directory is remote", async () => {
    // A second oncall whose directory is the server above: its reads go there, its writes are refused.
    const { directory } = remoteDirectory();
    const proxy = createTestAppContext(database, { directory, remoteDirectoryUrl: url });
    const client = createClient(UserDirectoryService, createInMemoryTransport(proxy));
    expect((await client.getUsers({ ids: ["ada", "nobody"] }, admin)).users.map((u) => u.name)).toEqual([
      "Ada Lovelace",
    ]);
    const listed = await client.listContactMethods({ userId: "ada" }, admin);
    expect(listed.contactMethods.map((m) => m.value)).toEqual(["https://hooks.example.com/ada", "U024BE7LH"]);
    expect((await client.searchUsers({ query: "bob" }, admin)).users.map((u) => u.id)).toEqual(["bob"]);
    expect(calls).toEqual(["GetUsers", "ListContactMethods", "SearchUsers"]);
    const refused = await client.createUser({ name: "Eve", email: "eve@example.com" }, admin).catch((e) => e);
    expect(ConnectError.from(refused).code).toBe(Code.FailedPrecondition);
    expect(calls).toHaveLength(3);
  });

  it("is the port the rest of the system uses", () => {
    const port: UserDirectory = remoteDirectory().directory;
    expect(typeof port.contactMethods).toBe("function");
  });
});
