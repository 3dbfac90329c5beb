import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import { channelsByIds } from "../adapters/db/stores/notification-channels.ts";
import type { Clock } from "../domain/clock.ts";
import type { UserDirectory } from "../domain/directory/model.ts";
import type { DeliveryProviderRegistry, NotificationChannel } from "../domain/notifications/model.ts";
import { MAX_DELIVERY_ATTEMPTS } from "../domain/notifications/retry.ts";
import type { SendSlots } from "./send-slots.ts";

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
  /** How long one provider call may take, from when it gets a send slot, before it counts as a timeout (retried). */
  readonly sendTimeoutMs: number;
  readonly maxAttempts: number;
  /**
   * The shortest lease of a claim: how long a claimed delivery is held before another sender may
   * take it. A claim made while sends are owed ahead of it is leased longer (`claimLeaseMs`).
   */
  readonly leaseMs: number;
  /** Destinations one run prepares (loads, renders) at once; their provider calls share the process's send slots. */
  readonly concurrency: number;
  readonly slackBotTokenRef?: string | undefined;
  /** The console's base URL for "Open" links; "" when unknown. */
  readonly consoleUrl: string;
}

export const defaultDeliverySettings: DeliverySettings = {
  sendTimeoutMs: 10_000,
  maxAttempts: MAX_DELIVERY_ATTEMPTS,
  leaseMs: 60_000,
  concurrency: 32,
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

/**
 * A claim's lease: long enough for the sends owed ahead of it and its own (`sends`: messages, one
 * per destination), `sendSlots` at a time, each up to `sendTimeoutMs` from its slot, plus one more
 * send's time for the database work around them;
 * never under `minLeaseMs`. A lease that ran out while a send waited for a slot would let another
 * sender (or this one) send it again.
 *
 * @example claimLeaseMs({ sends: 232, sendSlots: 32, sendTimeoutMs: 11_000, minLeaseMs: 60_000 }) // 99_000 (8 rounds + 1)
 */
export function claimLeaseMs(input: {
  sends: number;
  sendSlots: number;
  sendTimeoutMs: number;
  minLeaseMs: number;
}): number {
  const rounds = Math.ceil(Math.max(0, input.sends) / input.sendSlots);
  return Math.max(input.minLeaseMs, (rounds + 1) * input.sendTimeoutMs);
}

/** What delivery needs beside the database and the clock, as each runtime composes it. */
export interface DeliveryRuntime {
  readonly channels: ChannelLookup;
  readonly providers: DeliveryProviderRegistry;
  readonly queue: DeliveryQueue;
  readonly settings: DeliverySettings;
  /** The process's send slots (one per process: app/send-slots.ts). */
  readonly sendSlots: SendSlots;
}

/** Starts a send's timeout; returns what cancels it. Tests pass one they fire themselves. */
export type SendTimer = (ms: number, onTimeout: () => void) => () => void;

export const realSendTimer: SendTimer = (ms, onTimeout) => {
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
};

/** What planning and sending share: the database, the time, the directory and the runtime's parts. */
export interface DeliveryBaseDeps extends DeliveryRuntime {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly directory: UserDirectory;
  /** In [0, 1): the backoff's jitter (fixed in tests). */
  readonly random?: () => number;
  /** The send timeout's timer (default: setTimeout). */
  readonly sendTimer?: SendTimer;
}

/** The channels table (ChannelService manages it) as the planner's lookup. */
export function channelLookupOver(db: () => Kysely<Database>): ChannelLookup {
  return { getChannels: (ids) => channelsByIds(db(), ids) };
}
