import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSecretsManagerResolver } from "../../functions/adapters/aws/secrets-manager-resolver.ts";
import {
  createProviderRegistry,
  type OutboundPorts,
  type ProviderDeps,
  readNotificationConfig,
} from "../../functions/adapters/channels/registry.ts";
import type { ChannelLookup, DeliveryRuntime } from "../../functions/app/delivery-runtime.ts";
import { defaultDeliverySettings } from "../../functions/app/delivery-runtime.ts";
import { createSendSlots } from "../../functions/app/send-slots.ts";
import type { ContactMethod, DirectoryUser, UserDirectory } from "../../functions/domain/directory/model.ts";
import type {
  DeliveryProvider,
  DeliveryProviderRegistry,
  DestinationKind,
  NotificationChannel,
  ProviderOutcome,
} from "../../functions/domain/notifications/model.ts";
import { TEMPLATE_CHANNEL_OF } from "../../functions/domain/notifications/model.ts";

// Test parts of the delivery pipeline: a directory and channels held in memory (the real ones are the
// `directory` and `providers` branches' work), a real HTTP receiver that records what it gets and
// answers as scripted, and a minimal JSON-over-HTTP provider for every destination kind pointing at it.

/** A directory of the given users and contact methods. */
export function createMemoryDirectory(
  users: DirectoryUser[] = [],
  methods: ContactMethod[] = [],
): UserDirectory & { users: DirectoryUser[]; methods: ContactMethod[] } {
  return {
    users,
    methods,
    getUsers: async (ids) => users.filter((u) => ids.includes(u.id)),
    searchUsers: async (query, limit) =>
      users.filter((u) => u.name.toLowerCase().includes(query.toLowerCase())).slice(0, limit),
    contactMethods: async (userId) => methods.filter((m) => m.userId === userId),
  };
}

export function createMemoryChannels(channels: NotificationChannel[] = []): ChannelLookup & {
  channels: NotificationChannel[];
} {
  return { channels, getChannels: async (ids) => channels.filter((c) => ids.includes(c.id)) };
}

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: unknown;
}

/** What the receiver answers: a status (and headers), or `hang` (never answers: a timeout). */
export type ScriptedAnswer = { status: number; headers?: Record<string, string> } | "hang";

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Answers for the next requests, in order; then 200. */
  script(...answers: ScriptedAnswer[]): void;
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number): Promise<void>;
  /** Drops the connections of the requests held by `hang` (their senders see a network error). */
  release(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const answers: ScriptedAnswer[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging = new Set<import("node:http").ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({ path: req.url ?? "/", headers: req.headers, body, json });
      for (const w of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      const answer = answers.shift() ?? { status: 200 };
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(JSON.stringify({ ok: answer.status < 300 }));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...a) => answers.push(...a),
    waitFor: (count) =>
      requests.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    release: () => {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Where a destination points, for the test provider: its URL (webhook kinds) or the receiver + kind. */
function urlOf(
  destination: Parameters<DeliveryProvider["send"]>[0]["destination"],
  fallback: string,
): string {
  switch (destination.kind) {
    case "webhook":
    case "slack_webhook":
    case "teams_webhook":
      return destination.url;
    case "email":
      return `${fallback}/email/${encodeURIComponent(destination.to.join(","))}`;
    case "sms":
      return `${fallback}/sms/${encodeURIComponent(destination.phone)}`;
    case "slack_chat":
      return `${fallback}/slack/${encodeURIComponent(destination.channel)}`;
  }
}

/**
 * A provider for every kind that POSTs the rendered parts as JSON to the destination's URL (or the
 * receiver for email/SMS/Slack chat): 2xx sent; 429 and 5xx retry (Retry-After honoured); other 4xx
 * failed; no answer in time or a network error: retry.
 */
export function createHttpTestProviders(receiverUrl: string): DeliveryProviderRegistry {
  const kinds = Object.keys(TEMPLATE_CHANNEL_OF) as DestinationKind[];
  const provider = (kind: DestinationKind): DeliveryProvider => ({
    kind,
    async send(message, signal): Promise<ProviderOutcome> {
      let response: Response;
      try {
        response = await fetch(urlOf(message.destination, receiverUrl), {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": message.idempotencyKey,
            "x-message-kind": message.kind,
          },
          body: JSON.stringify(message.parts),
          signal,
        });
      } catch (error) {
        return { status: "retry", reason: `request failed: ${(error as Error).message}` };
      }
      await response.text();
      if (response.ok) return { status: "sent", detail: `HTTP ${response.status}` };
      if (response.status === 429 || response.status >= 500) {
        const after = Number(response.headers.get("retry-after"));
        return {
          status: "retry",
          reason: `HTTP ${response.status}`,
          ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}),
        };
      }
      return { status: "failed", reason: `HTTP ${response.status}` };
    },
  });
  return Object.fromEntries(kinds.map((k) => [k, provider(k)])) as DeliveryProviderRegistry;
}

/** A DeliveryRuntime for tests. */
export function testDeliveryRuntime(
  parts: Partial<DeliveryRuntime> & Pick<DeliveryRuntime, "providers">,
): DeliveryRuntime {
  return {
    channels: createMemoryChannels(),
    queue: { announce: async () => {} },
    settings: defaultDeliverySettings,
    sendSlots: createSendSlots(),
    ...parts,
  };
}

export function user(id: string, name = id): DirectoryUser {
  return { id, name, email: `${id}@example.com`, timeZone: "Europe/Berlin" };
}

export function contactMethod(
  userId: string,
  id: string,
  type: ContactMethod["type"],
  value: string,
  options: { verified?: boolean; disabled?: boolean } = {},
): ContactMethod {
  return {
    id,
    userId,
    type,
    name: `${type} of ${userId}`,
    value,
    verified: options.verified ?? true,
    disabled: options.disabled ?? false,
  };
}

/**
 * The outbound ports as on AWS (no local URLs, Secrets Manager's reference rules, nothing read while
 * saving), with DNS answered from a table: a public name and one that resolves to a private address.
 */
export function createAwsOutboundForTests(deps: Pick<ProviderDeps, "db" | "clock">): OutboundPorts {
  const dns: Record<string, { address: string; family: number }[]> = {
    "hooks.example.com": [{ address: "93.184.216.34", family: 4 }],
    "intranet.example.com": [{ address: "10.20.30.40", family: 4 }],
  };
  return createProviderRegistry(readNotificationConfig({ ONCALL_EMAIL_FROM: "oncall@example.com" }, "aws"), {
    ...deps,
    secrets: createSecretsManagerResolver({
      client: async () => {
        throw new Error("no Secrets Manager in this test");
      },
    }),
    lookup: async (host) => {
      const found = dns[host];
      if (!found) throw new Error("ENOTFOUND");
      return found;
    },
  });
}
