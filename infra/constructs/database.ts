import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { FlowLogDestination, FlowLogTrafficType, IpAddresses, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
  DatabaseSecret,
} from "aws-cdk-lib/aws-rds";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { type DatabaseRoleName, databaseRoleNames } from "../../functions/adapters/db/roles.ts";

export type { DatabaseRoleName } from "../../functions/adapters/db/roles.ts";

/** Who reaches the database: one of the roles of functions/adapters/db/roles.ts, or the master (migrations only). */
export type DatabaseLogin = DatabaseRoleName | "master";

/** What the Data API lets a grantee do on the cluster (the secret is granted apart). */
const dataApiActions = [
  "rds-data:BatchExecuteStatement",
  "rds-data:BeginTransaction",
  "rds-data:CommitTransaction",
  "rds-data:ExecuteStatement",
  "rds-data:RollbackTransaction",
];

/** Why no secret here rotates automatically (cdk-nag AwsSolutions-SMG4), held once. */
const noRotationReason =
  "Rotation needs a rotation Lambda inside the VPC with a network path to the cluster (an inbound rule on it) and to Secrets Manager (an interface endpoint); today the cluster has no inbound rule at all and is reached only through the Data API. The password alone grants nothing: using it takes rds-data rights on this cluster and read rights on this secret, both IAM-controlled and held only by the function it belongs to. Rotate by hand with put-secret-value, then invoke the migration Lambda (it sets role passwords from their secrets); see infra/README.md.";

/**
 * Aurora PostgreSQL 18: the same major version as PGlite in the embedded runtime and the tests, and
 * one that the Data API serves (18.3 and later).
 */
export const engineVersion = AuroraPostgresEngineVersion.VER_18_6;

export interface DatabaseProps {
  /** @default "oncall" */
  readonly databaseName?: string;
  /** Refuse to delete the cluster. Turn off only for throwaway stacks (a final snapshot is still taken). */
  readonly deletionProtection: boolean;
  /** @default 7 days */
  readonly backupRetention?: Duration;
  /** Aurora capacity units. 0 lets the cluster pause when idle (the first request then waits ~15 s). @default 0.5 */
  readonly minCapacity?: number;
  /** @default 4 */
  readonly maxCapacity?: number;
}

/** The environment variables functions/adapters/config.ts reads to reach the database through the Data API. */
export interface DatabaseEnvironment {
  DATABASE_RESOURCE_ARN: string;
  DATABASE_SECRET_ARN: string;
  DATABASE_NAME: string;
}

/**
 * Aurora Serverless v2 PostgreSQL reached only through the RDS Data API: the cluster sits in isolated
 * subnets (no NAT, no inbound rule), storage is encrypted, the master credentials live in Secrets
 * Manager. Each Lambda logs in as its own least-privilege role (`roleSecrets`, provisioned by the
 * migration Lambda), gets `DATABASE_*` variables from `environmentFor` and Data API rights plus read
 * access to that one secret from `grantDataAccess`. Only the migrations use the master.
 */
export class Database extends Construct {
  readonly vpc: Vpc;
  readonly cluster: DatabaseCluster;
  /** The master credentials: migrations only. */
  readonly secret: ISecret;
  /** One secret per application role (username = role name, generated password). */
  readonly roleSecrets: Record<DatabaseRoleName, DatabaseSecret>;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? "oncall";

    // Nothing in the VPC calls out: the Lambdas stay outside it and use the Data API's HTTPS endpoint.
    this.vpc = new Vpc(this, "Vpc", {
      ipAddresses: IpAddresses.cidr("10.40.0.0/16"),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "database", subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    this.vpc.addFlowLog("FlowLog", {
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, "FlowLogs", {
          retention: RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: FlowLogTrafficType.REJECT,
    });

    // Named, so that the PostgreSQL log group below can be created (with a retention) before RDS makes it.
    const clusterIdentifier = `${Stack.of(this).stackName}-database`.toLowerCase();
    const postgresLogs = new LogGroup(this, "PostgresLogs", {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.cluster = new DatabaseCluster(this, "Cluster", {
      clusterIdentifier,
      engine: DatabaseClusterEngine.auroraPostgres({ version: engineVersion }),
      writer: ClusterInstance.serverlessV2("Writer", { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minCapacity ?? 0.5,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      defaultDatabaseName: this.databaseName,
      credentials: Credentials.fromGeneratedSecret("oncall_admin"),
      enableDataApi: true,
      storageEncrypted: true,
      iamAuthentication: true,
      deletionProtection: props.deletionProtection,
      removalPolicy: RemovalPolicy.SNAPSHOT, // a final snapshot even when a throwaway stack is deleted
      backup: { retention: props.backupRetention ?? Duration.days(7) },
      cloudwatchLogsExports: ["postgresql"],
      copyTagsToSnapshot: true,
    });
    this.cluster.node.addDependency(postgresLogs);
    this.secret = this.cluster.secret!; // always set: the credentials are generated above

    Validations.of(this.cluster).acknowledge({
      id: "AwsSolutions-RDS11",
      reason:
        "The default port is not exposed: the cluster is in isolated subnets, its security group has no inbound rule, and it is reached only through the Data API.",
    });
    Validations.of(this.cluster).acknowledge({ id: "AwsSolutions-SMG4", reason: noRotationReason });

    this.roleSecrets = Object.fromEntries(
      databaseRoleNames.map((role) => {
        const secret = new DatabaseSecret(this, pascal(role), {
          username: role,
        });
        secret.attach(this.cluster);
        Validations.of(secret).acknowledge({ id: "AwsSolutions-SMG4", reason: noRotationReason });
        return [role, secret];
      }),
    ) as Record<DatabaseRoleName, DatabaseSecret>;
  }

  /** The master's `DATABASE_*` environment variables (the migration Lambda). */
  get environment(): DatabaseEnvironment {
    return this.environmentFor("master");
  }

  /** The `DATABASE_*` environment variables of a Lambda that logs in as `login`. */
  environmentFor(login: DatabaseLogin): DatabaseEnvironment {
    return {
      DATABASE_RESOURCE_ARN: this.cluster.clusterArn,
      DATABASE_SECRET_ARN: this.secretOf(login).secretArn,
      DATABASE_NAME: this.databaseName,
    };
  }

  /** The secret of `login`. */
  secretOf(login: DatabaseLogin): ISecret {
    return login === "master" ? this.secret : this.roleSecrets[login];
  }

  /**
   * Lets `grantee` run SQL through the Data API as `login`: the rds-data actions on this cluster and
   * reading that one secret (the Data API requires the caller to be able to read it).
   */
  grantDataAccess(grantee: IGrantable, login: DatabaseLogin): void {
    Grant.addToPrincipal({ grantee, actions: dataApiActions, resourceArns: [this.cluster.clusterArn] });
    this.secretOf(login).grantRead(grantee);
  }
}

function pascal(role: string): string {
  return role.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) + "Secret";
}
