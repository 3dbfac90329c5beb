import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createApiHandler } from "../functions/handlers/api.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";

// The README's user-directory example, run as written: every `npx buf curl` of the "People" section,
// with its --data and path, against the local server (the same handler npm start serves).

const execFileAsync = promisify(execFile);
let database: DatabaseHandle;
let server: LocalServer;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  server = await startLocalServer(createApiHandler(createTestAppContext(database)), { port: 0 });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
});

/** The `buf curl` commands of the README's People section: their --data and request path. */
function readmeCommands(): { data: string; path: string }[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(
    readme.indexOf("## People: the user directory"),
    readme.indexOf("## Sending alerts"),
  );
  const commands = [
    ...section.matchAll(/npx buf curl[\s\S]*?--data '([^']*)'[\s\S]*?http:\/\/127\.0\.0\.1:8080(\/\S+)/g),
  ];
  return commands.map((m) => ({ data: m[1]!, path: m[2]! }));
}

it("creates a user and a contact method with the README's buf curl commands", async () => {
  const commands = readmeCommands();
  expect(commands.map((c) => c.path.split("/").at(-1))).toEqual([
    "CreateUser",
    "CreateContactMethod",
    "ListContactMethods",
  ]);
  const outputs: unknown[] = [];
  for (const { data, path } of commands) {
    const { stdout } = await execFileAsync(
      "node_modules/.bin/buf",
      [
        "curl",
        "--schema",
        "proto",
        "--protocol",
        "grpcweb",
        "-H",
        `Authorization: Bearer ${testAdminToken}`,
        "--data",
        data,
        `${server.url}${path}`,
      ],
      { timeout: 20_000 },
    );
    outputs.push(JSON.parse(stdout));
  }
  expect(outputs[0]).toMatchObject({
    user: { id: "grace", name: "Grace Hopper", email: "grace@example.com", timeZone: "America/New_York" },
  });
  expect(outputs[1]).toMatchObject({
    contactMethod: { userId: "grace", type: "CONTACT_METHOD_TYPE_WEBHOOK", verified: true, enabled: true },
  });
  expect(outputs[2]).toMatchObject({
    contactMethods: [{ name: "Pager bridge", value: "http://127.0.0.1:9000/page" }],
  });
});
