import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import { channelsByIds } from "../adapters/db/stores/notification-channels.ts";
import type { Clock } from "../domain/clock.ts";
import type { UserDirectory } from "../domain/directory/model.ts";
import type { DeliveryProviderRegistry, NotificationChannel } from "../domain/notifications/model.ts";

// What delivery needs from each runtime, kept apart from the use cases so that a Lambda composing an
// AppContext (every one) does not bundle the planner or the renderer.

/** The channels escalation targets point at (the channels table; ChannelService manages it). */
export interface ChannelLookup {
  /** Channels by id; unknown ids are left out. */
  getChannels(ids: readonly string[]): Promise<NotificationChannel[]>;
}

/**
 * Where due deliveries are announced once written: the embedded worker wakes (or sets a timer), on
 * AWS an SQS message per delivery (DelaySeconds up to 15 minutes; housekeeping re-announces what is
 * still pending later). Announcing is a latency matter only: the table is the truth.
 */
export interface DeliveryQueue {
  announce(due: readonly { id: number; dueAt: Date }[]): Promise<void>;
}

export interface DeliverySettings {
  /** How long one provider call may take before it counts as a timeout (retried). */
  readonly sendTimeoutMs: number;
  readonly maxAttempts: number;
  /** How long a claimed delivery is held before another sender may take it (longer than a send). */
  readonly leaseMs: number;
  /** Deliveries sent at once by one sender. */
  readonly concurrency: number;
  readonly slackBotTokenRef?: string | undefined;
  /** The console's base URL for "Open" links; "" when unknown. */
  readonly consoleUrl: string;
}

export const defaultDeliverySettings: DeliverySettings = {
  sendTimeoutMs: 10_000,
  maxAttempts: 6,
  leaseMs: 60_000,
  concurrency: 16,
  consoleUrl: "",
};

/**
 * A runtime's settings from its configuration. `ONCALL_OUTBOUND_TIMEOUT_MS` bounds one send: the
 * provider's own timeout is that, and the use case's cut comes a second later (the provider's answer,
 * with its reason, first); a lease outlasts two sends, so no other sender takes a delivery mid-send.
 *
 * @example deliverySettingsFor({ outboundTimeoutMs: 10_000, consoleUrl: "" }) // sendTimeoutMs 11_000, leaseMs 60_000
 */
export function deliverySettingsFor(input: {
  outboundTimeoutMs: number;
  slackBotTokenRef?: string | undefined;
  consoleUrl: string;
}): DeliverySettings {
  const sendTimeoutMs = input.outboundTimeoutMs + 1_000;
  return {
    ...defaultDeliverySettings,
    sendTimeoutMs,
    leaseMs: Math.max(defaultDeliverySettings.leaseMs, 2 * sendTimeoutMs),
    slackBotTokenRef: input.slackBotTokenRef,
    consoleUrl: input.consoleUrl,
  };
}

/** What delivery needs beside the database and the clock, as each runtime composes it. */
export interface DeliveryRuntime {
  readonly channels: ChannelLookup;
  readonly providers: DeliveryProviderRegistry;
  readonly queue: DeliveryQueue;
  readonly settings: DeliverySettings;
}

/** What planning and sending share: the database, the time, the directory and the runtime's parts. */
export interface DeliveryBaseDeps extends DeliveryRuntime {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly directory: UserDirectory;
  /** In [0, 1): the backoff's jitter (fixed in tests). */
  readonly random?: () => number;
}

/** The channels table (ChannelService manages it) as the planner's lookup. */
export function channelLookupOver(db: () => Kysely<Database>): ChannelLookup {
  return { getChannels: (ids) => channelsByIds(db(), ids) };
}
