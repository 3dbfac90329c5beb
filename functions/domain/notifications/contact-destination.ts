import type { ContactMethod } from "../directory/model.ts";
import type { Destination } from "./model.ts";

/**
 * Where a person's contact method sends, as the provider registry understands it. Used by the
 * delivery planner for notification rules and by the directory for verification codes and
 * TestContactMethod.
 *
 * | contact method | destination     | needs                                                         |
 * | -------------- | --------------- | ------------------------------------------------------------- |
 * | email          | email           | —                                                             |
 * | sms            | sms             | — (E.164 checked by the directory)                            |
 * | slack_dm       | slack_chat      | the workspace bot token ref (`slackBotTokenRef`); value = the user's Slack id (U…/W…): chat.postMessage to a user id posts in the bot's DM with them |
 * | teams          | teams_webhook   | value = the https URL of a Workflows webhook that posts to the person (Teams has no bot-less DM) |
 * | webhook        | webhook         | value = https URL; signed when `webhookSigningSecretRef` is set |
 * | voice          | —               | not delivered yet (recorded only)                            |
 */
export interface ContactDestinationConfig {
  /** The Slack workspace's bot token reference (scope `chat:write`); slack_dm is undeliverable without it. */
  readonly slackBotTokenRef?: string | undefined;
  /** Secret reference that signs deliveries to personal webhooks. */
  readonly webhookSigningSecretRef?: string | undefined;
}

export type ContactDestination =
  | { readonly ok: true; readonly destination: Destination }
  | { readonly ok: false; readonly reason: string };

export function destinationOfContactMethod(
  method: Pick<ContactMethod, "type" | "value">,
  config: ContactDestinationConfig,
): ContactDestination {
  const value = method.value.trim();
  switch (method.type) {
    case "email":
      return { ok: true, destination: { kind: "email", to: [value] } };
    case "sms":
      return { ok: true, destination: { kind: "sms", phone: value } };
    case "slack_dm":
      if (!config.slackBotTokenRef) {
        return {
          ok: false,
          reason: "Slack direct messages need a workspace bot token (ONCALL_SLACK_BOT_TOKEN_REF)",
        };
      }
      return {
        ok: true,
        destination: { kind: "slack_chat", botTokenRef: config.slackBotTokenRef, channel: value },
      };
    case "teams":
      if (!/^https?:\/\//i.test(value)) {
        return { ok: false, reason: "a Teams contact method needs the https URL of a Workflows webhook" };
      }
      return { ok: true, destination: { kind: "teams_webhook", url: value } };
    case "webhook":
      return {
        ok: true,
        destination: config.webhookSigningSecretRef
          ? { kind: "webhook", url: value, signingSecretRef: config.webhookSigningSecretRef }
          : { kind: "webhook", url: value },
      };
    case "voice":
      return { ok: false, reason: "voice calls are not delivered yet" };
  }
}
