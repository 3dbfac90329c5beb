import {
  type DeliveryLogEntry,
  insertPlannedDeliveries,
  latestAlertEvent,
  optedInUsers,
  overdueDeliveries,
  pagedDestinations,
  recordPlan,
  rulesOfUsers,
  suppressPendingPages,
  unplannedNotifications,
} from "../adapters/db/stores/deliveries.ts";
import { logger } from "../adapters/observability.ts";
import { type AlertEventType, SYSTEM_ACTOR } from "../domain/alerts/lifecycle.ts";
import type { ContactMethod, DirectoryUser, UserDirectory } from "../domain/directory/model.ts";
import type { DeliveryMessageKind } from "../domain/notifications/model.ts";
import {
  type PlannedDelivery,
  type PlanningOptions,
  planChannelNotification,
  planUserNotification,
} from "../domain/notifications/plan.ts";
import type { AppContext } from "./context.ts";
import type { DeliveryBaseDeps } from "./delivery-runtime.ts";
import type { EffectHandler } from "./effects.ts";

// Planning: an escalation step's notifications become delivery records (a user's rules over their
// contact methods, a channel as it is), and acknowledge / resolve become status updates. These run as
// effect handlers in every Lambda that changes alerts; they never render (the sender does), so they
// stay free of the template compiler.

type DeliveryDeps = DeliveryBaseDeps;

/** The message kind of a page. */
export const PAGE: DeliveryMessageKind = "alert";
/** Notifications planned per statement. */
const planBatch = 200;
/** Actor of what the delivery pipeline writes in alert logs. */
export const deliveryActor = SYSTEM_ACTOR;
const NO_CONTACT_METHOD: AlertEventType = "no_contact_method";

// ---------------------------------------------------------------------------------------------
// Planning

/**
 * Turns the unplanned notifications of `alertIds` into deliveries: users by their rules and contact
 * methods, channels as they are; problems go to the alerts' logs. Idempotent (notifications are
 * marked planned in the same statement; delivery keys are unique). Announces what it wrote.
 */
export async function planNotifications(deps: DeliveryDeps, alertIds: readonly number[]): Promise<number> {
  let written = 0;
  for (;;) {
    const notified = await unplannedNotifications(deps.db, { alertIds, limit: planBatch });
    if (notified.length === 0) return written;
    const options: PlanningOptions = {
      slackBotTokenRef: deps.settings.slackBotTokenRef,
      maxAttempts: deps.settings.maxAttempts,
    };
    const userIds = [
      ...new Set(notified.filter((n) => n.recipient.kind === "user").map((n) => n.recipient.id)),
    ];
    const channelIds = [
      ...new Set(notified.filter((n) => n.recipient.kind === "channel").map((n) => n.recipient.id)),
    ];
    const [users, rules, methods, channels] = await Promise.all([
      userIds.length > 0 ? deps.directory.getUsers(userIds) : Promise.resolve([] as DirectoryUser[]),
      rulesOfUsers(deps.db, userIds),
      contactMethodsOf(deps.directory, userIds),
      channelIds.length > 0 ? deps.channels.getChannels(channelIds) : Promise.resolve([]),
    ]);
    const userById = new Map(users.map((u) => [u.id, u]));
    const channelById = new Map(channels.map((c) => [c.id, c]));
    const deliveries: PlannedDelivery[] = [];
    const log: DeliveryLogEntry[] = [];
    for (const n of notified) {
      const plan =
        n.recipient.kind === "user"
          ? planUserNotification(
              n,
              {
                user: userById.get(n.recipient.id),
                rules: rules.get(n.recipient.id) ?? [],
                contactMethods: methods.get(n.recipient.id) ?? [],
              },
              options,
            )
          : planChannelNotification(n, channelById.get(n.recipient.id), options);
      deliveries.push(...plan.deliveries);
      log.push(...plan.problems.map((p) => ({ ...p, type: NO_CONTACT_METHOD })));
    }
    const inserted = await recordPlan(deps.db, {
      notificationIds: notified.map((n) => n.notificationId),
      deliveries,
      log,
      actor: deliveryActor,
      now: deps.clock.now(),
    });
    for (const problem of log) logger.warn("notification without a contact method", { ...problem });
    written += inserted.length;
    await announce(deps, inserted);
    if (notified.length < planBatch) return written;
  }
}

async function contactMethodsOf(
  directory: UserDirectory,
  userIds: readonly string[],
): Promise<Map<string, ContactMethod[]>> {
  const entries = await Promise.all(
    userIds.map(async (id) => [id, await directory.contactMethods(id)] as const),
  );
  return new Map(entries);
}

export async function announce(deps: DeliveryDeps, inserted: readonly { id: number; nextAttemptAt: Date }[]) {
  if (inserted.length === 0) return;
  try {
    await deps.queue.announce(inserted.map((d) => ({ id: d.id, dueAt: d.nextAttemptAt })));
  } catch (error) {
    // The rows are written: the sender's polling (embedded) or housekeeping (AWS) finds them.
    logger.warn("could not announce deliveries; they go out when found", { error: error as Error });
  }
}

// ---------------------------------------------------------------------------------------------
// Status updates

/**
 * After alerts were acknowledged or resolved: their pending pages are suppressed (rule delays and
 * retries that had not gone yet), and those who were paged and opted in get one status update per
 * contact method they were paged on.
 */
export async function sendStatusUpdates(deps: DeliveryDeps, alertIds: readonly number[]): Promise<number> {
  const now = deps.clock.now();
  await suppressPendingPages(deps.db, {
    alertIds,
    pageKind: PAGE,
    reason: "the alert was acknowledged or resolved",
    now,
  });
  const planned: PlannedDelivery[] = [];
  for (const alertId of alertIds) {
    const event = await latestAlertEvent(deps.db, { alertId, types: ["acknowledged", "resolved"] });
    if (!event) continue;
    const action = event.type === "resolved" ? "resolved" : "acknowledged";
    const paged = await pagedDestinations(deps.db, { alertId, pageKind: PAGE });
    const optedIn = await optedInUsers(deps.db, [...new Set(paged.map((p) => p.userId))]);
    const users = new Map(
      (optedIn.size > 0 ? await deps.directory.getUsers([...optedIn]) : []).map((u) => [u.id, u]),
    );
    for (const p of paged.filter((p) => optedIn.has(p.userId))) {
      planned.push({
        idempotencyKey: [
          `alert:${alertId}`,
          `update:${action}`,
          `user:${p.userId}`,
          `cm:${p.contactMethodId}`,
        ].join("/"),
        alertId,
        notificationId: null,
        repeatCycle: null,
        stepIndex: null,
        recipientKind: "user",
        recipientId: p.userId,
        contactMethodId: p.contactMethodId,
        channelId: null,
        destination: p.destination,
        destinationKey: p.destinationKey,
        messageKind: "status_update",
        ruleDelayMinutes: 0,
        context: {
          recipient: {
            name: users.get(p.userId)?.name ?? p.userId,
            timeZone: users.get(p.userId)?.timeZone ?? "UTC",
          },
          update: { action, actor: event.actor, at: event.createdAt.toISOString(), note: event.message },
        },
        nextAttemptAt: now,
        maxAttempts: deps.settings.maxAttempts,
      });
    }
  }
  const inserted = await insertPlannedDeliveries(deps.db, { deliveries: planned, now });
  await announce(deps, inserted);
  return inserted.length;
}

/** Housekeeping: announces deliveries overdue by more than a minute (their queue message was lost). */
export async function announceOverdue(deps: DeliveryDeps, limit: number): Promise<number> {
  const overdue = await overdueDeliveries(deps.db, {
    before: new Date(deps.clock.now().getTime() - 60_000),
    limit,
  });
  await deps.queue.announce(overdue.map((d) => ({ id: d.id, dueAt: d.nextAttemptAt })));
  return overdue.length;
}

// ---------------------------------------------------------------------------------------------
// Effect handlers

/** The outbox handlers of the delivery effects. Not critical: the change stands; housekeeping retries. */
export function deliveryEffectHandlers(deps: DeliveryDeps): {
  "notifications.deliver": EffectHandler;
  "notifications.status_update": EffectHandler;
} {
  return {
    "notifications.deliver": {
      critical: false,
      async run(effects) {
        await planNotifications(deps, [...new Set(effects.flatMap((e) => e.alertIds))]);
      },
    },
    "notifications.status_update": {
      critical: false,
      async run(effects) {
        await sendStatusUpdates(deps, [...new Set(effects.flatMap((e) => e.alertIds))]);
      },
    },
  };
}

/** Planning's dependencies from an AppContext. */
export function deliveryPlanningDepsOf(
  ctx: Pick<AppContext, "database" | "clock" | "directory" | "delivery">,
): DeliveryBaseDeps {
  return { db: ctx.database.db, clock: ctx.clock, directory: ctx.directory, ...ctx.delivery };
}
