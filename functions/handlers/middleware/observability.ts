import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { logger, metrics, tracer } from "../../adapters/observability.ts";
import { httpErrors } from "./http-errors.ts";

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** The middleware every HTTP Lambda wears: X-Ray, structured logs, EMF metrics, error mapping. */
export function httpLambda(
  route: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(httpErrors())
    .handler(route);
}

/** Memoises the AWS context build for a Lambda entry point; a failed build is retried next time. */
export function lazyAwsHandler(build: () => Promise<HttpHandler>): HttpHandler {
  let pending: Promise<HttpHandler> | undefined;
  return async (event, context) => {
    pending ??= build().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return (await pending)(event, context);
  };
}
