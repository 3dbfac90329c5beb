import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { loadTracer, logger, metrics } from "../../adapters/observability.ts";
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
    .use(traceWithoutContent())
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(httpErrors())
    .handler(route);
}

/**
 * Powertools' X-Ray middleware without the content it records by default: responses carry one-time
 * secrets (CreateApiKey, CreateIntegrationKey, RotateIntegrationKey) and alert content, and an
 * error's message and stack can quote the request. The segment keeps its timing, annotations and
 * the fault flag with the error's class name. (infra/ also sets POWERTOOLS_TRACER_CAPTURE_RESPONSE and
 * _CAPTURE_ERROR to false on every Lambda, for any other traced method.)
 */
export function traceWithoutContent<Event, Result>(): MiddlewareObj<Event, Result> {
  // Loaded at the first invocation, and only where tracing is on (see loadTracer).
  let loading: Promise<MiddlewareObj<Event, Result> | undefined> | undefined;
  const traced = () =>
    (loading ??= (async () => {
      const tracer = await loadTracer();
      if (!tracer) return undefined;
      const { captureLambdaHandler } = await import("@aws-lambda-powertools/tracer/middleware");
      return captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj<Event, Result>;
    })());
  return {
    before: async (request) => {
      await (await traced())?.before?.(request);
    },
    after: async (request) => {
      await (await traced())?.after?.(request);
    },
    // The copy shares `internal`, where the middleware keeps this invocation's segments.
    onError: async (request) => {
      await (await traced())?.onError?.({ ...request, error: new RedactedError(request.error) });
    },
  };
}

/** What X-Ray gets of a failed invocation: the error's class, not its message or stack. */
export class RedactedError extends Error {
  override readonly name = "RedactedError";
  constructor(error: unknown) {
    super(error instanceof Error ? error.name : typeof error);
    this.stack = `${this.name}: ${this.message}`;
  }
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
