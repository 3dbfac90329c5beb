import { randomUUID } from "node:crypto";
import {
  type ChannelCursor,
  type ChannelRecord,
  type ChannelWriteOutcome,
  createChannel as storeCreate,
  deleteChannel as storeDelete,
  getChannel as storeGet,
  listChannels as storeList,
  updateChannel as storeUpdate,
} from "../adapters/db/stores/notification-channels.ts";
import { logger } from "../adapters/observability.ts";
import { NotFoundError, PreconditionError } from "../domain/errors.ts";
import {
  ChannelNameTakenError,
  checkChannelConfig,
  destinationOfChannel,
} from "../domain/notifications/channels.ts";
import type { ChannelConfig, ChannelType, ProviderOutcome } from "../domain/notifications/model.ts";
import { testMessage } from "../domain/notifications/test-message.ts";
import type { AppContext } from "./context.ts";

/** Store records the RPC layer maps to proto (it reaches the store only through this module). */
export type { ChannelCursor, ChannelRecord };

// Channel use cases. The RPC layer checks each field's presence and length; the configuration's
// rules (URL form, secret reference form, addresses) are the domain's (checkChannelConfig), and where
// a URL's host may point is the outbound guard's (DNS at save on AWS, again at every send).

export type ChannelDeps = Pick<AppContext, "database" | "clock" | "outbound">;

/** Longest a TestChannel send may take, whatever the provider's own bounds. */
const TEST_SEND_TIMEOUT_MS = 15_000;

/** The configuration as it will be stored, or a ValidationError naming the field under `prefix`. */
async function checkConfig(deps: ChannelDeps, config: ChannelConfig, prefix: string): Promise<ChannelConfig> {
  const checked = checkChannelConfig(config, prefix, {
    allowLocal: deps.outbound.guard.rules.allowLocal,
    checkSecretRef: (ref) => deps.outbound.secrets.checkRef(ref),
  });
  for (const [field, url] of urlFieldsOf(checked))
    await deps.outbound.guard.checkUrl(url, `${prefix}.${field}`);
  return checked;
}

function urlFieldsOf(config: ChannelConfig): [string, string][] {
  switch (config.type) {
    case "slack":
      return "webhookUrl" in config ? [["slack.webhook_url", config.webhookUrl]] : [];
    case "teams":
      return [["teams.webhook_url", config.webhookUrl]];
    case "webhook":
      return [["webhook.url", config.url]];
    case "email":
      return [];
  }
}

function channelOf(result: ChannelWriteOutcome, id: string, name: string | undefined): ChannelRecord {
  if (result.outcome === "not_found") throw new NotFoundError("channel", id);
  if (result.outcome === "name_taken") throw new ChannelNameTakenError(name ?? "");
  return result.channel;
}

export async function createChannel(
  deps: ChannelDeps,
  input: { name: string; description: string; config: ChannelConfig },
): Promise<ChannelRecord> {
  const config = await checkConfig(deps, input.config, "channel.config");
  const result = await storeCreate(deps.database.db, { ...input, config, now: deps.clock.now() });
  return channelOf(result, "", input.name);
}

export async function getChannel(deps: ChannelDeps, id: string): Promise<ChannelRecord> {
  const channel = await storeGet(deps.database.db, id);
  if (!channel) throw new NotFoundError("channel", id);
  return channel;
}

export function listChannels(
  deps: ChannelDeps,
  input: { type?: ChannelType | undefined; search: string; limit: number; after?: ChannelCursor | undefined },
) {
  return storeList(deps.database.db, input);
}

export async function updateChannel(
  deps: ChannelDeps,
  id: string,
  patch: { name?: string | undefined; description?: string | undefined; config?: ChannelConfig | undefined },
): Promise<ChannelRecord> {
  const config = patch.config && (await checkConfig(deps, patch.config, "channel.config"));
  const result = await storeUpdate(deps.database.db, id, { ...patch, config }, deps.clock.now());
  return channelOf(result, id, patch.name);
}

export async function deleteChannel(deps: ChannelDeps, id: string): Promise<void> {
  const result = await storeDelete(deps.database.db, id);
  if (result.outcome === "not_found") throw new NotFoundError("channel", id);
  if (result.outcome === "in_use") {
    throw new PreconditionError(
      `channel ${id} is a target of ${result.usedBy.join(", ")}; remove it from those steps and rules first`,
    );
  }
}

/**
 * Sends the fixed test message through the channel's provider, once, and returns what the provider
 * answered (a refusal is an answer, not an error). Nothing is recorded: a test is not a delivery.
 */
export async function testChannel(deps: ChannelDeps, id: string): Promise<ProviderOutcome> {
  const channel = await getChannel(deps, id);
  const destination = destinationOfChannel(channel);
  const message = testMessage({
    destination,
    subject: `channel ${JSON.stringify(channel.name)}`,
    idempotencyKey: `test:channel:${channel.id}:${randomUUID()}`,
    now: deps.clock.now(),
  });
  const outcome = await deps.outbound.providers[destination.kind].send(
    message,
    AbortSignal.timeout(TEST_SEND_TIMEOUT_MS),
  );
  // Reasons carry no secret values (providers redact them) and no URL paths: safe to log.
  logger.info("channel test message", { channelId: channel.id, destination: destination.kind, ...outcome });
  return outcome;
}
