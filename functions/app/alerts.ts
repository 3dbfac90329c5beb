import { randomUUID } from "node:crypto";
import { applySignals, ingestWithKey, type StoredSignal } from "../adapters/db/stores/alert-signals.ts";
import {
  type AlertEventRow,
  type AlertFilter,
  type AlertRow,
  acknowledgeAlert,
  addNote,
  autoResolveOlderThan,
  bulkAcknowledgeAlerts,
  bulkResolveAlerts,
  getAlert,
  listAlertEvents,
  listAlerts,
  resolveAlert,
} from "../adapters/db/stores/alerts.ts";
import { hashSecret } from "../adapters/db/stores/integration-keys.ts";
import type { IngestRouting } from "../adapters/db/stores/routing.ts";
import { getService } from "../adapters/db/stores/services.ts";
import { type IngestRequest, type IngestResult, ingestWebhook } from "../domain/alerts/ingest.ts";
import { NotFoundError, PreconditionError } from "../domain/errors.ts";
import type { AppContext } from "./context.ts";
import {
  announce,
  createFirstStepDeliveryPlanner,
  deliveryPlanningDepsOf,
  firstStepsUnplanned,
} from "./delivery-planning.ts";
import { effectDepsOf } from "./effect-registry.ts";
import { dispatchEffects, type EffectDeps } from "./effects.ts";
import {
  createFirstStepPlanner,
  escalateAlertNow,
  escalationLifecycleOf,
  unrecordedFirstSteps,
} from "./escalations.ts";
import {
  countRoutedBeforeIngest,
  newAlertsOf,
  routeBeforeIngest,
  routingDepsOf,
  withNewAlerts,
} from "./routing.ts";

/** Integration keys whose service a process remembers (a bound: cleared when full). */
const maxRememberedKeys = 10_000;

// Every alert use case: ingest, create, acknowledge, resolve (one or in bulk), auto-resolve,
// escalate now, notes and reads. Each change is one statement that also writes the effects it owes
// (the lifecycle table in domain/alerts/lifecycle.ts says which); the use case runs them right after
// the commit. Entry points (handlers, RPC services) call these, never the stores.

export type AlertUseCases = ReturnType<typeof createAlertUseCases>;
export type { AlertEventRow, AlertFilter, AlertRow };
export type AlertSeverity = StoredSignal["severity"];

/** A manual trigger, as CreateAlert gives it (already validated). */
export interface NewAlert {
  serviceId: string;
  summary: string;
  details: string;
  severity: StoredSignal["severity"];
  /** Empty: a fresh key (every call opens a new alert). */
  dedupKey: string;
  labels: Record<string, string>;
  actor: string;
}

export function createAlertUseCases(
  ctx: Pick<
    AppContext,
    | "database"
    | "clock"
    | "escalations"
    | "directory"
    | "delivery"
    | "maintenance"
    | "ingestRateLimitPerMinute"
    | "ingestAlertLimitPerMinute"
  >,
  effects: EffectDeps = effectDepsOf(ctx),
) {
  const db = () => ctx.database.db;
  const routingDeps = routingDepsOf(ctx);
  // Integration key (by hash) → its service and default policy, as the last request saw them:
  // routing decides before the statement on this assumption, which the statement checks.
  const keyServices = new Map<string, { serviceId: string; defaultPolicyId: string | null }>();
  const rememberKeyService = (hash: string, key: { serviceId: string; defaultPolicyId: string | null }) => {
    if (keyServices.size >= maxRememberedKeys && !keyServices.has(hash)) keyServices.clear();
    keyServices.set(hash, { serviceId: key.serviceId, defaultPolicyId: key.defaultPolicyId });
  };
  const escalations = escalationLifecycleOf(ctx);
  const firstSteps = createFirstStepPlanner(ctx.database.db);
  const deliveries = deliveryPlanningDepsOf(ctx);
  const firstStepDeliveries = createFirstStepDeliveryPlanner(deliveries);
  const change = (actor: string) => ({ actor, now: ctx.clock.now() });

  async function alertOrThrow(id: number): Promise<AlertRow> {
    const row = await getAlert(db(), id);
    if (!row) throw new NotFoundError("alert", String(id));
    return row;
  }

  return {
    /**
     * A webhook request: parse, authenticate, rate-limit and apply in one statement (domain/alerts/ingest.ts),
     * then run the effects its changes owe (escalations start and stop).
     *
     * @throws UnavailableError when an escalation could not start (503: the sender's retry runs it).
     */
    async ingest(request: IngestRequest): Promise<IngestResult> {
      let sent: { signals: readonly StoredSignal[]; now: Date } | undefined;
      let routedAhead: IngestRouting | undefined;
      let delivered: readonly { id: number; nextAttemptAt: Date }[] = [];
      const result = await ingestWebhook(
        {
          clock: ctx.clock,
          newId: randomUUID,
          ingest: async (input) => {
            sent = input;
            // A key seen before: decide routing now, for the statement to write with the alerts.
            const hash = hashSecret(input.secret);
            const service = keyServices.get(hash);
            const routing = service && (await routeBeforeIngest(routingDeps, { ...service, ...input }));
            // The new escalations' first step, recorded by the statement with the alerts, and its
            // deliveries (issue 10).
            const planned = routing
              ? await firstStepDeliveries.plan(
                  await firstSteps.plan(policiesOf(routing), input.now),
                  input.now,
                )
              : [];
            const written = await ingestWithKey(db(), {
              ...input,
              defaultLimitPerMinute: ctx.ingestRateLimitPerMinute,
              defaultAlertLimitPerMinute: ctx.ingestAlertLimitPerMinute,
              routing,
              firstSteps: planned,
            });
            for (const policyId of unrecordedFirstSteps(planned, written.effects))
              firstSteps.forget(policyId);
            if (firstStepsUnplanned(written.effects)) firstStepDeliveries.forget();
            if (written.key) rememberKeyService(hash, written.key);
            if (written.routed) routedAhead = routing;
            delivered = written.deliveries;
            return written;
          },
        },
        request,
      );
      await announce(deliveries, delivered);
      if (routedAhead) countRoutedBeforeIngest(routedAhead, result.results);
      // Else routing gets the new alerts as this request wrote them (no read before it decides).
      const created =
        sent && !routedAhead ? newAlertsOf(result.serviceId, sent.signals, result.results, sent.now) : [];
      await dispatchEffects(effects, withNewAlerts(result.effects, created));
      return result;
    },

    /** A manual trigger: the same upsert as a webhook, with source "manual". */
    async create(alert: NewAlert): Promise<{ alert: AlertRow; created: boolean }> {
      if (!(await getService(db(), alert.serviceId))) throw new NotFoundError("service", alert.serviceId);
      const dedupKey = alert.dedupKey || `manual:${randomUUID()}`;
      const applied = await applySignals(db(), {
        serviceId: alert.serviceId,
        ...change(alert.actor),
        signals: [
          {
            action: "trigger",
            dedupKey,
            summary: alert.summary,
            details: alert.details,
            severity: alert.severity,
            source: "manual",
            labels: alert.labels,
            annotations: {},
          },
        ],
      });
      const [result] = applied.results;
      if (result?.alertId == null) throw new Error(`applySignals opened no alert for ${dedupKey}`);
      await dispatchEffects(effects, applied.effects);
      return { alert: await alertOrThrow(result.alertId), created: result.outcome === "created" };
    },

    get: alertOrThrow,

    list: (filter: AlertFilter, page: { limit: number; beforeId?: number | undefined }) =>
      listAlerts(db(), filter, page),

    async acknowledge(id: number, actor: string): Promise<AlertRow> {
      const result = await acknowledgeAlert(db(), { id, ...change(actor) });
      if (!result) throw new NotFoundError("alert", String(id));
      await dispatchEffects(effects, result.effects);
      return result.alert;
    },

    async resolve(id: number, actor: string): Promise<AlertRow> {
      const result = await resolveAlert(db(), { id, ...change(actor) });
      if (!result) throw new NotFoundError("alert", String(id));
      await dispatchEffects(effects, result.effects);
      return result.alert;
    },

    /** Acknowledges the triggered alerts among `ids`; returns those that changed. */
    async bulkAcknowledge(ids: readonly number[], actor: string): Promise<number[]> {
      const result = await bulkAcknowledgeAlerts(db(), { ids, ...change(actor) });
      await dispatchEffects(effects, result.effects);
      return result.ids;
    },

    /** Resolves the open alerts among `ids`; returns those that changed. */
    async bulkResolve(ids: readonly number[], actor: string): Promise<number[]> {
      const result = await bulkResolveAlerts(db(), { ids, ...change(actor) });
      await dispatchEffects(effects, result.effects);
      return result.ids;
    },

    async addNote(alertId: number, text: string, actor: string): Promise<AlertEventRow> {
      const event = await addNote(db(), { alertId, text, actor, now: ctx.clock.now() });
      if (!event) throw new NotFoundError("alert", String(alertId));
      return event;
    },

    async listEvents(input: { alertId: number; limit: number; afterId?: number | undefined }) {
      const page = await listAlertEvents(db(), input);
      if (!page) throw new NotFoundError("alert", String(input.alertId));
      return page;
    },

    /** The pending step runs now; answers the alert and the step that runs. */
    async escalateNow(id: number, actor: string) {
      const outcome = await escalateAlertNow(escalations, { alertId: id, actor });
      switch (outcome.outcome) {
        case "not_found":
          throw new NotFoundError("alert", String(id));
        case "not_triggered":
          throw new PreconditionError(
            `alert ${id} is ${outcome.alertStatus}: only a triggered alert escalates`,
          );
        case "no_policy":
          throw new PreconditionError(`alert ${id} cannot escalate: its service has no escalation policy`);
      }
      await dispatchEffects(effects, outcome.effects);
      return {
        alert: await alertOrThrow(id),
        stepIndex: outcome.stepIndex,
        repeatCycle: outcome.repeatCycle,
      };
    },

    /** Resolves open alerts not seen for `days` days (at most `limit`), and runs what that owes. */
    async autoResolveStale(days: number, limit: number): Promise<number[]> {
      const result = await autoResolveOlderThan(db(), { days, limit, now: ctx.clock.now() });
      await dispatchEffects(effects, result.effects);
      return result.ids;
    },
  };
}

/** The policies routing chose for a request's new alerts. */
function policiesOf(routing: IngestRouting): string[] {
  if (routing.same) return routing.same.policyId ? [routing.same.policyId] : [];
  return [...new Set(routing.decisions.flatMap((d) => (d.policyId ? [d.policyId] : [])))];
}
