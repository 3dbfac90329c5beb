import { createHash } from "node:crypto";
import type { OutboundPorts } from "../adapters/channels/registry.ts";
import {
  createRule,
  type DeliveryFilter,
  type DeliveryRecord,
  deleteRule,
  deliveriesByKeys,
  getDelivery,
  insertPlannedDeliveries,
  listDeliveries,
  retryFailedDelivery,
  rulesOfUsers,
  setStatusUpdatesOptIn,
  statusUpdatesOptIn,
} from "../adapters/db/stores/deliveries.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import type { Destination, NotificationRule } from "../domain/notifications/model.ts";
import { destinationKey, type PlannedDelivery } from "../domain/notifications/plan.ts";
import { checkDelayMinutes, MAX_RULES_PER_USER } from "../domain/notifications/rules.ts";
import type { AppContext } from "./context.ts";
import { deliveryDepsOf } from "./deliveries.ts";

/** Store records the RPC layer maps to proto. */
export type { DeliveryFilter, DeliveryRecord };

/** Destinations of one SendNotification at most, and the largest context it may carry. */
export const MAX_SEND_DESTINATIONS = 20;
export const MAX_SEND_CONTEXT_BYTES = 64 * 1024;

/**
 * The NotificationService's use cases: notification rules per user (the contact method must be the
 * user's, per the directory), the status-update opt-in, deliveries (list, get, retry a failed one)
 * and SendNotification for other systems.
 */
export function createNotificationUseCases(
  ctx: Pick<AppContext, "database" | "clock" | "directory" | "delivery" | "outbound">,
) {
  const db = () => ctx.database.db;

  return {
    async listRules(userId: string): Promise<{ rules: NotificationRule[]; statusUpdates: boolean }> {
      const [rules, statusUpdates] = await Promise.all([
        rulesOfUsers(db(), [userId]),
        statusUpdatesOptIn(db(), userId),
      ]);
      return { rules: rules.get(userId) ?? [], statusUpdates };
    },

    async createRule(input: { userId: string; contactMethodId: string; delayMinutes: number }) {
      const delayMinutes = checkDelayMinutes(input.delayMinutes, "delay_minutes");
      const [user] = await ctx.directory.getUsers([input.userId]);
      if (!user) throw new ValidationError("user_id", `no user ${input.userId} in the directory`);
      const methods = await ctx.directory.contactMethods(input.userId);
      if (!methods.some((m) => m.id === input.contactMethodId)) {
        throw new ValidationError("contact_method_id", `is not a contact method of user ${input.userId}`);
      }
      const result = await createRule(db(), {
        userId: input.userId,
        contactMethodId: input.contactMethodId,
        delayMinutes,
        maxRules: MAX_RULES_PER_USER,
        now: ctx.clock.now(),
      });
      if (result.outcome === "too_many") {
        throw new PreconditionError(`user ${input.userId} has ${MAX_RULES_PER_USER} rules; delete one first`);
      }
      return result.rule;
    },

    async deleteRule(userId: string, id: string): Promise<void> {
      if (!(await deleteRule(db(), { userId, id }))) throw new NotFoundError("notification rule", id);
    },

    async setStatusUpdates(userId: string, enabled: boolean): Promise<void> {
      const [user] = await ctx.directory.getUsers([userId]);
      if (!user) throw new ValidationError("user_id", `no user ${userId} in the directory`);
      await setStatusUpdatesOptIn(db(), { userId, enabled, now: ctx.clock.now() });
    },

    list(input: DeliveryFilter & { beforeId?: number | undefined; limit: number }) {
      return listDeliveries(db(), input);
    },

    async get(id: number): Promise<DeliveryRecord> {
      const found = await getDelivery(db(), id);
      if (!found) throw new NotFoundError("delivery", String(id));
      return found;
    },

    /** A failed delivery sent again (a fresh set of attempts); failed_precondition unless it failed. */
    async retry(id: number): Promise<DeliveryRecord> {
      const retried = await retryFailedDelivery(db(), { id, now: ctx.clock.now() });
      if (!retried) {
        const found = await getDelivery(db(), id);
        if (!found) throw new NotFoundError("delivery", String(id));
        throw new PreconditionError(
          `delivery ${id} is ${found.status}; only a failed delivery can be retried`,
        );
      }
      await ctx.delivery.queue.announce([{ id, dueAt: retried.nextAttemptAt }]);
      return retried;
    },

    /**
     * Sends a template to destinations for another system: one delivery per destination, keyed by
     * the caller's idempotency key (the same key again returns the deliveries it made).
     */
    async send(input: {
      templateId: string;
      templateVersion: number;
      context: Record<string, unknown>;
      destinations: readonly Destination[];
      idempotencyKey: string;
      principal: string;
    }): Promise<DeliveryRecord[]> {
      await checkDestinations(ctx.outbound, input.destinations);
      const deps = deliveryDepsOf(ctx);
      // Resolves the template now: an unknown one is not_found before anything is written.
      const template = await deps.templates.templateById(input.templateId, input.templateVersion);
      const now = ctx.clock.now();
      const keyOf = (d: Destination) =>
        `external:${input.principal}:${input.idempotencyKey}/${createHash("sha256").update(JSON.stringify(d)).digest("base64url").slice(0, 16)}`;
      const planned: PlannedDelivery[] = input.destinations.map((destination) => ({
        idempotencyKey: keyOf(destination),
        alertId: null,
        notificationId: null,
        repeatCycle: null,
        stepIndex: null,
        recipientKind: "external",
        recipientId: input.principal,
        contactMethodId: null,
        channelId: null,
        destination,
        destinationKey: destinationKey(destination),
        messageKind: template.template.kind,
        ruleDelayMinutes: 0,
        context: input.context,
        nextAttemptAt: now,
        maxAttempts: ctx.delivery.settings.maxAttempts,
        template: { id: template.templateId, version: template.version },
      }));
      const inserted = await insertPlannedDeliveries(db(), { deliveries: planned, now });
      await ctx.delivery.queue.announce(inserted.map((i) => ({ id: i.id, dueAt: i.nextAttemptAt })));
      return deliveriesByKeys(
        db(),
        planned.map((p) => p.idempotencyKey),
      );
    },
  };
}

export type NotificationUseCases = ReturnType<typeof createNotificationUseCases>;

/**
 * The rules a channel's destination meets, for the destinations another system names: URLs by the
 * outbound guard (https; on AWS no host that is or resolves to a private, loopback or link-local
 * address), secret references in the secret store's form. Throws ValidationError naming the field
 * (`destinations[2].webhook.url`) before anything is written.
 */
async function checkDestinations(
  outbound: OutboundPorts,
  destinations: readonly Destination[],
): Promise<void> {
  for (const [i, d] of destinations.entries()) {
    const field = `destinations[${i}].${d.kind}`;
    if (d.kind === "webhook" || d.kind === "slack_webhook" || d.kind === "teams_webhook") {
      await outbound.guard.checkUrl(d.url, `${field}.url`);
    }
    if (d.kind === "webhook" && d.signingSecretRef) {
      const problem = outbound.secrets.checkRef(d.signingSecretRef);
      if (problem) throw new ValidationError(`${field}.signing_secret_ref`, problem);
    }
  }
}
