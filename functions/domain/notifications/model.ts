/**
 * Notifications leave the building here. An escalation step records one notification per recipient
 * (table `notifications`); each becomes deliveries: a user's notification rules (contact method +
 * delay) or a channel give one delivery record each, rendered from a versioned template and sent by
 * a provider. This file is the shared vocabulary of that pipeline: destinations, the provider port,
 * delivery states, notification rules and channels.
 */
import type { ContactMethodType } from "../directory/model.ts";
import type { MessageKind, Channel as TemplateChannel } from "../templates/model.ts";

/** Named destinations that escalation targets and routing rules point at by `channel_id`. */
export const CHANNEL_TYPES = ["slack", "teams", "email", "webhook"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/**
 * A channel's configuration. Secrets are references (`secretRef`: a Secrets Manager id on AWS, an
 * environment variable name embedded), never values: they stay out of records, templates and logs.
 */
export type ChannelConfig =
  | { readonly type: "slack"; readonly webhookUrl: string }
  | { readonly type: "slack"; readonly botTokenRef: string; readonly channelId: string }
  | { readonly type: "teams"; readonly webhookUrl: string }
  | { readonly type: "email"; readonly addresses: readonly string[] }
  | { readonly type: "webhook"; readonly url: string; readonly signingSecretRef?: string };

export interface NotificationChannel {
  readonly id: string;
  readonly name: string;
  readonly config: ChannelConfig;
}

/** GoAlert's model: "SMS immediately, voice after 5 minutes". Stored here by user id. */
export interface NotificationRule {
  readonly id: string;
  readonly userId: string;
  readonly contactMethodId: string;
  /** Minutes after the user is notified; 0 = at once. Never negative. */
  readonly delayMinutes: number;
}

/**
 * Where one delivery goes, resolved from a contact method or a channel at planning time. Provider
 * registry key = `kind`.
 */
export type Destination =
  | { readonly kind: "email"; readonly to: readonly string[] }
  | { readonly kind: "sms"; readonly phone: string }
  | { readonly kind: "slack_webhook"; readonly url: string }
  | { readonly kind: "slack_chat"; readonly botTokenRef: string; readonly channel: string }
  | { readonly kind: "teams_webhook"; readonly url: string }
  | { readonly kind: "webhook"; readonly url: string; readonly signingSecretRef?: string };

export type DestinationKind = Destination["kind"];

/** The template channel whose variant renders a message for each destination kind. */
export const TEMPLATE_CHANNEL_OF: Readonly<Record<DestinationKind, TemplateChannel>> = {
  email: "email",
  sms: "sms",
  slack_webhook: "slack",
  slack_chat: "slack",
  teams_webhook: "teams",
  webhook: "webhook",
};

/** Contact method types that have a delivery path today (voice is recorded, not delivered yet). */
export const DELIVERABLE_CONTACT_METHOD_TYPES: readonly ContactMethodType[] = [
  "email",
  "sms",
  "slack_dm",
  "teams",
  "webhook",
];

/** What a delivery carries: kinds of the templates issue plus the directory's own messages. */
export type DeliveryMessageKind = MessageKind | "test" | "verification";

/**
 * A rendered message, as a provider sends it: the parts of the destination's template channel
 * (`slack`: blocks + text; `teams`: card; `email`: subject + html + text; `sms`: text; `webhook`: body).
 */
export interface OutboundMessage {
  /** The delivery's idempotency key; providers that support one pass it on (webhook header, SES tag). */
  readonly idempotencyKey: string;
  readonly destination: Destination;
  readonly kind: DeliveryMessageKind;
  readonly parts: Readonly<Record<string, string>>;
}

/** What one attempt of a provider came to. */
export type ProviderOutcome =
  | { readonly status: "sent"; readonly providerMessageId?: string; readonly detail?: string }
  /** 5xx, timeout, 429, throttling: try again, after `retryAfterMs` when the provider said so. */
  | { readonly status: "retry"; readonly reason: string; readonly retryAfterMs?: number }
  /** Other 4xx, invalid destination: retrying will not help. */
  | { readonly status: "failed"; readonly reason: string };

/** One provider per destination kind (one file each under adapters/channels/). */
export interface DeliveryProvider {
  readonly kind: DestinationKind;
  /** Sends once; never throws for a provider's answer (returns it), only for programming errors. */
  send(message: OutboundMessage, signal: AbortSignal): Promise<ProviderOutcome>;
}

export type DeliveryProviderRegistry = Readonly<Record<DestinationKind, DeliveryProvider>>;

/** A delivery record's life: at-least-once, never twice for one key except across a crash mid-send. */
export const DELIVERY_STATUSES = ["pending", "sending", "sent", "failed", "suppressed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
