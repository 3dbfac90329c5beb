import { DomainError, ValidationError } from "../errors.ts";
import type { ChannelConfig, ChannelType, Destination, NotificationChannel } from "./model.ts";
import { type OutboundUrlRules, parseOutboundUrl } from "./outbound-url.ts";

/**
 * The rules of a channel's configuration, checked when it is saved. Field names are the API's
 * (`channel.config.slack.webhook_url`), given by the caller as `prefix`. Secrets are references
 * whose form the secret store decides (`checkSecretRef`): an environment variable name embedded, a
 * Secrets Manager id on AWS.
 */

export const MAX_CHANNEL_NAME_LENGTH = 200;
export const MAX_EMAIL_ADDRESSES = 50;
/** RFC 5321: 254 characters in a forward path. */
export const MAX_EMAIL_LENGTH = 254;
/** Slack channel ids (C…, G…), user ids (U…, W…) and names are short; a bound on the input. */
const SLACK_CHANNEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
/** A pragmatic address check (what SES and SMTP servers accept), not RFC 5322's full grammar. */
const EMAIL =
  /^[^\s@"<>(),;:\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export interface ChannelConfigRules extends OutboundUrlRules {
  /** The problem with a secret reference's form, or undefined when it is fine. */
  readonly checkSecretRef: (ref: string) => string | undefined;
}

export function isEmailAddress(value: string): boolean {
  return value.length <= MAX_EMAIL_LENGTH && EMAIL.test(value);
}

/**
 * The configuration as it will be stored (trimmed, addresses lower-cased and deduplicated), or a
 * ValidationError naming the field. `prefix` ends with the config's own name, e.g. `channel.config`.
 */
export function checkChannelConfig(
  config: ChannelConfig,
  prefix: string,
  rules: ChannelConfigRules,
): ChannelConfig {
  const url = (value: string, field: string) => parseOutboundUrl(value, `${prefix}.${field}`, rules).href;
  const ref = (value: string, field: string) => {
    const trimmed = value.trim();
    if (trimmed === "") throw new ValidationError(`${prefix}.${field}`, "is required");
    const problem = rules.checkSecretRef(trimmed);
    if (problem) throw new ValidationError(`${prefix}.${field}`, problem);
    return trimmed;
  };
  switch (config.type) {
    case "slack": {
      if ("webhookUrl" in config)
        return { type: "slack", webhookUrl: url(config.webhookUrl, "slack.webhook_url") };
      const channelId = config.channelId.trim();
      if (!SLACK_CHANNEL.test(channelId)) {
        throw new ValidationError(
          `${prefix}.slack.channel_id`,
          "must be a Slack channel id such as C0123456789 (letters, digits, . _ -; at most 80)",
        );
      }
      return { type: "slack", botTokenRef: ref(config.botTokenRef, "slack.bot_token_ref"), channelId };
    }
    case "teams":
      return { type: "teams", webhookUrl: url(config.webhookUrl, "teams.webhook_url") };
    case "email": {
      const field = `${prefix}.email.addresses`;
      if (config.addresses.length === 0) throw new ValidationError(field, "at least one address is required");
      if (config.addresses.length > MAX_EMAIL_ADDRESSES) {
        throw new ValidationError(field, `at most ${MAX_EMAIL_ADDRESSES} addresses`);
      }
      const addresses = config.addresses.map((a, i) => {
        const address = a.trim();
        if (!isEmailAddress(address)) {
          throw new ValidationError(`${field}[${i}]`, "must be an email address such as oncall@example.com");
        }
        return address.toLowerCase();
      });
      return { type: "email", addresses: [...new Set(addresses)] };
    }
    case "webhook": {
      const checked = url(config.url, "webhook.url");
      return config.signingSecretRef === undefined || config.signingSecretRef.trim() === ""
        ? { type: "webhook", url: checked }
        : {
            type: "webhook",
            url: checked,
            signingSecretRef: ref(config.signingSecretRef, "webhook.signing_secret_ref"),
          };
    }
  }
}

/** Where a channel's messages go: the provider registry's key and what the provider needs. */
export function destinationOfChannel(channel: Pick<NotificationChannel, "config">): Destination {
  const config = channel.config;
  switch (config.type) {
    case "slack":
      return "webhookUrl" in config
        ? { kind: "slack_webhook", url: config.webhookUrl }
        : { kind: "slack_chat", botTokenRef: config.botTokenRef, channel: config.channelId };
    case "teams":
      return { kind: "teams_webhook", url: config.webhookUrl };
    case "email":
      return { kind: "email", to: config.addresses };
    case "webhook":
      return config.signingSecretRef === undefined
        ? { kind: "webhook", url: config.url }
        : { kind: "webhook", url: config.url, signingSecretRef: config.signingSecretRef };
  }
}

/** The secret references a configuration names (for audits and for redaction at send). */
export function secretRefsOf(config: ChannelConfig): string[] {
  if (config.type === "slack" && "botTokenRef" in config) return [config.botTokenRef];
  if (config.type === "webhook" && config.signingSecretRef) return [config.signingSecretRef];
  return [];
}

export function channelTypeOf(config: ChannelConfig): ChannelType {
  return config.type;
}

/** Another channel has this name (names are unique ignoring case). */
export class ChannelNameTakenError extends DomainError {
  override readonly name = "ChannelNameTakenError";
  readonly code = "already_exists";
  constructor(channelName: string) {
    super(`a channel named ${JSON.stringify(channelName)} already exists`);
  }
}

/**
 * What the delivery planner asks for: the channels with these ids (unknown ids are left out).
 * Implemented over the database by `createChannelLookup` (adapters/db/stores/notification-channels.ts).
 */
export interface ChannelLookup {
  channels(ids: readonly string[]): Promise<NotificationChannel[]>;
}
