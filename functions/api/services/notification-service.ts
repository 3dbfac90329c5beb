import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import {
  createNotificationUseCases,
  type DeliveryRecord,
  MAX_SEND_CONTEXT_BYTES,
  MAX_SEND_DESTINATIONS,
} from "../../app/notifications.ts";
import { ValidationError } from "../../domain/errors.ts";
import type { Destination, DeliveryStatus as StatusName } from "../../domain/notifications/model.ts";
import { MAX_URL_LENGTH } from "../../domain/notifications/outbound-url.ts";
import {
  type Delivery,
  DeliveryStatus,
  type Destination as DestinationMessage,
  type NotificationRule,
  type NotificationService,
} from "../../gen/oncall/v1/notifications_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalDate,
  optionalTimestamp,
  pageSize,
  principalOf,
  requireId,
  requireRef,
  requireText,
  requireUserId,
  requireUuid,
} from "../request-validation.ts";

const statusEnum: Record<StatusName, DeliveryStatus> = {
  pending: DeliveryStatus.PENDING,
  sending: DeliveryStatus.SENDING,
  sent: DeliveryStatus.SENT,
  failed: DeliveryStatus.FAILED,
  suppressed: DeliveryStatus.SUPPRESSED,
};
const statusOf = Object.fromEntries(Object.entries(statusEnum).map(([name, n]) => [n, name])) as Record<
  number,
  StatusName
>;

const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,63}$/;

/** oncall.v1.NotificationService: deliveries, notification rules, and SendNotification for other systems. */
export function createNotificationService(ctx: AppContext): ServiceImpl<typeof NotificationService> {
  const notifications = createNotificationUseCases(ctx);

  /** A destination URL's presence and length; its form and address are the use case's (the outbound guard's). */
  const requireUrl = (value: string, field: string): string => requireText(value, field, MAX_URL_LENGTH);

  const destinationFrom = (d: DestinationMessage, field: string): Destination => {
    switch (d.kind.case) {
      case "email": {
        if (d.kind.value.to.length === 0 || d.kind.value.to.length > 50) {
          throw new ValidationError(`${field}.email.to`, "must list 1 to 50 addresses");
        }
        d.kind.value.to.forEach((to, i) => {
          if (!EMAIL.test(to))
            throw new ValidationError(`${field}.email.to[${i}]`, "is not an email address");
        });
        return { kind: "email", to: d.kind.value.to };
      }
      case "sms":
        if (!E164.test(d.kind.value.phone)) {
          throw new ValidationError(`${field}.sms.phone`, "must be an E.164 number such as +4915112345678");
        }
        return { kind: "sms", phone: d.kind.value.phone };
      case "slackWebhook":
        return { kind: "slack_webhook", url: requireUrl(d.kind.value.url, `${field}.slack_webhook.url`) };
      case "teamsWebhook":
        return { kind: "teams_webhook", url: requireUrl(d.kind.value.url, `${field}.teams_webhook.url`) };
      case "webhook": {
        const url = requireUrl(d.kind.value.url, `${field}.webhook.url`);
        return d.kind.value.signingSecretRef
          ? {
              kind: "webhook",
              url,
              signingSecretRef: requireRef(
                d.kind.value.signingSecretRef,
                `${field}.webhook.signing_secret_ref`,
                "secret",
              ),
            }
          : { kind: "webhook", url };
      }
      default:
        throw new ValidationError(field, "names no destination");
    }
  };

  return {
    async sendNotification(req, context) {
      const idempotencyKey = requireText(req.idempotencyKey, "idempotency_key", 200);
      const templateId = requireText(req.templateId, "template_id", 200);
      if (req.templateVersion < 0) throw new ValidationError("template_version", "must not be negative");
      if (req.destinations.length === 0 || req.destinations.length > MAX_SEND_DESTINATIONS) {
        throw new ValidationError("destinations", `must list 1 to ${MAX_SEND_DESTINATIONS} destinations`);
      }
      if (Buffer.byteLength(req.contextJson, "utf8") > MAX_SEND_CONTEXT_BYTES) {
        throw new ValidationError("context_json", `must be at most ${MAX_SEND_CONTEXT_BYTES} bytes`);
      }
      let parsed: unknown = {};
      if (req.contextJson.trim()) {
        try {
          parsed = JSON.parse(req.contextJson);
        } catch {
          throw new ValidationError("context_json", "is not valid JSON");
        }
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ValidationError("context_json", "must be a JSON object");
      }
      const destinations = req.destinations.map((d, i) => destinationFrom(d, `destinations[${i}]`));
      const deliveries = await notifications.send({
        templateId,
        templateVersion: req.templateVersion,
        context: parsed as Record<string, unknown>,
        destinations,
        idempotencyKey,
        principal: principalOf(context).id,
      });
      return { deliveries: deliveries.map(toDelivery) };
    },

    async listDeliveries(req) {
      const filters = {
        alertId: req.alertId === 0n ? undefined : requireId(req.alertId, "alert_id"),
        recipientId:
          req.recipientId === "" ? undefined : requireRef(req.recipientId, "recipient_id", "recipient"),
        statuses: req.statuses.map((s, i) => {
          const name = statusOf[s];
          if (!name) throw new ValidationError(`statuses[${i}]`, "is not a delivery status");
          return name;
        }),
        since: optionalDate(req.since, "since"),
        until: optionalDate(req.until, "until"),
      };
      const tokenFilters = {
        ...filters,
        since: filters.since?.toISOString(),
        until: filters.until?.toISOString(),
      };
      const beforeId = decodePageToken(req.pageToken, "deliveries", tokenFilters, (v): v is number =>
        Number.isSafeInteger(v),
      );
      const page = await notifications.list({ ...filters, beforeId, limit: pageSize(req.pageSize) });
      return {
        deliveries: page.items.map(toDelivery),
        nextPageToken: page.next === undefined ? "" : encodePageToken("deliveries", page.next, tokenFilters),
      };
    },

    async getDelivery(req) {
      return { delivery: toDelivery(await notifications.get(requireId(req.id, "id"))) };
    },

    async retryDelivery(req) {
      return { delivery: toDelivery(await notifications.retry(requireId(req.id, "id"))) };
    },

    async listNotificationRules(req) {
      const { rules, statusUpdates } = await notifications.listRules(requireUserId(req.userId, "user_id"));
      return { rules: rules.map(toRule), statusUpdates };
    },

    async createNotificationRule(req) {
      const rule = await notifications.createRule({
        userId: requireUserId(req.userId, "user_id"),
        contactMethodId: requireRef(req.contactMethodId, "contact_method_id", "contact method"),
        delayMinutes: req.delayMinutes,
      });
      return { rule: toRule(rule) };
    },

    async deleteNotificationRule(req) {
      const userId = requireUserId(req.userId, "user_id");
      const id = requireUuid(req.id, "id");
      await notifications.deleteRule(userId, id);
      return {};
    },

    async setStatusUpdates(req) {
      await notifications.setStatusUpdates(requireUserId(req.userId, "user_id"), req.enabled);
      return {};
    },
  };
}

function toRule(rule: {
  id: string;
  userId: string;
  contactMethodId: string;
  delayMinutes: number;
  createdAt?: Date;
}): NotificationRule {
  return {
    $typeName: "oncall.v1.NotificationRule",
    id: rule.id,
    userId: rule.userId,
    contactMethodId: rule.contactMethodId,
    delayMinutes: rule.delayMinutes,
    createdAt: rule.createdAt ? timestampFromDate(rule.createdAt) : undefined,
  };
}

function toDelivery(d: DeliveryRecord): Delivery {
  return {
    $typeName: "oncall.v1.Delivery",
    id: BigInt(d.id),
    idempotencyKey: d.idempotencyKey,
    alertId: BigInt(d.alertId ?? 0),
    stepIndex: d.stepIndex ?? 0,
    repeatCycle: d.repeatCycle ?? 0,
    recipientKind: d.recipientKind,
    recipientId: d.recipientId,
    contactMethodId: d.contactMethodId ?? "",
    channelId: d.channelId ?? "",
    destinationKind: d.destinationKind,
    messageKind: d.messageKind,
    ruleDelayMinutes: d.ruleDelayMinutes,
    templateId: d.templateId ?? "",
    templateVersion: d.templateVersion ?? 0,
    status: statusEnum[d.status],
    attempts: d.attempts,
    maxAttempts: d.maxAttempts,
    providerAnswer: d.providerAnswer ?? "",
    bundledInto: BigInt(d.bundledInto ?? 0),
    nextAttemptAt: optionalTimestamp(d.nextAttemptAt),
    sentAt: optionalTimestamp(d.sentAt),
    createdAt: optionalTimestamp(d.createdAt),
    updatedAt: optionalTimestamp(d.updatedAt),
  };
}
