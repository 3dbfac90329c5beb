import { createHash } from "node:crypto";
import type { ContactMethod, DirectoryUser } from "../directory/model.ts";
import { destinationOfChannel } from "./channels.ts";
import { destinationOfContactMethod } from "./contact-destination.ts";
import type { DeliveryMessageKind, Destination, NotificationChannel, NotificationRule } from "./model.ts";

/**
 * Planning: what an escalation step's notification of one recipient becomes. A user's notification
 * rules (contact method + delay) over their usable contact methods (verified, enabled, deliverable)
 * give one delivery each, due at notified + delay; a channel gives one delivery, due at once. A user
 * with nothing usable is a problem the alert's log records (`no_contact_method`), never a silent skip.
 * Pure: the caller loads rules, contact methods and channels and writes the result.
 */

/** A notification row as the planner reads it. */
export interface NotifiedRecipient {
  readonly notificationId: number;
  readonly alertId: number;
  readonly repeatCycle: number;
  readonly stepIndex: number;
  readonly recipient: { readonly kind: "user" | "channel"; readonly id: string };
  /** When the step notified them: rule delays count from here. */
  readonly notifiedAt: Date;
  /** A routing rule's `notify_channel` may pin the template its message is rendered from. */
  readonly templateId?: string | undefined;
}

/** What the planner knows of a user (undefined when the directory does not know them). */
export interface RecipientUser {
  readonly user: DirectoryUser | undefined;
  readonly rules: readonly NotificationRule[];
  readonly contactMethods: readonly ContactMethod[];
}

/** Deployment settings the planner needs (Slack DMs go through the bot token, when configured). */
export interface PlanningOptions {
  /** Secret reference of the Slack bot token for DMs; undefined: Slack DMs cannot be delivered. */
  readonly slackBotTokenRef?: string | undefined;
  /** Secret reference that signs deliveries to personal webhooks. */
  readonly webhookSigningSecretRef?: string | undefined;
  readonly maxAttempts: number;
}

/** The render context's parts known at planning time (the alert itself is read when sending). */
export interface PlannedContext {
  readonly recipient: { readonly name: string; readonly timeZone: string };
  readonly escalation?: { readonly step: number; readonly pass: number } | undefined;
}

export interface PlannedDelivery {
  readonly idempotencyKey: string;
  readonly alertId: number | null;
  readonly notificationId: number | null;
  readonly repeatCycle: number | null;
  readonly stepIndex: number | null;
  readonly recipientKind: "user" | "channel" | "external";
  readonly recipientId: string;
  readonly contactMethodId: string | null;
  readonly channelId: string | null;
  readonly destination: Destination;
  readonly destinationKey: string;
  readonly messageKind: DeliveryMessageKind;
  readonly ruleDelayMinutes: number;
  readonly context: PlannedContext | Readonly<Record<string, unknown>>;
  readonly nextAttemptAt: Date;
  readonly maxAttempts: number;
  /** Fixed at planning (SendNotification names its template); otherwise chosen when sending. */
  readonly template?: { readonly id: string; readonly version: number } | undefined;
}

export interface PlanProblem {
  readonly alertId: number;
  readonly type: "no_contact_method";
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface NotificationPlan {
  readonly deliveries: readonly PlannedDelivery[];
  readonly problems: readonly PlanProblem[];
}

/**
 * The throttle's key of a destination: its kind and a digest of where it points (a number, an
 * address, a URL), so that two contact methods of one number share one cap and no URL (Slack
 * webhook URLs are secrets) is repeated in an index.
 */
export function destinationKey(destination: Destination): string {
  const where = { ...destination } as Record<string, unknown>;
  delete where.signingSecretRef;
  delete where.botTokenRef;
  const digest = createHash("sha256").update(JSON.stringify(where)).digest("base64url").slice(0, 22);
  return `${destination.kind}:${digest}`;
}

/** What every page key starts with, before its alert's id (pageKey). */
const alertKeyHead = "alert:";

/**
 * A page key of `alertId` split around that id: `head + alertId + tail` is the key. A statement
 * that learns an alert's id only as it writes the alert (the ingest statement) writes the keys of a
 * planned delivery that way (adapters/db/stores/escalations.ts).
 */
export function pageKeyAround(key: string, alertId: number): { head: string; tail: string } {
  const head = `${alertKeyHead}${alertId}`;
  if (!key.startsWith(`${head}/`)) throw new Error(`not a page key of alert ${alertId}: ${key}`);
  return { head: alertKeyHead, tail: key.slice(head.length) };
}

/** The idempotency key of a page: unique per alert, pass, step, recipient, destination and kind. */
export function pageKey(input: {
  alertId: number;
  repeatCycle: number;
  stepIndex: number;
  recipient: { kind: string; id: string };
  destination: string;
  messageKind: DeliveryMessageKind;
}): string {
  return [
    `${alertKeyHead}${input.alertId}`,
    `pass:${input.repeatCycle}`,
    `step:${input.stepIndex}`,
    `${input.recipient.kind}:${input.recipient.id}`,
    input.destination,
    input.messageKind,
  ].join("/");
}

const minuteMs = 60_000;

/** The rules that apply: the user's own, or (a user without any rule) each usable contact method at once. */
function effectiveRules(user: RecipientUser): { rule: NotificationRule; defaulted: boolean }[] {
  if (user.rules.length > 0) return user.rules.map((rule) => ({ rule, defaulted: false }));
  return user.contactMethods.map((cm) => ({
    rule: { id: `default:${cm.id}`, userId: cm.userId, contactMethodId: cm.id, delayMinutes: 0 },
    defaulted: true,
  }));
}

function usable(method: ContactMethod | undefined): method is ContactMethod {
  return method?.verified === true && !method.disabled;
}

/** Deliveries of one user's notification, or the problem that none can be made. */
export function planUserNotification(
  notified: NotifiedRecipient,
  user: RecipientUser,
  options: PlanningOptions,
): NotificationPlan {
  const deliveries: PlannedDelivery[] = [];
  const skipped: string[] = [];
  const byId = new Map(user.contactMethods.map((cm) => [cm.id, cm]));
  for (const { rule } of effectiveRules(user)) {
    const method = byId.get(rule.contactMethodId);
    if (!usable(method)) {
      skipped.push(
        `${rule.contactMethodId}: ${method ? "not verified or disabled" : "no such contact method"}`,
      );
      continue;
    }
    const found = destinationOfContactMethod(method, options);
    if (!found.ok) {
      skipped.push(`${method.id}: ${found.reason}`);
      continue;
    }
    const destination = found.destination;
    deliveries.push({
      idempotencyKey: pageKey({
        alertId: notified.alertId,
        repeatCycle: notified.repeatCycle,
        stepIndex: notified.stepIndex,
        recipient: notified.recipient,
        destination: `cm:${method.id}+${rule.delayMinutes}m`,
        messageKind: "alert",
      }),
      alertId: notified.alertId,
      notificationId: notified.notificationId,
      repeatCycle: notified.repeatCycle,
      stepIndex: notified.stepIndex,
      recipientKind: "user",
      recipientId: notified.recipient.id,
      contactMethodId: method.id,
      channelId: null,
      destination,
      destinationKey: destinationKey(destination),
      messageKind: "alert",
      ruleDelayMinutes: rule.delayMinutes,
      context: {
        recipient: { name: user.user?.name ?? notified.recipient.id, timeZone: user.user?.timeZone ?? "UTC" },
        escalation: { step: notified.stepIndex + 1, pass: notified.repeatCycle + 1 },
      },
      nextAttemptAt: new Date(notified.notifiedAt.getTime() + rule.delayMinutes * minuteMs),
      maxAttempts: options.maxAttempts,
    });
  }
  if (deliveries.length > 0) return { deliveries, problems: [] };
  const why = !user.user
    ? "is not in the directory"
    : user.contactMethods.length === 0
      ? "has no contact method"
      : "has no usable notification rule";
  return {
    deliveries: [],
    problems: [
      {
        alertId: notified.alertId,
        type: "no_contact_method",
        message: `${notified.recipient.id} ${why}: nobody was paged through them`,
        data: {
          userId: notified.recipient.id,
          stepIndex: notified.stepIndex,
          repeatCycle: notified.repeatCycle,
          ...(skipped.length > 0 ? { skipped } : {}),
        },
      },
    ],
  };
}

/** The delivery of a channel's notification (one), or the problem that the channel is gone. */
export function planChannelNotification(
  notified: NotifiedRecipient,
  channel: NotificationChannel | undefined,
  options: PlanningOptions,
): NotificationPlan {
  if (!channel) {
    return {
      deliveries: [],
      problems: [
        {
          alertId: notified.alertId,
          type: "no_contact_method",
          message: `channel ${notified.recipient.id} does not exist: nothing was posted`,
          data: { channelId: notified.recipient.id, stepIndex: notified.stepIndex },
        },
      ],
    };
  }
  const destination = destinationOfChannel(channel);
  return {
    deliveries: [
      {
        idempotencyKey: pageKey({
          alertId: notified.alertId,
          repeatCycle: notified.repeatCycle,
          stepIndex: notified.stepIndex,
          recipient: notified.recipient,
          destination: `channel:${channel.id}`,
          messageKind: "alert",
        }),
        alertId: notified.alertId,
        notificationId: notified.notificationId,
        repeatCycle: notified.repeatCycle,
        stepIndex: notified.stepIndex,
        recipientKind: "channel",
        recipientId: channel.id,
        contactMethodId: null,
        channelId: channel.id,
        destination,
        destinationKey: destinationKey(destination),
        messageKind: "alert",
        ruleDelayMinutes: 0,
        // Version 0: the template's live version when the message is rendered.
        ...(notified.templateId ? { template: { id: notified.templateId, version: 0 } } : {}),
        context: {
          recipient: { name: channel.name, timeZone: "UTC" },
          escalation: { step: notified.stepIndex + 1, pass: notified.repeatCycle + 1 },
        },
        nextAttemptAt: notified.notifiedAt,
        maxAttempts: options.maxAttempts,
      },
    ],
    problems: [],
  };
}
