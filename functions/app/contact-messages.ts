import { randomUUID } from "node:crypto";
import type { ContactMethod } from "../domain/directory/model.ts";
import type {
  DeliveryProviderRegistry,
  Destination,
  DestinationKind,
  OutboundMessage,
  ProviderOutcome,
} from "../domain/notifications/model.ts";
import type { ContactMessage, ContactMessageSender } from "./directory.ts";

/**
 * The directory's own messages (verification codes, test messages) sent through the delivery
 * providers (adapters/channels/, one per destination kind). A kind without a provider, and the
 * contact method types that have no delivery path yet (voice, Teams chats), fail with the reason:
 * never a pretended success.
 *
 * @example createProviderContactSender(providers, { slackBotTokenRef: "ONCALL_SLACK_BOT_TOKEN" })
 */
export function createProviderContactSender(
  providers: Partial<DeliveryProviderRegistry>,
  options: { slackBotTokenRef?: string | undefined } = {},
): ContactMessageSender {
  return {
    async send(contactMethod, message, signal): Promise<ProviderOutcome> {
      const destination = destinationOf(contactMethod, options.slackBotTokenRef);
      if (typeof destination === "string") return { status: "failed", reason: destination };
      const provider = providers[destination.kind];
      if (!provider) {
        return {
          status: "failed",
          reason: `no ${destination.kind} provider is configured in this deployment`,
        };
      }
      const outbound: OutboundMessage = {
        idempotencyKey: `directory-${message.kind}-${contactMethod.id}-${randomUUID()}`,
        destination,
        kind: message.kind,
        parts: partsFor(destination.kind, contactMethod, message),
      };
      return provider.send(outbound, signal);
    },
  };
}

/** The destination of a contact method, or why it has none. */
export function destinationOf(cm: ContactMethod, slackBotTokenRef: string | undefined): Destination | string {
  switch (cm.type) {
    case "email":
      return { kind: "email", to: [cm.value] };
    case "sms":
      return { kind: "sms", phone: cm.value };
    case "webhook":
      return { kind: "webhook", url: cm.value };
    case "slack_dm":
      // chat.postMessage to a member id opens the direct message with the bot.
      return slackBotTokenRef
        ? { kind: "slack_chat", botTokenRef: slackBotTokenRef, channel: cm.value }
        : "Slack direct messages need a Slack bot token, and none is configured";
    case "voice":
      return "voice calls are recorded but not delivered yet";
    case "teams":
      return "Teams chats to a user are not delivered yet";
  }
}

function partsFor(kind: DestinationKind, cm: ContactMethod, message: ContactMessage): Record<string, string> {
  switch (kind) {
    case "email":
      return { subject: message.subject, text: message.text, html: `<p>${escapeHtml(message.text)}</p>` };
    case "sms":
      return { text: message.text };
    case "slack_chat":
    case "slack_webhook":
      return {
        text: message.text,
        blocks: JSON.stringify({
          blocks: [{ type: "section", text: { type: "plain_text", text: message.text } }],
        }),
      };
    case "teams_webhook":
      return {
        card: JSON.stringify({
          type: "AdaptiveCard",
          version: "1.4",
          body: [{ type: "TextBlock", text: message.text, wrap: true }],
        }),
      };
    case "webhook":
      return {
        body: JSON.stringify({
          kind: message.kind,
          text: message.text,
          contact_method_id: cm.id,
          user_id: cm.userId,
        }),
      };
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
