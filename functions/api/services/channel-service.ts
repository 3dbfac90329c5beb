import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ChannelRecord } from "../../app/channels.ts";
import * as useCases from "../../app/channels.ts";
import type { AppContext } from "../../app/context.ts";
import { ValidationError } from "../../domain/errors.ts";
import { MAX_EMAIL_ADDRESSES } from "../../domain/notifications/channels.ts";
import type { ChannelConfig, ChannelType } from "../../domain/notifications/model.ts";
import { MAX_URL_LENGTH } from "../../domain/notifications/outbound-url.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../domain/services/limits.ts";
import {
  ChannelConfigSchema,
  type ChannelService,
  ChannelType as ChannelTypeEnum,
  type ChannelConfig as ConfigMessage,
  DeliveryOutcome,
  type NotificationChannel,
  NotificationChannelSchema,
} from "../../gen/oncall/v1/channels_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isNameCursor,
  optionalText,
  pageSize,
  requireText,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

const updatable = ["name", "description", "config"] as const;
/** Longest secret reference (a Secrets Manager ARN is under 300 characters). */
const MAX_REF_LENGTH = 512;

const typeOf: Record<number, ChannelType> = {
  [ChannelTypeEnum.SLACK]: "slack",
  [ChannelTypeEnum.TEAMS]: "teams",
  [ChannelTypeEnum.EMAIL]: "email",
  [ChannelTypeEnum.WEBHOOK]: "webhook",
};

const outcomeEnum = {
  sent: DeliveryOutcome.SENT,
  retry: DeliveryOutcome.RETRY,
  failed: DeliveryOutcome.FAILED,
} as const;

/** oncall.v1.ChannelService: named destinations of escalation steps and routing rules. */
export function createChannelService(ctx: AppContext): ServiceImpl<typeof ChannelService> {
  return {
    async createChannel(req) {
      const channel = req.channel;
      if (!channel) throw new ValidationError("channel", "is required");
      const created = await useCases.createChannel(ctx, {
        name: requireText(channel.name, "channel.name", MAX_NAME_LENGTH),
        description: optionalText(channel.description, "channel.description", MAX_DESCRIPTION_LENGTH),
        config: configFrom(channel.config, "channel.config"),
      });
      return { channel: toChannelMessage(created) };
    },

    async getChannel(req) {
      return { channel: toChannelMessage(await useCases.getChannel(ctx, requireUuid(req.id, "id"))) };
    },

    async listChannels(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      let type: ChannelType | undefined;
      if (req.type !== ChannelTypeEnum.UNSPECIFIED) {
        type = typeOf[req.type];
        if (!type)
          throw new ValidationError(
            "type",
            "must be a channel type (CHANNEL_TYPE_SLACK … CHANNEL_TYPE_WEBHOOK)",
          );
      }
      const filters = { search, type: type ?? "" };
      const after = decodePageToken(req.pageToken, "channels", filters, isNameCursor);
      const page = await useCases.listChannels(ctx, { type, search, limit: pageSize(req.pageSize), after });
      return {
        channels: page.channels.map(toChannelMessage),
        nextPageToken: page.next ? encodePageToken("channels", page.next, filters) : "",
      };
    },

    async updateChannel(req) {
      const channel = req.channel;
      if (!channel) throw new ValidationError("channel", "is required");
      const id = requireUuid(channel.id, "channel.id");
      const mask = readUpdateMask(req.updateMask, updatable);
      const patch: Parameters<typeof useCases.updateChannel>[2] = {};
      if (mask.has("name"))
        patch.name = requireText(channel.name, "channel.name", MAX_NAME_LENGTH, mask.required);
      if (mask.has("description")) {
        patch.description = optionalText(channel.description, "channel.description", MAX_DESCRIPTION_LENGTH);
      }
      if (mask.has("config")) patch.config = configFrom(channel.config, "channel.config");
      return { channel: toChannelMessage(await useCases.updateChannel(ctx, id, patch)) };
    },

    async deleteChannel(req) {
      await useCases.deleteChannel(ctx, requireUuid(req.id, "id"));
      return {};
    },

    async testChannel(req) {
      const outcome = await useCases.testChannel(ctx, requireUuid(req.id, "id"));
      return {
        outcome: outcomeEnum[outcome.status],
        detail: outcome.status === "sent" ? (outcome.detail ?? "") : outcome.reason,
        providerMessageId: outcome.status === "sent" ? (outcome.providerMessageId ?? "") : "",
        retryAfterMs: BigInt(outcome.status === "retry" ? (outcome.retryAfterMs ?? 0) : 0),
      };
    },
  };
}

/** Bounded strings; the rules (URL form, reference form, addresses) are the domain's. */
function bounded(value: string, field: string, max: number): string {
  if (value.length > max) throw new ValidationError(field, `must be at most ${max} characters`);
  return value;
}

function configFrom(message: ConfigMessage | undefined, field: string): ChannelConfig {
  const kind = message?.kind;
  switch (kind?.case) {
    case "slack": {
      const { webhookUrl, botTokenRef, channelId } = kind.value;
      const f = `${field}.slack`;
      if (webhookUrl !== "" && (botTokenRef !== "" || channelId !== "")) {
        throw new ValidationError(
          `${f}.webhook_url`,
          "set either webhook_url or bot_token_ref and channel_id, not both",
        );
      }
      if (webhookUrl !== "")
        return { type: "slack", webhookUrl: bounded(webhookUrl, `${f}.webhook_url`, MAX_URL_LENGTH) };
      if (botTokenRef === "" && channelId === "") {
        throw new ValidationError(`${f}.webhook_url`, "is required (or bot_token_ref and channel_id)");
      }
      if (channelId === "") throw new ValidationError(`${f}.channel_id`, "is required with bot_token_ref");
      return {
        type: "slack",
        botTokenRef: bounded(botTokenRef, `${f}.bot_token_ref`, MAX_REF_LENGTH),
        channelId: bounded(channelId, `${f}.channel_id`, 200),
      };
    }
    case "teams":
      return {
        type: "teams",
        webhookUrl: bounded(kind.value.webhookUrl, `${field}.teams.webhook_url`, MAX_URL_LENGTH),
      };
    case "email": {
      const addresses = kind.value.addresses;
      if (addresses.length > MAX_EMAIL_ADDRESSES) {
        throw new ValidationError(`${field}.email.addresses`, `at most ${MAX_EMAIL_ADDRESSES} addresses`);
      }
      return {
        type: "email",
        addresses: addresses.map((a, i) => bounded(a, `${field}.email.addresses[${i}]`, 320)),
      };
    }
    case "webhook": {
      const { url, signingSecretRef } = kind.value;
      const checkedUrl = bounded(url, `${field}.webhook.url`, MAX_URL_LENGTH);
      return signingSecretRef === ""
        ? { type: "webhook", url: checkedUrl }
        : {
            type: "webhook",
            url: checkedUrl,
            signingSecretRef: bounded(
              signingSecretRef,
              `${field}.webhook.signing_secret_ref`,
              MAX_REF_LENGTH,
            ),
          };
    }
    default:
      throw new ValidationError(field, "is required: choose slack, teams, email or webhook");
  }
}

function toConfigMessage(config: ChannelConfig): ConfigMessage {
  switch (config.type) {
    case "slack":
      return create(ChannelConfigSchema, {
        kind: {
          case: "slack",
          value:
            "webhookUrl" in config
              ? { webhookUrl: config.webhookUrl }
              : { botTokenRef: config.botTokenRef, channelId: config.channelId },
        },
      });
    case "teams":
      return create(ChannelConfigSchema, {
        kind: { case: "teams", value: { webhookUrl: config.webhookUrl } },
      });
    case "email":
      return create(ChannelConfigSchema, {
        kind: { case: "email", value: { addresses: [...config.addresses] } },
      });
    case "webhook":
      return create(ChannelConfigSchema, {
        kind: {
          case: "webhook",
          value: { url: config.url, signingSecretRef: config.signingSecretRef ?? "" },
        },
      });
  }
}

export function toChannelMessage(channel: ChannelRecord): NotificationChannel {
  return create(NotificationChannelSchema, {
    id: channel.id,
    name: channel.name,
    description: channel.description,
    config: toConfigMessage(channel.config),
    createTime: timestampFromDate(channel.createdAt),
    updateTime: timestampFromDate(channel.updatedAt),
  });
}
