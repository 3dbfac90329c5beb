import {
  type DeliveryLogEntry,
  insertPlannedDeliveries,
  latestAlertEvent,
  optedInUsers,
  overdueDeliveries,
  pagedDestinations,
  recipientsVersion,
  recordPlan,
  rulesOfUsers,
  suppressPendingPages,
  unplannedNotifications,
} from "../adapters/db/stores/deliveries.ts";
import { FIRST_STEP_PLACEHOLDER_ID, type FirstStep } from "../adapters/db/stores/escalations.ts";
import { logger } from "../adapters/observability.ts";
import { type AlertEventType, type OwedEffect, SYSTEM_ACTOR } from "../domain/alerts/lifecycle.ts";
import type { ContactMethod, DirectoryUser, UserDirectory } from "../domain/directory/model.ts";
import type { DeliveryMessageKind } from "../domain/notifications/model.ts";
import {
  type NotifiedRecipient,
  type PlannedDelivery,
  type PlanningOptions,
  type PlanProblem,
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
    const { deliveries, problems } = planEach(notified, await loadRecipients(deps, notified), options);
    const log: DeliveryLogEntry[] = problems.map((p) => ({ ...p, type: NO_CONTACT_METHOD }));
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

/** The users (their directory entry, rules and contact methods) and channels `notified` names. */
async function loadRecipients(deps: DeliveryDeps, notified: readonly Pick<NotifiedRecipient, "recipient">[]) {
  const ids = (kind: "user" | "channel") => [
    ...new Set(notified.filter((n) => n.recipient.kind === kind).map((n) => n.recipient.id)),
  ];
  const userIds = ids("user");
  const channelIds = ids("channel");
  const [users, rules, methods, channels] = await Promise.all([
    userIds.length > 0 ? deps.directory.getUsers(userIds) : Promise.resolve([] as DirectoryUser[]),
    rulesOfUsers(deps.db, userIds),
    contactMethodsOf(deps.directory, userIds),
    channelIds.length > 0 ? deps.channels.getChannels(channelIds) : Promise.resolve([]),
  ]);
  return {
    users: new Map(users.map((u) => [u.id, u])),
    rules,
    methods,
    channels: new Map(channels.map((c) => [c.id, c])),
  };
}

/** Each notification's plan over the recipients loadRecipients read. */
function planEach(
  notified: readonly NotifiedRecipient[],
  recipients: Awaited<ReturnType<typeof loadRecipients>>,
  options: PlanningOptions,
): { deliveries: PlannedDelivery[]; problems: PlanProblem[] } {
  const deliveries: PlannedDelivery[] = [];
  const problems: PlanProblem[] = [];
  for (const n of notified) {
    const plan =
      n.recipient.kind === "user"
        ? planUserNotification(
            n,
            {
              user: recipients.users.get(n.recipient.id),
              rules: recipients.rules.get(n.recipient.id) ?? [],
              contactMethods: recipients.methods.get(n.recipient.id) ?? [],
            },
            options,
          )
        : planChannelNotification(n, recipients.channels.get(n.recipient.id), options);
    deliveries.push(...plan.deliveries);
    problems.push(...plan.problems);
  }
  return { deliveries, problems };
}

/** Recipients (users and channels) a process remembers at most: all forgotten at once when full. */
const maxRememberedRecipients = 10_000;

type Recipients = Awaited<ReturnType<typeof loadRecipients>>;

/**
 * Plans the deliveries of first steps before the statement that records the steps with their alerts
 * (issue 10: planning after it cost a read of the notifications and a write, ~15 ms per 100 alerts
 * on PGlite): each step's notifications planned once, for the placeholder alert, as of `now` (the
 * statement's time, when the notifications are made); the statement writes them per alert. A step
 * whose recipients cannot be read now is left as it was (planned after the statement, by the
 * `notifications.deliver` effect it then owes).
 *
 * With a directory in the database, the recipients read are remembered with the recipients version
 * read before them, and the statement writes the plan only if the version is still that one (any
 * write to users, contact methods, rules or channels bumps it); else it owes the effect as above,
 * and `forget` drops what was remembered (the caller sees that effect: `firstStepsUnplanned`).
 * A table planning comes to read must get the same bumping trigger (migration T0700), or plans
 * made from what this remembers go stale without the statement noticing.
 */
export function createFirstStepDeliveryPlanner(deps: DeliveryDeps) {
  let remembered:
    | { version: string; recipients: Recipients; users: Set<string>; channels: Set<string> }
    | undefined;
  const forget = () => {
    remembered = undefined;
  };

  async function recipientsOf(notified: readonly NotifiedRecipient[]) {
    if (!deps.directory.inDatabase)
      return { recipients: await loadRecipients(deps, notified), version: undefined };
    const missing = notified.filter((n) =>
      n.recipient.kind === "user"
        ? !remembered?.users.has(n.recipient.id)
        : !remembered?.channels.has(n.recipient.id),
    );
    if (remembered && missing.length === 0)
      return { recipients: remembered.recipients, version: remembered.version };
    // The version first: a change after it, even one these reads see, makes the statement plan after.
    const version = await recipientsVersion(deps.db);
    const loaded = await loadRecipients(deps, remembered?.version === version ? missing : notified);
    const known = remembered?.version === version ? remembered : undefined;
    const merged: Recipients = {
      users: new Map([...(known?.recipients.users ?? []), ...loaded.users]),
      rules: new Map([...(known?.recipients.rules ?? []), ...loaded.rules]),
      methods: new Map([...(known?.recipients.methods ?? []), ...loaded.methods]),
      channels: new Map([...(known?.recipients.channels ?? []), ...loaded.channels]),
    };
    const ids = (kind: "user" | "channel") =>
      new Set([
        ...(known ? (kind === "user" ? known.users : known.channels) : []),
        ...notified.filter((n) => n.recipient.kind === kind).map((n) => n.recipient.id),
      ]);
    const next = { version, recipients: merged, users: ids("user"), channels: ids("channel") };
    remembered = next.users.size + next.channels.size <= maxRememberedRecipients ? next : undefined;
    return { recipients: merged, version };
  }

  return {
    async plan(steps: readonly FirstStep[], now: Date): Promise<FirstStep[]> {
      if (steps.length === 0) return [];
      const notifiedOf = (step: FirstStep): NotifiedRecipient[] =>
        step.plan.notifications.map((n) => ({
          notificationId: FIRST_STEP_PLACEHOLDER_ID,
          alertId: FIRST_STEP_PLACEHOLDER_ID,
          repeatCycle: step.plan.position.repeatCycle,
          stepIndex: step.plan.position.stepIndex,
          recipient: n.recipient,
          notifiedAt: now,
        }));
      let read: Awaited<ReturnType<typeof recipientsOf>>;
      try {
        read = await recipientsOf(steps.flatMap(notifiedOf));
      } catch (error) {
        forget();
        logger.warn("first step deliveries not planned ahead; planned after the step", {
          error: error as Error,
        });
        return [...steps];
      }
      const options: PlanningOptions = {
        slackBotTokenRef: deps.settings.slackBotTokenRef,
        maxAttempts: deps.settings.maxAttempts,
      };
      return steps.map((step) => {
        const planned = planEach(notifiedOf(step), read.recipients, options);
        for (const problem of planned.problems) {
          logger.warn("notification without a contact method", { ...problem, alertId: undefined });
        }
        return { ...step, deliveries: { ...planned, recipientsVersion: read.version } };
      });
    },
    forget,
  };
}

export type FirstStepDeliveryPlanner = ReturnType<typeof createFirstStepDeliveryPlanner>;

/**
 * Whether the statement left first steps' notifications to planning after it (it owes their
 * `notifications.deliver`, marked `firstStep`): their recipients changed since they were read.
 */
export function firstStepsUnplanned(effects: readonly OwedEffect[]): boolean {
  return effects.some(
    (e) =>
      e.kind === "notifications.deliver" &&
      e.attempts === 0 &&
      (e.payload as { firstStep?: unknown } | null)?.firstStep === true,
  );
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
