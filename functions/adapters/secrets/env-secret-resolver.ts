import { type SecretResolver, SecretUnavailableError } from "../../domain/notifications/secrets.ts";

/**
 * Embedded secrets: a reference is the name of an environment variable that starts with
 * `ONCALL_SECRET_` (e.g. ONCALL_SECRET_SLACK_BOT). The prefix keeps the process's other variables
 * (DATABASE_URL, ONCALL_ADMIN_TOKEN, AWS keys) out of reach of whoever may configure a channel.
 */
export const ENV_SECRET_PREFIX = "ONCALL_SECRET_";
const ENV_REF = /^ONCALL_SECRET_[A-Z0-9_]{1,100}$/;

export function createEnvSecretResolver(env: Record<string, string | undefined>): SecretResolver {
  return {
    checkRef(ref) {
      return ENV_REF.test(ref)
        ? undefined
        : `must name an environment variable ${ENV_SECRET_PREFIX}<NAME> (upper-case letters, digits, _)`;
    },
    async resolve(ref) {
      if (!ENV_REF.test(ref))
        throw new SecretUnavailableError(ref, "is not an ONCALL_SECRET_ variable name", false);
      const value = env[ref];
      if (value === undefined || value === "") {
        throw new SecretUnavailableError(ref, "the environment variable is not set", false);
      }
      return value;
    },
  };
}
