import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import { createClient } from "@connectrpc/connect";
import middy from "@middy/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createLocalLambdaContext } from "../../local/lambda-http-bridge.ts";
import { createTestAppContext } from "../../test/support/app-context.ts";
import { openTestDatabase } from "../../test/support/databases.ts";
import { createLambdaTransport } from "../../test/support/lambda-transport.ts";
import { admin } from "../../test/support/rpc.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { loadTracer, logger } from "../adapters/observability.ts";
import { ApiKeyScope, ApiKeyService } from "../gen/oncall/v1/api_keys_pb.ts";
import { IntegrationKeyType, ServiceService } from "../gen/oncall/v1/services_pb.ts";
import { type ApiHandler, createApiHandler } from "./api.ts";

// Issue 9 row 5: the one-time secrets of CreateApiKey, CreateIntegrationKey and RotateIntegrationKey
// (and an error's text) must not reach X-Ray or the logs. Outside Lambda the tracer is never loaded, so
// the test poses as a Lambda to load it and stands in for the X-Ray SDK's segments, recording
// everything the tracer writes.
vi.stubEnv("AWS_EXECUTION_ENV", "AWS_Lambda_nodejs22.x");
vi.stubEnv("POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS", "false");
const tracer = (await loadTracer())!;
let database: DatabaseHandle;
let handler: ApiHandler;

interface Recorded {
  /** Everything the tracer was given: metadata, annotations, errors added to a (sub)segment. */
  trace: unknown[];
  /** Everything written to stdout / stderr (the Powertools logger's output). */
  output: string[];
  faults: number;
}
let recorded: Recorded;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  handler = createApiHandler(createTestAppContext(database));
});

afterAll(async () => {
  await database?.close();
});

beforeEach(() => {
  recorded = { trace: [], output: [], faults: 0 };
  const subsegment = {
    name: "## handler",
    addNewSubsegment: () => subsegment,
    addMetadata: (...args: unknown[]) => recorded.trace.push(args),
    addAnnotation: (...args: unknown[]) => recorded.trace.push(args),
    addError: (error: Error) => recorded.trace.push([error.name, error.message, error.stack]),
    addErrorFlag: () => {
      recorded.faults++;
    },
    close: () => {},
  };
  vi.spyOn(tracer, "isTracingEnabled").mockReturnValue(true);
  vi.spyOn(tracer, "getSegment").mockReturnValue(subsegment as never);
  vi.spyOn(tracer, "setSegment").mockImplementation(() => {});
  vi.spyOn(tracer, "putMetadata").mockImplementation((...args) => void recorded.trace.push(args));
  vi.spyOn(tracer, "putAnnotation").mockImplementation((...args) => void recorded.trace.push(args));
  const capture = (chunk: unknown) => {
    recorded.output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  logger.setLogLevel("DEBUG");
});

afterEach(() => {
  logger.setLogLevel("INFO");
  vi.restoreAllMocks();
});

function everythingTracedAndLogged(): string {
  return JSON.stringify(recorded.trace) + recorded.output.join("");
}

describe("the API Lambda's traces and logs", () => {
  it("never hold the secret CreateApiKey returns", async () => {
    const client = createClient(ApiKeyService, createLambdaTransport(handler, "connect-json"));

    const { secret } = await client.createApiKey({ name: "ci", scope: ApiKeyScope.READ }, admin);

    expect(secret).toMatch(/^oak_/);
    expect(recorded.trace).toContainEqual(["Service", "oncall"]); // the tracer ran
    expect(everythingTracedAndLogged()).not.toContain(secret);
    expect(everythingTracedAndLogged()).not.toContain(admin.headers.authorization);
  });

  it("never hold the secrets CreateIntegrationKey and RotateIntegrationKey return", async () => {
    const services = createClient(ServiceService, createLambdaTransport(handler, "connect-binary"));
    const { service } = await services.createService({ name: "db" }, admin);

    const created = await services.createIntegrationKey(
      { serviceId: service!.id, name: "am", type: IntegrationKeyType.ALERTMANAGER },
      admin,
    );
    const rotated = await services.rotateIntegrationKey({ id: created.key!.id }, admin);

    expect([created.secret, rotated.secret].every((s) => s.length >= 16)).toBe(true);
    expect(recorded.trace.length).toBeGreaterThan(0);
    for (const secret of [created.secret, rotated.secret]) {
      expect(everythingTracedAndLogged()).not.toContain(secret);
    }
  });

  it("flag a failed request as a fault with the error's class only, not its text", async () => {
    const path = "/no-such-route-3f9c2a";

    const response = await handler(
      {
        version: "2.0",
        routeKey: "$default",
        rawPath: path,
        rawQueryString: "",
        headers: {},
        requestContext: {
          http: { method: "GET", path, protocol: "HTTP/1.1", sourceIp: "203.0.113.1", userAgent: "t" },
        },
        isBase64Encoded: false,
      } as never,
      createLocalLambdaContext("oncall-api-test"),
    );

    expect(response.statusCode).toBe(404);
    expect(recorded.trace).toContainEqual(["RedactedError", "NotFoundError", "RedactedError: NotFoundError"]);
    expect(JSON.stringify(recorded.trace)).not.toContain(path);
  });

  it("would hold the secret under Powertools' default tracer middleware (the checks above can fail)", async () => {
    const leaky = middy<Parameters<ApiHandler>[0], Awaited<ReturnType<ApiHandler>>>()
      .use(captureLambdaHandler(tracer))
      .handler((event, context) => handler(event, context));
    const client = createClient(ApiKeyService, createLambdaTransport(leaky, "connect-json"));

    const { secret } = await client.createApiKey({ name: "leak", scope: ApiKeyScope.READ }, admin);

    expect(JSON.stringify(recorded.trace)).toContain(secret);
  });
});
