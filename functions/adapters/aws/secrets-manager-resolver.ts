import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type SecretResolver, SecretUnavailableError } from "../../domain/notifications/secrets.ts";
import type { ClientSource } from "./lazy-client.ts";
import { createSecretStringReader } from "./secret-string.ts";

/**
 * Secrets on AWS: a reference is a Secrets Manager secret name under `prefix` (default `oncall/`),
 * or its ARN; values are cached `maxAgeSeconds` per reference (a rotation shows within that). The
 * prefix keeps other secrets the Lambda role can read (the database's) out of reach of whoever may
 * configure a channel; the role's policy grants `oncall/*` for the same reason.
 */
export interface SecretsManagerResolverOptions {
  readonly client: ClientSource<SecretsManagerClient>;
  /** @default "oncall/" */
  readonly prefix?: string;
  /** @default 300 */
  readonly maxAgeSeconds?: number;
  /** References kept in the cache; the oldest is dropped beyond. @default 200 */
  readonly maxCached?: number;
  readonly now?: () => number;
}

export function createSecretsManagerResolver(options: SecretsManagerResolverOptions): SecretResolver {
  const prefix = options.prefix ?? "oncall/";
  const maxCached = options.maxCached ?? 200;
  const readers = new Map<string, () => Promise<string | undefined>>();
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const name = new RegExp(`^${escaped}[A-Za-z0-9/_+=.@-]{1,400}$`);
  const arn = new RegExp(
    `^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${escaped}[A-Za-z0-9/_+=.@-]{1,400}$`,
  );

  const checkRef = (ref: string) =>
    name.test(ref) || arn.test(ref)
      ? undefined
      : `must be a Secrets Manager secret name starting with ${prefix} (or its ARN)`;

  return {
    checkRef,
    async resolve(ref) {
      const problem = checkRef(ref);
      if (problem) throw new SecretUnavailableError(ref, problem, false);
      let reader = readers.get(ref);
      if (!reader) {
        if (readers.size >= maxCached) readers.delete(readers.keys().next().value!);
        reader = createSecretStringReader({
          client: options.client,
          secretId: ref,
          maxAgeSeconds: options.maxAgeSeconds ?? 300,
          ...(options.now ? { now: options.now } : {}),
        });
        readers.set(ref, reader);
      }
      let value: string | undefined;
      try {
        value = await reader();
      } catch (err) {
        const code = (err as { name?: string }).name ?? "error";
        const missing = code === "ResourceNotFoundException" || code === "AccessDeniedException";
        throw new SecretUnavailableError(ref, `Secrets Manager answered ${code}`, !missing, { cause: err });
      }
      if (!value) throw new SecretUnavailableError(ref, "holds no string value", false);
      return value;
    },
  };
}
