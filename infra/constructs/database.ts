import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { FlowLogDestination, FlowLogTrafficType, IpAddresses, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
} from "aws-cdk-lib/aws-rds";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

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
 * Manager, and Lambdas get `DATABASE_*` variables plus Data API rights through `grantDataAccess`.
 */
export class Database extends Construct {
  readonly vpc: Vpc;
  readonly cluster: DatabaseCluster;
  readonly secret: ISecret;
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
    Validations.of(this.cluster).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "Rotating the master secret needs a rotation Lambda with a network path to the cluster and to Secrets Manager (NAT or VPC endpoints), which this Data-API-only VPC does not have; rotation comes with the operations issue.",
    });
  }

  /** The `DATABASE_*` environment variables for a Lambda that uses the database. */
  get environment(): DatabaseEnvironment {
    return {
      DATABASE_RESOURCE_ARN: this.cluster.clusterArn,
      DATABASE_SECRET_ARN: this.secret.secretArn,
      DATABASE_NAME: this.databaseName,
    };
  }

  /** Lets `grantee` run SQL through the Data API (ExecuteStatement, transactions, and reading the secret). */
  grantDataAccess(grantee: IGrantable): void {
    this.cluster.grantDataApiAccess(grantee);
  }
}
