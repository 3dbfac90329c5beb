import type { Clock } from "../clock.ts";
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from "../errors.ts";
import type { AlertSignal, IngestBatch } from "./alert-input.ts";
import type { OwedEffect } from "./lifecycle.ts";
import { parseAlertmanager } from "./parse-alertmanager.ts";
import { parseGeneric } from "./parse-generic.ts";
import { parseGrafana } from "./parse-grafana.ts";
import { parsePagerDutyEvent } from "./parse-pagerduty.ts";

export type WebhookSource = "alertmanager" | "grafana" | "generic" | "pagerduty";
export type IntegrationKeyKind = WebhookSource | "universal";

/** An integration key as the store found it, with this request counted in its minute window. */
export interface IngestKey {
  keyId: string;
  serviceId: string;
  type: IntegrationKeyKind;
  requestsThisMinute: number;
  limitPerMinute: number;
  /** Alerts (signals) this minute, this request's included, and the key's budget of them. */
  alertsThisMinute: number;
  alertLimitPerMinute: number;
}

export type SignalOutcome = "created" | "deduplicated" | "acknowledged" | "resolved" | "unchanged";

export interface SignalResult {
  dedupKey: string;
  alertId: number | null;
  outcome: SignalOutcome;
}

/** What ingestion needs from the outside world. */
export interface IngestPorts {
  clock: Clock;
  /**
   * In one atomic step: finds the live key with this secret, counts the request in its rate
   * window, and only if the key's type fits the webhook (or is universal) and the window is within
   * its limit, applies the signals and writes the effects they owe — else writes nothing.
   */
  ingest(input: {
    secret: string;
    source: WebhookSource;
    now: Date;
    signals: readonly AlertSignal[];
  }): Promise<{ key?: IngestKey; admitted: boolean; results: SignalResult[]; effects: OwedEffect[] }>;
  /** Ids for PagerDuty triggers that come without a dedup_key. */
  newId(): string;
}

export interface IngestRequest {
  source: WebhookSource;
  /** The integration key secret from the header, the query, or the body (`routing_key`). */
  secret: string | undefined;
  /** Parsed JSON, or form fields for the generic webhook. */
  body: unknown;
  query?: URLSearchParams;
}

export interface IngestResult {
  serviceId: string;
  keyId: string;
  results: SignalResult[];
  signalCount: number;
  truncatedAlerts: number;
  /** The effects the request's changes owe (committed with them): the caller runs them. */
  effects: OwedEffect[];
  /** The PagerDuty dedup_key to answer with (generated when the sender gave none). */
  pagerDutyDedupKey?: string;
}

/**
 * One webhook request: bounds-check and parse the body, then in one atomic store call
 * authenticate and rate-limit the key and apply every signal. Nothing is written unless the
 * whole request is valid and admitted.
 *
 * @throws UnauthenticatedError (401), PermissionDeniedError (key for another source, 403),
 *   RateLimitedError (429), ValidationError (400 naming the field).
 */
export async function ingestWebhook(ports: IngestPorts, request: IngestRequest): Promise<IngestResult> {
  // Parse first (each parser bounds-checks the whole body): a malformed request costs no
  // database round trip.
  const batch = parse(request, ports.newId);
  if (!request.secret) {
    throw new UnauthenticatedError(
      request.source === "pagerduty"
        ? "missing routing_key"
        : "missing integration key: send Authorization: Bearer <key> or ?key=<key>",
    );
  }
  const now = ports.clock.now();
  const { key, admitted, results, effects } = await ports.ingest({
    secret: request.secret,
    source: request.source,
    now,
    signals: batch.signals,
  });
  if (!key) throw new UnauthenticatedError("unknown or revoked integration key");
  if (key.type !== "universal" && key.type !== request.source) {
    throw new PermissionDeniedError(
      `this integration key is for ${key.type} webhooks, not ${request.source}`,
    );
  }
  if (!admitted) {
    throw new RateLimitedError(
      key.requestsThisMinute > key.limitPerMinute
        ? `integration key over its limit of ${key.limitPerMinute} requests per minute`
        : `integration key over its budget of ${key.alertLimitPerMinute} alerts per minute ` +
            `(${key.alertsThisMinute} with this request)`,
      60 - now.getUTCSeconds(),
    );
  }
  return {
    serviceId: key.serviceId,
    keyId: key.keyId,
    results,
    signalCount: batch.signals.length,
    truncatedAlerts: batch.truncatedAlerts,
    effects,
    ...("dedupKey" in batch ? { pagerDutyDedupKey: batch.dedupKey as string } : {}),
  };
}

function parse(
  request: IngestRequest,
  newId: () => string,
): IngestBatch | (IngestBatch & { dedupKey: string }) {
  switch (request.source) {
    case "alertmanager":
      return parseAlertmanager(request.body);
    case "grafana":
      return parseGrafana(request.body);
    case "generic":
      return parseGeneric(request.body, request.query ? { query: request.query } : {});
    case "pagerduty":
      return parsePagerDutyEvent(request.body, newId);
  }
}
