import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { systemClock } from "../../domain/clock.ts";
import type { AppContext } from "../app-context.ts";
import { readAwsConfig, readAwsDatabaseConfig } from "../config.ts";
import { type DatabaseHandle, openDatabase } from "../db/database.ts";
import { tracer } from "../observability.ts";
import { version } from "../version.ts";

/** Seconds a Lambda keeps the admin token before asking Secrets Manager again (rotation delay). */
const secretMaxAgeSeconds = 300;

/** Builds the AppContext inside Lambda: Aurora through the Data API, the admin token from Secrets Manager. */
export async function createAwsContext(
  options: { adminToken: boolean },
  env: Record<string, string | undefined> = process.env,
): Promise<AppContext> {
  const config = readAwsConfig(env, options);
  const adminTokenSecretArn = config.adminTokenSecretArn;
  const database = await openAwsDatabase(env);
  return {
    runtime: "aws",
    version,
    database,
    clock: systemClock,
    adminToken: async () => {
      if (!adminTokenSecretArn) return undefined;
      const secret = await getSecret<string>(adminTokenSecretArn, { maxAge: secretMaxAgeSeconds });
      return typeof secret === "string" ? secret : undefined;
    },
    corsAllowedOrigins: config.corsAllowedOrigins,
    ingestRateLimitPerMinute: config.ingestRateLimitPerMinute,
  };
}

/** Aurora through the RDS Data API, from DATABASE_RESOURCE_ARN / DATABASE_SECRET_ARN / DATABASE_NAME. */
export function openAwsDatabase(env: Record<string, string | undefined> = process.env): Promise<DatabaseHandle> {
  const config = readAwsDatabaseConfig(env);
  return openDatabase({
    kind: "data-api",
    client: tracer.captureAWSv3Client(new RDSDataClient({})),
    resourceArn: config.databaseResourceArn,
    secretArn: config.databaseSecretArn,
    database: config.databaseName,
  });
}
