import { Duration, Stack } from "aws-cdk-lib";
import { Trigger } from "aws-cdk-lib/triggers";
import { Construct } from "constructs";
import type { Database } from "./database.ts";
import { OncallFunction } from "./function.ts";

export interface MigrationsProps {
  readonly database: Database;
}

/**
 * Applies the database migrations during `cdk deploy`: a CDK Trigger invokes the migration Lambda
 * (functions/handlers/migrate.ts) once the database exists, and a failed migration fails the deployment.
 * The Lambda logs in as the master (the only one that does) and then provisions the application roles
 * from their secrets: their passwords and grants follow every deploy.
 *
 * The Trigger follows the Lambda's current version, so it runs on every deploy that changes the bundle
 * (a new migration is new code) or its configuration (e.g. a replaced cluster's ARN); a deploy that
 * changes neither has nothing to migrate. Constructs passed to `runBefore` wait for it.
 */
export class Migrations extends Construct {
  readonly migrateFunction: OncallFunction;
  readonly trigger: Trigger;

  constructor(scope: Construct, id: string, props: MigrationsProps) {
    super(scope, id);

    const timeout = Duration.minutes(5);
    this.migrateFunction = new OncallFunction(this, "Handler", {
      handler: "migrate",
      description: "oncall database migrations (run by CDK on deploy)",
      timeout,
      environment: {
        ...props.database.environment,
        // The roles the other Lambdas log in as: the migration Lambda sets their passwords and grants.
        DATABASE_ROLE_SECRETS: Stack.of(this).toJsonString(
          Object.fromEntries(
            Object.entries(props.database.roleSecrets).map(([role, secret]) => [role, secret.secretArn]),
          ),
        ),
      },
    });
    props.database.grantDataAccess(this.migrateFunction.function, "master");
    for (const secret of Object.values(props.database.roleSecrets)) {
      secret.grantRead(this.migrateFunction.function);
    }

    this.trigger = new Trigger(this, "Trigger", {
      handler: this.migrateFunction.function,
      // Synchronous: the deployment waits for the result and fails with the migration.
      timeout: timeout.plus(Duration.minutes(1)),
      executeAfter: [props.database],
    });
  }

  /** Makes `scopes` deploy only after the migrations have run. */
  runBefore(...scopes: Construct[]): void {
    this.trigger.executeBefore(...scopes);
  }
}
