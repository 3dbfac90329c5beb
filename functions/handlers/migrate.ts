import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { lazily } from "../adapters/aws/lazy-client.ts";
import { createSecretStringReader } from "../adapters/aws/secret-string.ts";
import { ConfigError } from "../adapters/config.ts";
import { latestSchemaVersion, migrateToLatest } from "../adapters/db/migrate.ts";
import { type DatabaseRoleName, databaseRoleNames, provisionDatabaseRoles } from "../adapters/db/roles.ts";
import { logger } from "../adapters/observability.ts";
import { openAwsDatabase } from "../app/aws-database.ts";

/**
 * The migration Lambda, run by a CDK Trigger on every deploy before the API serves traffic.
 * Applies the same migrations as `npm start` and the tests, then (AWS only) provisions the database
 * roles the other Lambdas log in as, from their secrets (DATABASE_ROLE_SECRETS). It alone holds the
 * master secret. A failure fails the deployment.
 */
export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const roleSecrets = readRoleSecrets(process.env.DATABASE_ROLE_SECRETS);
    const database = await openAwsDatabase();
    try {
      const results = await migrateToLatest(database.db);
      const applied = results.map((r) => r.migrationName);
      logger.info("migrations applied", { applied, schemaVersion: latestSchemaVersion });
      const credentials = await Promise.all(
        Object.entries(roleSecrets).map(async ([role, arn]) => ({
          role: role as DatabaseRoleName,
          password: await rolePassword(role, arn),
        })),
      );
      await provisionDatabaseRoles(database.db, credentials);
      const roles = credentials.map((c) => c.role);
      logger.info("database roles provisioned", { roles });
      return { applied, schemaVersion: latestSchemaVersion, roles };
    } finally {
      await database.close();
    }
  });

/** DATABASE_ROLE_SECRETS: `{"oncall_ingest":"<secret arn>",…}`, one secret per role of roles.ts. */
export function readRoleSecrets(raw: string | undefined): Record<DatabaseRoleName, string> {
  const variable = "DATABASE_ROLE_SECRETS";
  if (!raw?.trim()) throw new ConfigError(variable, "is required but not set");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, "is not JSON");
  }
  const entries = typeof parsed === "object" && parsed !== null ? Object.entries(parsed) : [];
  const names = entries.map(([k]) => k).sort();
  if (JSON.stringify(names) !== JSON.stringify([...databaseRoleNames].sort())) {
    throw new ConfigError(variable, `must name exactly the roles ${databaseRoleNames.join(", ")}`);
  }
  for (const [role, arn] of entries) {
    if (typeof arn !== "string" || !/^arn:[\w-]+:secretsmanager:/.test(arn)) {
      throw new ConfigError(variable, `${role}: not a Secrets Manager ARN`);
    }
  }
  return Object.fromEntries(entries) as Record<DatabaseRoleName, string>;
}

/** The Secrets Manager client, created on the first read (once per warm process). */
const secretsManager = lazily(async () => {
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  return new SecretsManagerClient({});
});

async function rolePassword(role: string, arn: string): Promise<string> {
  const raw = await createSecretStringReader({ client: secretsManager, secretId: arn, maxAgeSeconds: 0 })();
  let secret: { username?: unknown; password?: unknown } | undefined;
  try {
    secret = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    secret = undefined;
  }
  if (secret?.username !== role || typeof secret.password !== "string") {
    throw new ConfigError(
      "DATABASE_ROLE_SECRETS",
      `${role}: the secret does not hold this role's username and password`,
    );
  }
  return secret.password;
}
