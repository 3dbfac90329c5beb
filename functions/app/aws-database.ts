import { lazily } from "../adapters/aws/lazy-client.ts";
import { readAwsDatabaseConfig } from "../adapters/config.ts";
import { type DatabaseHandle, openDatabase } from "../adapters/db/database.ts";
import { traced } from "../adapters/observability.ts";

/**
 * Aurora through the RDS Data API, from DATABASE_RESOURCE_ARN / DATABASE_SECRET_ARN / DATABASE_NAME.
 *
 * Kept apart from aws-context.ts so that the functions that need only the database (the escalation
 * tasks, migrate) don't import the whole composition root: esbuild keeps the top-level code of every
 * module a bundle imports, so importing aws-context.ts brought the condition engine (cel-js, re2js)
 * and the maintenance windows into every Lambda (see infra/bundles.test.ts).
 */
export function openAwsDatabase(
  env: Record<string, string | undefined> = process.env,
): Promise<DatabaseHandle> {
  const config = readAwsDatabaseConfig(env);
  return openDatabase({
    kind: "data-api",
    client: lazily(async () => {
      const { RDSDataClient } = await import("@aws-sdk/client-rds-data");
      return traced(new RDSDataClient({}));
    }),
    resourceArn: config.databaseResourceArn,
    secretArn: config.databaseSecretArn,
    database: config.databaseName,
  });
}
