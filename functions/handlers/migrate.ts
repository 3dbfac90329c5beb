import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { latestSchemaVersion, migrateToLatest } from "../adapters/db/migrate.ts";
import { logger } from "../adapters/observability.ts";
import { openAwsDatabase } from "../app/aws-context.ts";

/**
 * The migration Lambda, run by a CDK Trigger on every deploy before the API serves traffic.
 * Applies the same migrations as `npm start` and the tests; a failure fails the deployment.
 */
export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const database = await openAwsDatabase();
    try {
      const results = await migrateToLatest(database.db);
      const applied = results.map((r) => r.migrationName);
      logger.info("migrations applied", { applied, schemaVersion: latestSchemaVersion });
      return { applied, schemaVersion: latestSchemaVersion };
    } finally {
      await database.close();
    }
  });
