import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
// The fetch transport, not connect-node's: fetch is built into Node, so a Lambda loads no HTTP/2 or
// zlib module at init for a client it may never call (connect-node's static imports of node:http2,
// node:zlib cost the API ~25 ms of init CPU, measured with bench/cold-start.bench.ts).
import { createConnectTransport } from "@connectrpc/connect-web";
import type { Clock } from "../../domain/clock.ts";
import type {
  ContactMethod,
  ContactMethodType,
  DirectoryUser,
  UserDirectory,
} from "../../domain/directory/model.ts";
import { UnavailableError } from "../../domain/errors.ts";
import {
  type ContactMethod as ContactMethodMessage,
  ContactMethodType as TypeEnum,
  type User,
  UserDirectoryService,
} from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import { logger } from "../observability.ts";

/**
 * The UserDirectory port over a remote kneutral-api (ONCALL_DIRECTORY_URL), for the hot path of
 * paging: every escalation step asks who a user is and how to reach them.
 *
 * - Answers are cached for `ttlMs` (clock injected), bounded to `maxEntries` (oldest out first).
 * - Concurrent lookups of one key share one upstream call (single-flight): 100 escalations asking
 *   for one user make one request.
 * - Every upstream call has a deadline (`timeoutMs`).
 * - When the upstream fails, the last answer (up to `staleMs` old) stands in for it: for a pager an
 *   hour-old phone number beats no page. Without one, the call fails with UnavailableError.
 * - An empty answer (unknown user, no contact methods) is returned but never cached as truth: it is
 *   asked again next time, and an older non-empty answer stays as the last known good.
 */
export interface RemoteDirectoryOptions {
  transport: Transport;
  clock: Clock;
  /** How long an answer is served without asking again. Default 60 s. */
  ttlMs?: number;
  /** How old an answer may be to stand in for a failing upstream. Default 24 h. */
  staleMs?: number;
  /** One upstream call's deadline. Default 2 s. */
  timeoutMs?: number;
  /** Cached answers kept at most. Default 10,000. */
  maxEntries?: number;
}

/** At most this many ids per GetUsers call (the contract's limit). */
const MAX_IDS_PER_CALL = 100;
const MAX_ID_LENGTH = 200;

interface Entry<V> {
  value: V;
  fetchedAt: number;
  /** An empty answer came after this one: not fresh any more, still the last known good. */
  superseded: boolean;
}

export function createRemoteUserDirectory(options: RemoteDirectoryOptions): UserDirectory {
  const client: Client<typeof UserDirectoryService> = createClient(UserDirectoryService, options.transport);
  const ttlMs = options.ttlMs ?? 60_000;
  const staleMs = options.staleMs ?? 24 * 3_600_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, Entry<unknown>>();
  const inFlight = new Map<string, Promise<unknown>>();
  const now = () => options.clock.now().getTime();
  let lastStaleLog = Number.NEGATIVE_INFINITY;
  let staleSinceLog = 0;

  function remember<V>(key: string, value: V): void {
    cache.delete(key); // re-inserted last: the Map's order is the eviction order
    cache.set(key, { value, fetchedAt: now(), superseded: false });
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  }
  function fresh<V>(key: string): V | undefined {
    const entry = cache.get(key);
    if (!entry || entry.superseded || now() - entry.fetchedAt >= ttlMs) return undefined;
    return entry.value as V;
  }
  function lastKnownGood<V>(key: string): Entry<V> | undefined {
    const entry = cache.get(key) as Entry<V> | undefined;
    return entry && now() - entry.fetchedAt < staleMs ? entry : undefined;
  }
  function supersede(key: string): void {
    const entry = cache.get(key);
    if (entry) entry.superseded = true;
  }

  /** One upstream call per key at a time; later callers wait for the running one. */
  function singleFlight<V>(key: string, call: () => Promise<V>): Promise<V> {
    const running = inFlight.get(key) as Promise<V> | undefined;
    if (running) return running;
    const started = call().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  /** The upstream's answer, or the last known good one when it fails (UnavailableError without one). */
  async function withFallback<V>(key: string, what: string, load: () => Promise<V>): Promise<V> {
    try {
      return await load();
    } catch (err) {
      const stale = lastKnownGood<V>(key);
      if (!stale) {
        throw new UnavailableError(`user directory unavailable (${what}): ${describe(err)}`, { cause: err });
      }
      // One line per 10 s, not one per lookup: an outage during a storm would flood the logs.
      if (now() - lastStaleLog >= 10_000) {
        logger.warn("user directory failed; serving the last known answer", {
          what,
          ageSeconds: Math.round((now() - stale.fetchedAt) / 1000),
          error: describe(err),
          alsoServedStaleSinceLastLine: staleSinceLog,
        });
        lastStaleLog = now();
        staleSinceLog = 0;
      } else {
        staleSinceLog++;
      }
      return stale.value;
    }
  }

  /** Fetches these ids (≤ 100) in one call; caches the users found; unknown ids come back undefined. */
  async function fetchUsers(ids: readonly string[]): Promise<Map<string, DirectoryUser>> {
    const res = await client.getUsers({ ids: [...ids] }, { timeoutMs });
    const found = new Map<string, DirectoryUser>();
    for (const user of res.users) {
      if (!ids.includes(user.id)) continue; // not asked for: not ours to cache
      const mapped = toUser(user);
      found.set(user.id, mapped);
      remember(`user:${user.id}`, mapped);
    }
    for (const id of ids) if (!found.has(id)) supersede(`user:${id}`);
    return found;
  }

  return {
    async getUsers(ids) {
      // Ids the contract would refuse can name nobody; asking would fail the whole batch.
      const wanted = [...new Set(ids)].filter(
        (id) => id !== "" && id.length <= MAX_ID_LENGTH && !/\s/.test(id),
      );
      const answers = new Map<string, Promise<DirectoryUser | undefined>>();
      const toFetch: string[] = [];
      for (const id of wanted) {
        const cached = fresh<DirectoryUser>(`user:${id}`);
        if (cached) answers.set(id, Promise.resolve(cached));
        else if (inFlight.has(`user:${id}`))
          answers.set(id, inFlight.get(`user:${id}`) as Promise<DirectoryUser | undefined>);
        else toFetch.push(id);
      }
      for (let i = 0; i < toFetch.length; i += MAX_IDS_PER_CALL) {
        const chunk = toFetch.slice(i, i + MAX_IDS_PER_CALL);
        const call = fetchUsers(chunk);
        for (const id of chunk) {
          answers.set(
            id,
            singleFlight(`user:${id}`, () => call.then((found) => found.get(id))),
          );
        }
      }
      const settled = await Promise.all(
        wanted.map((id) =>
          withFallback<DirectoryUser | undefined>(
            `user:${id}`,
            `user ${id}`,
            () => answers.get(id) as Promise<DirectoryUser | undefined>,
          ),
        ),
      );
      return settled.filter((u): u is DirectoryUser => u !== undefined);
    },

    async searchUsers(query, limit) {
      try {
        const res = await client.searchUsers(
          { query, pageSize: Math.max(1, Math.min(limit, MAX_IDS_PER_CALL)) },
          { timeoutMs },
        );
        return res.users.slice(0, limit).map(toUser);
      } catch (err) {
        throw new UnavailableError(`user directory unavailable (search): ${describe(err)}`, { cause: err });
      }
    },

    async contactMethods(userId) {
      const key = `contact_methods:${userId}`;
      const cached = fresh<ContactMethod[]>(key);
      if (cached) return cached;
      return withFallback(key, `contact methods of ${userId}`, () =>
        singleFlight(key, async () => {
          let methods: ContactMethod[];
          try {
            const res = await client.listContactMethods({ userId }, { timeoutMs });
            methods = res.contactMethods.flatMap((cm) => toContactMethod(cm, userId));
          } catch (err) {
            if (err instanceof ConnectError && err.code === Code.NotFound) methods = [];
            else throw err;
          }
          if (methods.length === 0) supersede(key);
          else remember(key, methods);
          return methods;
        }),
      );
    },
  };
}

/**
 * A Connect transport to kneutral-api with the bearer token on every call. Binary protobuf: fields a
 * newer kneutral-api adds are skipped, not refused.
 */
export function createRemoteDirectoryTransport(
  url: string,
  token: () => Promise<string | undefined>,
): Transport {
  const bearer: Interceptor = (next) => async (req) => {
    const value = await token();
    if (!value)
      throw new ConnectError("no ONCALL_DIRECTORY_TOKEN to call the user directory", Code.Unauthenticated);
    req.header.set("authorization", `Bearer ${value}`);
    return next(req);
  };
  return createConnectTransport({
    baseUrl: url,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
}

/** Builds the remote directory from its configuration: what composition roots pass around. */
export type RemoteDirectoryConnector = (input: {
  url: string;
  token: () => Promise<string | undefined>;
  clock: Clock;
  ttlMs: number;
  timeoutMs: number;
}) => UserDirectory;

/**
 * The connector a composition root hands to createUserDirectoryBinding. Passed in rather than imported
 * there, so that Lambdas that never ask the directory (ingest, housekeeping) do not bundle the Connect
 * client and the protobuf runtime (~150 KB of every cold start).
 */
export const connectRemoteDirectory: RemoteDirectoryConnector = (input) =>
  createRemoteUserDirectory({
    transport: createRemoteDirectoryTransport(input.url, input.token),
    clock: input.clock,
    ttlMs: input.ttlMs,
    timeoutMs: input.timeoutMs,
  });

const typeNames: Record<number, ContactMethodType> = {
  [TypeEnum.EMAIL]: "email",
  [TypeEnum.SMS]: "sms",
  [TypeEnum.VOICE]: "voice",
  [TypeEnum.SLACK_DM]: "slack_dm",
  [TypeEnum.TEAMS]: "teams",
  [TypeEnum.WEBHOOK]: "webhook",
};

function toUser(user: User): DirectoryUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    timeZone: user.timeZone || "UTC",
    ...(user.slackUserId ? { slackUserId: user.slackUserId } : {}),
    ...(user.teamsUserId ? { teamsUserId: user.teamsUserId } : {}),
  };
}

/** A contact method of a type we do not know (a newer kneutral-api) is left out, not guessed. */
function toContactMethod(cm: ContactMethodMessage, userId: string): ContactMethod[] {
  const type = typeNames[cm.type];
  if (!type) return [];
  return [
    {
      id: cm.id,
      userId: cm.userId || userId,
      type,
      name: cm.name,
      value: cm.value,
      verified: cm.verified,
      disabled: !cm.enabled,
    },
  ];
}

function describe(err: unknown): string {
  if (err instanceof ConnectError) return `${Code[err.code]}: ${err.rawMessage}`;
  return (err as Error)?.message ?? String(err);
}
