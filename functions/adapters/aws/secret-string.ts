import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type ClientSource, resolveClient } from "./lazy-client.ts";

export interface SecretStringOptions {
  /** The client, or a loader that creates it on first read (see lazy-client.ts). */
  readonly client: ClientSource<SecretsManagerClient>;
  readonly secretId: string;
  /** Seconds a value is kept before Secrets Manager is asked again (a rotation shows within this). */
  readonly maxAgeSeconds: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A cached reader of a secret's string value. In place of Powertools' `getSecret`, whose module
 * imports the Secrets Manager client statically, which would load the SDK package at every Lambda's
 * init, even in the functions and paths that never read a secret. Concurrent first reads share one
 * request; a failed read is not cached.
 *
 * @example
 * const adminToken = createSecretStringReader({ client: loader, secretId: arn, maxAgeSeconds: 300 });
 * const token = await adminToken(); // undefined when the secret holds binary data only
 */
export function createSecretStringReader(options: SecretStringOptions): () => Promise<string | undefined> {
  const now = options.now ?? Date.now;
  let cached: { value: Promise<string | undefined>; expiresAt: number } | undefined;
  return () => {
    if (cached && now() < cached.expiresAt) return cached.value;
    const value = read(options).catch((err: unknown) => {
      if (cached?.value === value) cached = undefined;
      throw err;
    });
    cached = { value, expiresAt: now() + options.maxAgeSeconds * 1000 };
    return value;
  };
}

async function read({ client, secretId }: SecretStringOptions): Promise<string | undefined> {
  const [secrets, { GetSecretValueCommand }] = await Promise.all([
    resolveClient(client),
    import("@aws-sdk/client-secrets-manager"),
  ]);
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  return out.SecretString;
}
