import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  claimDueDeliveries,
  type DeliveryRecord,
  pendingLater,
  recentSends,
  recordAttempt,
  releaseDeliveries,
  suppressClaimed,
} from "../adapters/db/stores/deliveries.ts";
import { loadAlertView } from "../adapters/db/stores/templates.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { loadDefaultTemplates } from "../adapters/templates/default-templates.ts";
import { type AlertEventType, TRIGGERED } from "../domain/alerts/lifecycle.ts";
import { NotFoundError } from "../domain/errors.ts";
import type { OutboundMessage, ProviderOutcome } from "../domain/notifications/model.ts";
import { TEMPLATE_CHANNEL_OF } from "../domain/notifications/model.ts";
import { retryDecision } from "../domain/notifications/retry.ts";
import { nextAllowedAt, THROTTLE_LOOKBACK_MS, THROTTLE_RULES } from "../domain/notifications/throttle.ts";
import type { AlertView, MessageKind, RenderContext, ServiceView } from "../domain/templates/index.ts";
import { buildRenderContext } from "../domain/templates/index.ts";
import type { AppContext } from "./context.ts";
import { deliveryActor, PAGE } from "./delivery-planning.ts";
import { claimLeaseMs, type DeliveryBaseDeps, realSendTimer } from "./delivery-runtime.ts";
import { createTemplateUseCases, type TemplateUseCases } from "./templates.ts";

// Sending: a sender claims the due deliveries, renders them, sends them through the provider of their
// destination and records what happened (sent, retried with backoff, failed and logged on the alert,
// suppressed because the alert was acknowledged, throttled and bundled). The same use case runs in
// both runtimes: the embedded worker loops over due deliveries (app/delivery-worker.ts); on AWS an SQS
// message names them (handlers/delivery-sender.ts). Planning lives in app/delivery-planning.ts.

export interface DeliveryDeps extends DeliveryBaseDeps {
  readonly templates: Pick<TemplateUseCases, "templateFor" | "render" | "templateById">;
}

const NOTIFICATION_FAILED: AlertEventType = "notification_failed";

// ---------------------------------------------------------------------------------------------
// Sending

export interface SendResult {
  /** Deliveries claimed by this run. */
  readonly claimed: number;
  readonly sent: number;
  readonly retried: number;
  readonly failed: number;
  readonly suppressed: number;
  /** Held back by a throttle (they go later, bundled). */
  readonly throttled: number;
}

/**
 * Claims due deliveries (at most `limit`; with `ids`, those and the other due ones to the same
 * destinations) and sends them, one message per destination: several due to one destination go as
 * one bundle. Destinations are prepared concurrently (`settings.concurrency`) and sent through the
 * process's send slots, each with its own timeout from its slot: a slow or failing one never holds
 * back another for longer than its timeout.
 */
export async function sendDueDeliveries(
  deps: DeliveryDeps,
  input: { limit: number; ids?: readonly number[] },
): Promise<SendResult> {
  return sendClaimedDeliveries(deps, await claimDeliveries(deps, input));
}

/**
 * The claim half of sendDueDeliveries (the embedded worker claims, then sends without waiting). What
 * it claims is owed to the process's send slots until sendClaimedDeliveries records it, and its lease
 * covers the sends owed ahead of it: it cannot run out while a send waits for a slot.
 */
export async function claimDeliveries(
  deps: DeliveryDeps,
  input: { limit: number; ids?: readonly number[] | undefined },
): Promise<DeliveryRecord[]> {
  const slots = deps.sendSlots;
  // Owed before the claim (so that concurrent claims count each other), then down to its messages.
  // With `ids`, the rows claimed go to the destinations of those ids: at most one message per id.
  const owing = input.ids ? Math.min(input.limit, input.ids.length) : input.limit;
  slots.owe(owing);
  let claimed: DeliveryRecord[] = [];
  try {
    claimed = await claimDueDeliveries(deps.db, {
      now: deps.clock.now(),
      leaseMs: claimLeaseMs({
        sends: slots.owed,
        sendSlots: slots.size,
        sendTimeoutMs: deps.settings.sendTimeoutMs,
        minLeaseMs: deps.settings.leaseMs,
      }),
      limit: input.limit,
      ids: input.ids,
      withDestinations: input.ids !== undefined,
    });
    return claimed;
  } finally {
    slots.settle(owing - messagesOf(claimed).length);
  }
}

/** The messages a claim becomes: one per destination, one per delivery of other systems. */
function messagesOf(claimed: readonly DeliveryRecord[]): DeliveryRecord[][] {
  const groups = new Map<string, DeliveryRecord[]>();
  for (const d of claimed) {
    const key = d.recipientKind === "external" ? `external:${d.id}` : d.destinationKey;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  return [...groups.values()];
}

/** The send half of sendDueDeliveries: one message per destination, destinations concurrently. */
export async function sendClaimedDeliveries(
  deps: DeliveryDeps,
  claimed: readonly DeliveryRecord[],
): Promise<SendResult> {
  const totals = { claimed: claimed.length, sent: 0, retried: 0, failed: 0, suppressed: 0, throttled: 0 };
  if (claimed.length === 0) return totals;
  // Messages of other systems (SendNotification) are sent one by one; the rest one message per destination.
  const queue = messagesOf(claimed);
  let sends: Map<string, Date[]>;
  try {
    sends = await recentSends(deps.db, {
      keys: [...new Set(claimed.map((d) => d.destinationKey))],
      since: new Date(deps.clock.now().getTime() - THROTTLE_LOOKBACK_MS),
    });
  } catch (error) {
    deps.sendSlots.settle(queue.length);
    throw error;
  }
  const workers = Array.from({ length: Math.min(deps.settings.concurrency, queue.length) }, async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      try {
        const r = await sendGroup(deps, group, sends.get(group[0]!.destinationKey) ?? []);
        totals.sent += r.sent;
        totals.retried += r.retried;
        totals.failed += r.failed;
        totals.suppressed += r.suppressed;
        totals.throttled += r.throttled;
      } catch (error) {
        // Left `sending`: the lease expires and the next run takes them again.
        logger.error("sending deliveries failed; they are tried again when their lease expires", {
          deliveryIds: group.map((d) => d.id),
          error: error as Error,
        });
      } finally {
        deps.sendSlots.settle(1);
      }
    }
  });
  await Promise.all(workers);
  if (totals.failed > 0) metrics.addMetric("DeliveriesFailed", MetricUnit.Count, totals.failed);
  if (totals.sent > 0) metrics.addMetric("DeliveriesSent", MetricUnit.Count, totals.sent);
  return totals;
}

/**
 * The SQS sender's use case: sends the announced deliveries (and what else is due to their
 * destinations), then announces again those of them still pending for later (a backoff, a throttle,
 * a rule delay beyond SQS's 15-minute DelaySeconds), so that each keeps a message until it is done.
 */
export async function sendAnnounced(deps: DeliveryDeps, ids: readonly number[]): Promise<SendResult> {
  const result = await sendDueDeliveries(deps, { limit: 100, ids });
  const later = await pendingLater(deps.db, { ids, now: deps.clock.now() });
  if (later.length > 0) await deps.queue.announce(later.map((d) => ({ id: d.id, dueAt: d.nextAttemptAt })));
  return result;
}

type GroupResult = Omit<SendResult, "claimed">;

/** One destination's due deliveries: suppressed, held by the throttle, or sent as one message. */
async function sendGroup(
  deps: DeliveryDeps,
  group: readonly DeliveryRecord[],
  sentAt: readonly Date[],
): Promise<GroupResult> {
  const result = { sent: 0, retried: 0, failed: 0, suppressed: 0, throttled: 0 };
  const now = deps.clock.now();
  const views = new Map<number, { alert: AlertView; service: ServiceView }>();
  for (const alertId of new Set(group.flatMap((d) => (d.alertId === null ? [] : [d.alertId])))) {
    const view = await loadAlertView(deps.db, alertId);
    if (view) views.set(alertId, view);
  }
  // A page whose alert was acknowledged or resolved meanwhile is not sent (status updates still are).
  const stale = group.filter(
    (d) => d.messageKind === PAGE && d.alertId !== null && views.get(d.alertId)?.alert.status !== TRIGGERED,
  );
  if (stale.length > 0) {
    await suppressClaimed(deps.db, {
      ids: stale.map((d) => d.id),
      reason: "the alert was acknowledged or resolved before it went",
      now,
    });
    result.suppressed += stale.length;
  }
  const live = group.filter((d) => !stale.includes(d));
  if (live.length === 0) return result;
  const first = live[0]!;
  if (first.recipientKind !== "external") {
    const allowed = nextAllowedAt(THROTTLE_RULES[first.destinationKind], sentAt, now);
    if (allowed.getTime() > now.getTime()) {
      await releaseDeliveries(deps.db, { ids: live.map((d) => d.id), at: allowed, now });
      result.throttled += live.length;
      return result;
    }
  }
  const rendered = await renderGroup(deps, live, views, now);
  const outcome =
    "problem" in rendered
      ? ({ status: "failed", reason: rendered.problem } as const)
      : await sendWithTimeout(deps, rendered.message);
  const carried = live.slice(1).map((d) => d.id);
  const template = "problem" in rendered ? undefined : rendered.template;
  switch (outcome.status) {
    case "sent":
      await recordAttempt(deps.db, {
        id: first.id,
        record: {
          outcome: "sent",
          providerMessageId: outcome.providerMessageId,
          answer: outcome.detail ?? "sent",
          carried,
        },
        template,
        failureEvent: NOTIFICATION_FAILED,
        actor: deliveryActor,
        now: deps.clock.now(),
      });
      result.sent += live.length;
      return result;
    case "retry":
    case "failed": {
      // Every delivery of the group is recorded alike (a bundle that failed failed for each alert).
      for (const d of live) {
        const decision =
          outcome.status === "retry"
            ? retryDecision({
                attempts: d.attempts + 1,
                maxAttempts: d.maxAttempts,
                random: (deps.random ?? Math.random)(),
                retryAfterMs: outcome.retryAfterMs,
              })
            : undefined;
        const answer =
          outcome.status === "retry" && !decision?.retry
            ? `${outcome.reason} (gave up after ${d.attempts + 1} attempts)`
            : outcome.reason;
        await recordAttempt(deps.db, {
          id: d.id,
          record: decision?.retry
            ? {
                outcome: "retry",
                answer,
                nextAttemptAt: new Date(deps.clock.now().getTime() + decision.delayMs),
              }
            : { outcome: "failed", answer },
          template,
          failureEvent: NOTIFICATION_FAILED,
          actor: deliveryActor,
          now: deps.clock.now(),
        });
        if (decision?.retry) {
          // The embedded worker sleeps until the next due row; on AWS sendAnnounced re-announces it.
          result.retried++;
        } else {
          result.failed++;
          logger.warn("delivery failed", { deliveryId: d.id, alertId: d.alertId, reason: answer });
        }
      }
      return result;
    }
  }
}

/**
 * Sends once, in one of the process's send slots; a provider slower than `sendTimeoutMs` is cut off
 * and counts as a retry. The timer starts when the send gets its slot: it measures the provider,
 * not the sends queued ahead of it.
 */
function sendWithTimeout(deps: DeliveryDeps, message: OutboundMessage): Promise<ProviderOutcome> {
  const provider = deps.providers[message.destination.kind];
  if (!provider) {
    return Promise.resolve({ status: "failed", reason: `no provider for ${message.destination.kind}` });
  }
  return deps.sendSlots.run(() => sendNow(deps, provider, message));
}

async function sendNow(
  deps: DeliveryDeps,
  provider: NonNullable<DeliveryDeps["providers"][keyof DeliveryDeps["providers"]]>,
  message: OutboundMessage,
): Promise<ProviderOutcome> {
  const controller = new AbortController();
  const cancelTimer = (deps.sendTimer ?? realSendTimer)(deps.settings.sendTimeoutMs, () =>
    controller.abort(new Error("timeout")),
  );
  try {
    return await Promise.race([
      provider.send(message, controller.signal),
      new Promise<ProviderOutcome>((resolve) =>
        controller.signal.addEventListener("abort", () =>
          resolve({ status: "retry", reason: `no answer within ${deps.settings.sendTimeoutMs} ms` }),
        ),
      ),
    ]);
  } catch (error) {
    if (controller.signal.aborted) {
      return { status: "retry", reason: `no answer within ${deps.settings.sendTimeoutMs} ms` };
    }
    return { status: "retry", reason: `provider error: ${(error as Error).message}` };
  } finally {
    cancelTimer();
  }
}

/** The one message of a group: the delivery's own kind when alone, a bundle of the alerts otherwise. */
/**
 * The template a routing rule pinned for this message (`notify_channel` with a template), if it is of
 * the message's kind and still exists; else undefined: the service's template for the kind. A bundle
 * is never pinned (its template lists several alerts).
 */
async function pinnedTemplate(
  deps: DeliveryDeps,
  record: DeliveryRecord,
  kind: MessageKind,
): Promise<Awaited<ReturnType<TemplateUseCases["templateById"]>> | undefined> {
  if (!record.templateId || kind === "bundle") return undefined;
  try {
    const pinned = await deps.templates.templateById(record.templateId, record.templateVersion ?? 0);
    return pinned.template.kind === kind ? pinned : undefined;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

async function renderGroup(
  deps: DeliveryDeps,
  live: readonly DeliveryRecord[],
  views: ReadonlyMap<number, { alert: AlertView; service: ServiceView }>,
  now: Date,
): Promise<{ message: OutboundMessage; template: { id: string; version: number } } | { problem: string }> {
  const first = live[0]!;
  const stored = (first.context ?? {}) as {
    recipient?: { name?: string; timeZone?: string };
    escalation?: { step: number; pass: number };
    update?: RenderContext["update"];
  };
  let kind: MessageKind;
  let context: RenderContext;
  let source: { templateId: string; version: number; template: Parameters<TemplateUseCases["render"]>[0] };
  if (first.recipientKind === "external") {
    if (!first.templateId) return { problem: "no template" };
    source = await deps.templates.templateById(first.templateId, first.templateVersion ?? 0);
    kind = source.template.kind;
    // The caller's context over an empty one: fields it leaves out are null, as templates expect.
    context = {
      ...buildRenderContext({ kind, now, alerts: [] }),
      ...(first.context as Record<string, unknown>),
      kind,
    } as RenderContext;
  } else {
    const alerts = [...new Set(live.map((d) => d.alertId))].flatMap((id) => {
      const view = id === null ? undefined : views.get(id);
      return view ? [view] : [];
    });
    if (alerts.length === 0) return { problem: "the alert no longer exists" };
    kind = live.length > 1 ? "bundle" : (first.messageKind as MessageKind);
    const services = new Set(alerts.map((a) => a.service.id));
    const service = services.size === 1 ? alerts[0]!.service : null;
    source =
      (await pinnedTemplate(deps, first, kind)) ?? (await deps.templates.templateFor(service?.id, kind));
    const open = deps.settings.consoleUrl
      ? `${deps.settings.consoleUrl.replace(/\/$/, "")}/alerts/${alerts[0]!.alert.id}`
      : "";
    context = buildRenderContext({
      kind,
      now,
      alerts: alerts.map((a) => ({ ...a.alert, url: open })),
      bundleCount: alerts.length,
      service,
      escalation: stored.escalation ? { ...stored.escalation, notified: [] } : null,
      recipient: stored.recipient,
      actions: { open },
      update: stored.update ?? null,
    });
  }
  const channel = TEMPLATE_CHANNEL_OF[first.destinationKind];
  const [rendering] = deps.templates.render(source.template, context, [channel]);
  if (!rendering || rendering.errors.length > 0 || rendering.parts.length === 0) {
    return {
      problem: `template ${source.templateId}@${source.version} did not render: ${
        rendering?.errors.map((e) => e.message).join("; ") ?? "no output"
      }`,
    };
  }
  return {
    message: {
      idempotencyKey: first.idempotencyKey,
      destination: first.destination,
      kind: first.recipientKind === "external" ? kind : live.length > 1 ? "bundle" : first.messageKind,
      parts: Object.fromEntries(rendering.parts.map((p) => [p.name, p.content])),
    },
    template: { id: source.templateId, version: source.version },
  };
}

/** Template use cases per database handle (their compiled-template caches live as long as the process). */
const templateUseCases = new WeakMap<object, TemplateUseCases>();

/** Delivery's dependencies from an AppContext. */
export function deliveryDepsOf(
  ctx: Pick<AppContext, "database" | "clock" | "directory" | "delivery">,
): DeliveryDeps {
  let templates = templateUseCases.get(ctx.database);
  if (!templates) {
    templates = createTemplateUseCases({
      db: () => ctx.database.db,
      clock: ctx.clock,
      defaults: () => loadDefaultTemplates(),
    });
    templateUseCases.set(ctx.database, templates);
  }
  return { db: ctx.database.db, clock: ctx.clock, directory: ctx.directory, templates, ...ctx.delivery };
}
