import type { RemoteDirectoryConfig } from "../adapters/config.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import { createEmbeddedUserDirectory } from "../adapters/directory/embedded-directory.ts";
import type { RemoteDirectoryConnector } from "../adapters/directory/remote-directory.ts";
import type { Clock } from "../domain/clock.ts";
import type { UserDirectory } from "../domain/directory/model.ts";
import { UnavailableError } from "../domain/errors.ts";
import type { AppContext } from "./context.ts";

/**
 * The user directory both composition roots use: the embedded one over our tables when no
 * ONCALL_DIRECTORY_URL is set, else the cached Connect client of the remote kneutral-api, built by
 * `connectRemote` (adapters/directory/remote-directory.ts: `connectRemoteDirectory`). A process built
 * without it (a Lambda that never asks the directory) gets a directory that says so when asked.
 * `token` overrides ONCALL_DIRECTORY_TOKEN (AWS reads it from Secrets Manager).
 */
export function createUserDirectoryBinding(input: {
  config: RemoteDirectoryConfig | undefined;
  database: DatabaseHandle;
  clock: Clock;
  connectRemote?: RemoteDirectoryConnector | undefined;
  token?: (() => Promise<string | undefined>) | undefined;
}): Pick<AppContext, "directory" | "remoteDirectoryUrl"> {
  const { config } = input;
  if (!config) return { directory: createEmbeddedUserDirectory(() => input.database.db) };
  if (!input.connectRemote) {
    return { remoteDirectoryUrl: config.url, directory: missingRemoteClient() };
  }
  return {
    remoteDirectoryUrl: config.url,
    directory: input.connectRemote({
      url: config.url,
      token: input.token ?? (async () => config.token),
      clock: input.clock,
      ttlMs: config.cacheTtlSeconds * 1000,
      timeoutMs: config.timeoutMs,
    }),
  };
}

function missingRemoteClient(): UserDirectory {
  const fail = async (): Promise<never> => {
    throw new UnavailableError(
      "this function was built without the remote directory client: pass connectRemoteDirectory to its context",
    );
  };
  return { getUsers: fail, searchUsers: fail, contactMethods: fail };
}
