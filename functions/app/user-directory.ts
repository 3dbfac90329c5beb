import type { RemoteDirectoryConfig } from "../adapters/config.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { createEmbeddedUserDirectory } from "../adapters/directory/embedded-directory.ts";
import {
  createRemoteDirectoryTransport,
  createRemoteUserDirectory,
} from "../adapters/directory/remote-directory.ts";
import type { Clock } from "../domain/clock.ts";
import type { AppContext } from "./context.ts";

/**
 * The user directory both composition roots use: the embedded one over our tables when no
 * ONCALL_DIRECTORY_URL is set, else the cached Connect client of the remote kneutral-api. `token`
 * overrides ONCALL_DIRECTORY_TOKEN (AWS reads it from Secrets Manager).
 */
export function createUserDirectoryBinding(input: {
  config: RemoteDirectoryConfig | undefined;
  database: DatabaseHandle;
  clock: Clock;
  token?: (() => Promise<string | undefined>) | undefined;
}): Pick<AppContext, "directory" | "remoteDirectoryUrl"> {
  const { config } = input;
  if (!config) return { directory: createEmbeddedUserDirectory(() => input.database.db) };
  const token = input.token ?? (async () => config.token);
  return {
    remoteDirectoryUrl: config.url,
    directory: createRemoteUserDirectory({
      transport: createRemoteDirectoryTransport(config.url, token),
      clock: input.clock,
      ttlMs: config.cacheTtlSeconds * 1000,
      timeoutMs: config.timeoutMs,
    }),
  };
}
