import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { checkDatabase } from "../adapters/db/health.ts";
import { assertBodyWithinLimit, maxRequestBytes } from "../adapters/http/body-limit.ts";
import { createConnectLambdaAdapter } from "../adapters/http/connect-lambda-adapter.ts";
import { corsHeaders, preflightHeaders } from "../adapters/http/cors.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { unavailableRetryAfterSeconds } from "../api/errors.ts";
import type { ServiceGroup } from "../api/groups/group.ts";
import { createGroupRpcHandlers } from "../api/rpc.ts";
import type { AppContext } from "../app/context.ts";
import { NotFoundError } from "../domain/errors.ts";
import { type HttpHandler, httpLambda } from "./middleware/observability.ts";

export type ApiHandler = HttpHandler;

/**
 * An HTTP API handler for the given service groups: their Connect RPCs, `/healthz`, CORS. Each API
 * Lambda (functions/handlers/api-*.ts) serves its own group; `npm start` serves every group through
 * one (functions/handlers/api.ts: local/server.ts turns each request into this event).
 */
export function createRpcApiHandler(ctx: AppContext, groups: readonly ServiceGroup[]): ApiHandler {
  const rpc = createConnectLambdaAdapter({
    handlers: createGroupRpcHandlers(ctx, groups, { grpc: false, readMaxBytes: maxRequestBytes }),
  });

  async function route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method;
    const origin = event.headers.origin;
    assertBodyWithinLimit(event);
    if (method === "OPTIONS") {
      return { statusCode: 204, headers: preflightHeaders(origin, ctx.corsAllowedOrigins) };
    }
    if (rpc.handles(event.rawPath)) {
      metrics.addMetric("RpcRequests", MetricUnit.Count, 1);
      const response = await rpc.handle(event);
      return {
        ...response,
        headers: { ...response.headers, ...corsHeaders(origin, ctx.corsAllowedOrigins) },
      };
    }
    if (event.rawPath === "/healthz" && (method === "GET" || method === "HEAD")) {
      metrics.addMetric("HealthChecks", MetricUnit.Count, 1);
      return health(ctx);
    }
    throw new NotFoundError("route", `${method} ${event.rawPath}`);
  }

  return httpLambda(route);
}

/** `/healthz` answers within this, whatever the database does (load balancers time out at ~5 s). */
const healthTimeoutMs = 2_000;

async function health(ctx: AppContext): Promise<APIGatewayProxyStructuredResultV2> {
  const { health: database, error } = await checkDatabase(ctx.database.db, healthTimeoutMs);
  if (database !== "ok")
    logger.warn("health check: database not serving", { database, error: error as Error });
  return {
    statusCode: database === "ok" ? 200 : 503,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      ...(database === "ok" ? {} : { "retry-after": String(unavailableRetryAfterSeconds) }),
    },
    body: JSON.stringify({
      status: database === "ok" ? "ok" : "degraded",
      database,
      version: ctx.version,
      runtime: ctx.runtime,
    }),
  };
}
