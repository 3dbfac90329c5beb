import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { NotFoundError, PayloadTooLargeError } from "../domain/errors.ts";
import type { AppContext } from "../adapters/app-context.ts";
import { createAwsContext } from "../adapters/aws/aws-context.ts";
import { logger, metrics, tracer } from "../adapters/observability.ts";
import { adminAuthenticator, createAuthInterceptor } from "../adapters/rpc/auth.ts";
import { corsHeaders, preflightHeaders } from "../adapters/rpc/cors.ts";
import { errorInterceptor } from "../adapters/rpc/error-interceptor.ts";
import { createConnectLambdaAdapter } from "../adapters/rpc/lambda-adapter.ts";
import { publicProcedures, registerServices } from "../adapters/rpc/routes.ts";
import { httpErrors } from "./middleware/http-errors.ts";

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** Largest request body we read; larger ones are refused before parsing. */
export const maxRequestBytes = 1024 * 1024;

/**
 * The HTTP API Lambda: Connect RPCs, `/healthz`, CORS. The same function serves `npm start`
 * (local/server.ts turns each request into this event) and API Gateway.
 */
export function createApiHandler(ctx: AppContext): ApiHandler {
  const rpc = createConnectLambdaAdapter({
    routes: registerServices(ctx),
    interceptors: [errorInterceptor, createAuthInterceptor({ authenticate: adminAuthenticator(ctx.adminToken), publicProcedures })],
    readMaxBytes: maxRequestBytes,
  });

  async function route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method;
    const origin = event.headers.origin;
    if (bodyBytes(event) > maxRequestBytes) {
      throw new PayloadTooLargeError(`request body exceeds ${maxRequestBytes} bytes`);
    }
    if (method === "OPTIONS") {
      return { statusCode: 204, headers: preflightHeaders(origin, ctx.corsAllowedOrigins) };
    }
    if (rpc.handles(event.rawPath)) {
      const response = await rpc.handle(event);
      return { ...response, headers: { ...response.headers, ...corsHeaders(origin, ctx.corsAllowedOrigins) } };
    }
    if (event.rawPath === "/healthz" && (method === "GET" || method === "HEAD")) return health(ctx);
    throw new NotFoundError("route", `${method} ${event.rawPath}`);
  }

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(httpErrors())
    .handler(route);
}

function bodyBytes(event: APIGatewayProxyEventV2): number {
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, "base64") : Buffer.byteLength(event.body, "utf8");
}

async function health(ctx: AppContext): Promise<APIGatewayProxyStructuredResultV2> {
  let database: "ok" | "unavailable" = "ok";
  try {
    await ctx.database.ping();
  } catch (err) {
    logger.warn("health check: database unreachable", { error: err as Error });
    database = "unavailable";
  }
  return {
    statusCode: database === "ok" ? 200 : 503,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify({ status: database === "ok" ? "ok" : "degraded", database, version: ctx.version, runtime: ctx.runtime }),
  };
}

let awsHandler: Promise<ApiHandler> | undefined;

/** The Lambda entry point. The AWS context (Data API client, secrets) is built on first use. */
export const handler: ApiHandler = async (event, context) => {
  awsHandler ??= createAwsContext()
    .then(createApiHandler)
    .catch((err: unknown) => {
      awsHandler = undefined; // let the next invocation try again
      throw err;
    });
  return (await awsHandler)(event, context);
};
