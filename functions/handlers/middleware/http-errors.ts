import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { logger } from "../../adapters/observability.ts";
import { describeError, httpStatusFor } from "../../api/errors.ts";

/**
 * The error mapping for plain-HTTP routes (webhooks, healthz): domain errors become the status
 * that Connect's code mapping gives, with a JSON body `{code, message, field?}`; unexpected
 * errors become 500 "internal error" and are logged, never shown.
 */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const report = describeError(request.error);
      if (report.unexpected) logger.error("request failed", { error: request.error as Error });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (report.retryAfterSeconds !== undefined) headers["retry-after"] = String(report.retryAfterSeconds);
      request.response = {
        statusCode: httpStatusFor(report),
        headers,
        body: JSON.stringify({
          code: report.code,
          message: report.message,
          ...(report.field ? { field: report.field } : {}),
        }),
      };
    },
  };
}
