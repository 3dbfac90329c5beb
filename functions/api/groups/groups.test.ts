import { createConnectRouter } from "@connectrpc/connect";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalLambdaContext } from "../../../local/lambda-http-bridge.ts";
import { createTestAppContext, testAdminToken } from "../../../test/support/app-context.ts";
import { openTestDatabase } from "../../../test/support/databases.ts";
import type { DatabaseHandle } from "../../adapters/db/database.ts";
import type { AppContext } from "../../app/context.ts";
import { UserDirectoryService } from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import { ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";
import { SystemService } from "../../gen/oncall/v1/system_pb.ts";
import { createRpcApiHandler } from "../../handlers/rpc-api.ts";
import { adminOnlyServices, adminWriteServices, allServiceGroups, publicProcedures } from "../routes.ts";
import { serviceGroupNames, serviceGroups } from "../service-groups.ts";

// The service groups are what API Gateway routes by (infra/constructs/api.ts: `/<service>/{proxy+}`
// to the group's Lambda, `$default` to core): the list of names must be what each group's module
// registers, and each group's Lambda must serve its own paths and no other group's.
let database: DatabaseHandle;
let ctx: AppContext;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database);
});

afterAll(async () => {
  await database?.close();
});

/** The service names a group's module registers, and its request paths. */
function registered(group: (typeof allServiceGroups)[number]): { services: string[]; paths: string[] } {
  const router = createConnectRouter();
  group.register(router, ctx);
  return {
    services: [...new Set(router.handlers.map((h) => h.service.typeName))].sort(),
    paths: router.handlers.map((h) => h.requestPath),
  };
}

/** A Connect JSON request as API Gateway hands it to a Lambda. */
function event(path: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${testAdminToken}`,
      host: "api.example.test",
    },
    requestContext: {
      domainName: "api.example.test",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "203.0.113.1", userAgent: "t" },
      requestId: "r",
    },
    body: "{}",
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Whether the handler answered that it has no such route (not an RPC's own not_found). */
function missedRoute(result: APIGatewayProxyStructuredResultV2): boolean {
  if (result.statusCode !== 404) return false;
  const body = JSON.parse(result.body ?? "{}") as { message?: string };
  return /^route POST \S+ not found$/.test(body.message ?? "");
}

describe("service groups", () => {
  it("lists each group as its module registers it, every service in exactly one group", () => {
    expect(allServiceGroups.map((g) => g.name)).toEqual(serviceGroupNames);
    for (const group of allServiceGroups) {
      expect(registered(group).services, group.name).toEqual([...serviceGroups[group.name]].sort());
    }
    const all = serviceGroupNames.flatMap((name) => serviceGroups[name]);
    expect(new Set(all).size).toBe(all.length);
  });

  it("names the services of the authorization rules as the generated code does", () => {
    expect([...publicProcedures]).toEqual([
      `/${SystemService.typeName}/${SystemService.method.getVersion.name}`,
    ]);
    expect([...adminOnlyServices]).toEqual([ApiKeyService.typeName]);
    expect([...adminWriteServices]).toEqual([UserDirectoryService.typeName]);
  });

  it.each(allServiceGroups.map((g) => [g.name, g] as const))(
    "%s: its Lambda serves every path of its services, and 404 for another group's",
    async (name, group) => {
      const handler = createRpcApiHandler(ctx, [group]);
      const lambdaContext = createLocalLambdaContext(`oncall-api-${name}`);
      const { paths } = registered(group);
      // API Gateway's route for the group matches each path (core: no group route does, so $default).
      for (const path of paths) {
        const service = path.split("/")[1]!;
        expect(serviceGroups[name] as readonly string[]).toContain(service);
        for (const other of serviceGroupNames.filter((n) => n !== name)) {
          expect(serviceGroups[other] as readonly string[]).not.toContain(service);
        }
      }
      // One request per service reaches its RPC (whatever it answers to `{}`), authenticated; another
      // group's path is a route this Lambda does not have (404 `route POST <path> not found`).
      for (const service of serviceGroups[name]) {
        const path = paths.find((p) => p.startsWith(`/${service}/`))!;
        const result = await handler(event(path), lambdaContext);
        expect(missedRoute(result), path).toBe(false);
        expect(result.statusCode, path).not.toBe(401);
      }
      const foreign = allServiceGroups.filter((g) => g !== group).flatMap((g) => registered(g).paths);
      expect(foreign.length).toBeGreaterThan(0);
      for (const path of foreign) {
        expect(missedRoute(await handler(event(path), lambdaContext)), path).toBe(true);
      }
    },
  );
});
