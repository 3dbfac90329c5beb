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
