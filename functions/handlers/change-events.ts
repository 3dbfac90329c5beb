import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { assertBodyWithinLimit } from "../adapters/http/body-limit.ts";
import { decodeWebhookBody } from "../adapters/http/webhook-body.ts";
import { createChangeEventUseCases } from "../app/change-events.ts";
import type { AppContext } from "../app/context.ts";
import { pagerDutyRoutingKey } from "../domain/alerts/parse-pagerduty.ts";

/**
 * `POST /v2/change/enqueue` (PagerDuty Change Events API), served by the ingest Lambda: the event is
 * recorded on the routing key's service (ServiceService.ListServiceChangeEvents) and answered 202
 * as PagerDuty answers it. Errors are thrown for the ingest Lambda's error mapping (400 naming the
 * field, 401, 403, 413, 429, 503).
 */
export function createChangeEventRoute(
  ctx: Pick<AppContext, "database" | "clock" | "ingestRateLimitPerMinute">,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const changeEvents = createChangeEventUseCases(ctx);
  return async (event) => {
    if (event.requestContext.http.method !== "POST") {
      return json(
        405,
        { code: "method_not_allowed", message: "change events accept POST only" },
        { allow: "POST" },
      );
    }
    assertBodyWithinLimit(event);
    const { body } = decodeWebhookBody(event, { allowForm: false });
    await changeEvents.record({ body, secret: pagerDutyRoutingKey(body) });
    return json(202, { status: "success", message: "Change event processed" });
  };
}

function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}
