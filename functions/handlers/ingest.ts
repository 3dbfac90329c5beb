import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { assertBodyWithinLimit } from "../adapters/http/body-limit.ts";
import { changeEventsPath, ingestSourceOf } from "../adapters/http/ingest-routes.ts";
import { decodeWebhookBody } from "../adapters/http/webhook-body.ts";
import { metrics } from "../adapters/observability.ts";
import { bearerToken } from "../api/auth.ts";
import { describeError } from "../api/errors.ts";
import { createAlertUseCases } from "../app/alerts.ts";
import { createAwsContext } from "../app/aws-context.ts";
import type { AppContext } from "../app/context.ts";
import { createMaintenanceCheck } from "../app/maintenance.ts";
import { pagerDutyRoutingKey } from "../domain/alerts/parse-pagerduty.ts";
import { NotFoundError } from "../domain/errors.ts";
import { createChangeEventRoute } from "./change-events.ts";
import { type HttpHandler, httpLambda, lazyAwsHandler } from "./middleware/observability.ts";

/**
 * The ingest Lambda: Alertmanager, Grafana, generic and PagerDuty Events v2 webhooks.
 * Answers 200 with the alert ids (202 PagerDuty-style on /v2/enqueue); 400 naming the bad field,
 * 401 unknown key, 403 key of another type, 413, 415, 429 with Retry-After, 503 when the database
 * is down (nothing is written: a request's signals are applied in one atomic statement).
 */
export function createIngestHandler(ctx: AppContext): HttpHandler {
  const alerts = createAlertUseCases(ctx);
  const changeEvent = createChangeEventRoute(ctx);

  async function route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    if (event.rawPath === changeEventsPath) return changeEvent(event);
    const source = ingestSourceOf(event.rawPath);
    if (!source) throw new NotFoundError("route", event.rawPath);
    if (event.requestContext.http.method !== "POST") {
      return json(
        405,
        { code: "method_not_allowed", message: "webhooks accept POST only" },
        { allow: "POST" },
      );
    }
    try {
      assertBodyWithinLimit(event);
      const { body, query } = decodeWebhookBody(event, { allowForm: source === "generic" });
      const secret =
        source === "pagerduty"
          ? pagerDutyRoutingKey(body)
          : (bearerToken(event.headers.authorization) ?? query.get("key") ?? query.get("token") ?? undefined);
      // New alerts start escalating, acknowledged / resolved ones stop (the effects of the change). A
      // start that fails answers 503: the sender's retry runs it (the effect is committed and owed).
      const result = await alerts.ingest({ source, secret, body, query });

      const count = (outcome: string) => result.results.filter((r) => r.outcome === outcome).length;
      metrics.addDimension("Source", source);
      metrics.addMetric("AlertsReceived", MetricUnit.Count, result.signalCount);
      metrics.addMetric("AlertsCreated", MetricUnit.Count, count("created"));
      metrics.addMetric("AlertsDeduplicated", MetricUnit.Count, count("deduplicated"));
      metrics.addMetric("AlertsResolved", MetricUnit.Count, count("resolved"));

      if (source === "pagerduty") {
        return json(202, {
          status: "success",
          message: "Event processed",
          dedup_key: result.pagerDutyDedupKey,
        });
      }
      return json(200, {
        alerts: result.results.map((r) => ({ id: r.alertId, dedupKey: r.dedupKey, outcome: r.outcome })),
        truncatedAlerts: result.truncatedAlerts,
      });
    } catch (err) {
      const rejected = metrics.singleMetric();
      rejected.addDimension("Reason", describeError(err).code);
      rejected.addMetric("RequestsRejected", MetricUnit.Count, 1);
      throw err;
    }
  }

  return httpLambda(route);
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

/** The Lambda entry point. */
export const handler: HttpHandler = lazyAwsHandler(async () =>
  createIngestHandler(
    await createAwsContext({
      adminToken: false,
      connectRemoteDirectory,
      maintenanceCheck: createMaintenanceCheck,
    }),
  ),
);
