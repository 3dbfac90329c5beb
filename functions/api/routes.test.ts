import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalLambdaContext } from "../../local/lambda-http-bridge.ts";
import { createTestAppContext, testAdminToken } from "../../test/support/app-context.ts";
import { openTestDatabase } from "../../test/support/databases.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import type { AppContext } from "../app/context.ts";
import { createApiHandler } from "../handlers/api.ts";
import { createRpcHandlers } from "./routes.ts";

// Connect JSON requests with unknown fields or enum names are refused, through the router the
// in-memory transport builds and through the API Lambda (the embedded server serves the same).
let database: DatabaseHandle;
let ctx: AppContext;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  ctx = createTestAppContext(database);
});

afterAll(async () => {
  await database?.close();
});

const listAlerts = "/oncall.v1.AlertService/ListAlerts";
const headers = { "content-type": "application/json", authorization: `Bearer ${testAdminToken}` };

/** One JSON request through the same router the in-memory transport (createRouterTransport) builds. */
async function viaRouter(path: string, body: string): Promise<{ status: number; json: unknown }> {
  const handler = createRpcHandlers(ctx).find((h: UniversalHandler) => h.requestPath === path)!;
  const response = await handler({
    httpVersion: "1.1",
    url: `https://api.example.test${path}`,
    method: "POST",
    header: new Headers(headers),
    body: (async function* () {
      yield new TextEncoder().encode(body);
    })(),
    signal: new AbortController().signal,
  });
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body ?? []) chunks.push(chunk);
  return { status: response.status, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
}

/** One JSON request as API Gateway hands it to the API Lambda. */
async function viaLambda(path: string, body: string): Promise<{ status: number; json: unknown }> {
  const event = {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: { ...headers, host: "api.example.test" },
    requestContext: {
      domainName: "api.example.test",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "203.0.113.1", userAgent: "t" },
      requestId: "r",
    },
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const result = await createApiHandler(ctx)(event, createLocalLambdaContext("oncall-api-test"));
  return { status: result.statusCode ?? 200, json: JSON.parse(result.body ?? "null") };
}

describe.each([
  ["the handlers of the in-memory transport", viaRouter],
  ["the API Lambda", viaLambda],
])("Connect JSON through %s", (_, call) => {
  it("refuses an unknown enum name, naming the field and the value", async () => {
    const { status, json } = await call(listAlerts, '{"statuses":["TRIGGERED"]}');
    expect(status).toBe(400);
    expect(json).toMatchObject({ code: "invalid_argument" });
    expect((json as { message: string }).message).toMatch(/^statuses\[0\]: unknown value "TRIGGERED"/);
  });

  it("refuses an unknown field, naming it", async () => {
    const { status, json } = await call(listAlerts, '{"status":["ALERT_STATUS_TRIGGERED"]}');
    expect(status).toBe(400);
    expect(json).toMatchObject({ code: "invalid_argument" });
    expect((json as { message: string }).message).toBe("status: unknown field");
  });

  it("accepts known fields and enum names", async () => {
    const { status, json } = await call(listAlerts, '{"statuses":["ALERT_STATUS_TRIGGERED"]}');
    expect(status).toBe(200);
    expect(json).toEqual({});
  });
});
