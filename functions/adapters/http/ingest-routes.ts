import type { WebhookSource } from "../../domain/alerts/ingest.ts";

/**
 * The webhook routes served by the ingest Lambda. API Gateway (infra/) and the embedded server
 * (local/) both route from this one table; everything else goes to the API Lambda.
 */
export const ingestRoutes: readonly { method: "POST"; path: string; source: WebhookSource }[] = [
  { method: "POST", path: "/v1/webhooks/alertmanager", source: "alertmanager" },
  { method: "POST", path: "/v1/webhooks/grafana", source: "grafana" },
  { method: "POST", path: "/v1/webhooks/generic", source: "generic" },
  { method: "POST", path: "/v2/enqueue", source: "pagerduty" },
];

/** The webhook source of a path, whatever the method (a GET on a webhook path gets a 405 from the ingest Lambda). */
export function ingestSourceOf(path: string): WebhookSource | undefined {
  return ingestRoutes.find((r) => r.path === path)?.source;
}

/** PagerDuty's Change Events API: the ingest Lambda records a change on the service, not an alert. */
export const changeEventsPath = "/v2/change/enqueue";

/** Every path API Gateway routes to the ingest Lambda (any method: it answers 405 to all but POST). */
export const ingestLambdaPaths: readonly string[] = [...ingestRoutes.map((r) => r.path), changeEventsPath];

/** Whether the ingest Lambda serves `path`. */
export function servedByIngest(path: string): boolean {
  return ingestLambdaPaths.includes(path);
}
