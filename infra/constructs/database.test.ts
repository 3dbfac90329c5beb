import { Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { databaseRoleNames } from "../../functions/adapters/db/roles.ts";
import { createTestApp } from "../testing.ts";
import { Database, engineVersion } from "./database.ts";

// One synth per configuration; the construct has no Lambda, so each takes milliseconds.
function synth(props: ConstructorParameters<typeof Database>[2]) {
  const stack = new Stack(createTestApp(), "Test");
  const database = new Database(stack, "Database", props);
  const reader = new Role(stack, "Reader", { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
  database.grantDataAccess(reader, "oncall_ingest");
  return { stack, database, template: Template.fromStack(stack) };
}

const { stack, database, template } = synth({ deletionProtection: true });

describe("Database", () => {
  it("is Aurora PostgreSQL Serverless v2 with the Data API, encrypted and deletion-protected", () => {
    template.hasResourceProperties("AWS::RDS::DBCluster", {
      Engine: "aurora-postgresql",
      EngineVersion: engineVersion.auroraPostgresFullVersion,
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      DatabaseName: "oncall",
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      EnableCloudwatchLogsExports: ["postgresql"],
    });
    template.hasResourceProperties("AWS::RDS::DBInstance", {
      DBInstanceClass: "db.serverless",
      PubliclyAccessible: false,
    });
    template.hasResource("AWS::RDS::DBCluster", {
      DeletionPolicy: "Snapshot",
      UpdateReplacePolicy: "Snapshot",
    });
  });

  it("keeps the master and each application role's credentials in generated secrets of their own", () => {
    for (const username of ["oncall_admin", ...databaseRoleNames]) {
      template.hasResourceProperties("AWS::SecretsManager::Secret", {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username }) }),
      });
    }
    template.resourceCountIs("AWS::SecretsManager::Secret", 1 + databaseRoleNames.length);
    template.resourceCountIs("AWS::SecretsManager::SecretTargetAttachment", 1 + databaseRoleNames.length);
  });

  it("sits in isolated subnets: no NAT gateway, no internet gateway, no inbound rule", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.resourceCountIs("AWS::EC2::InternetGateway", 0);
    template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: Match.stringLikeRegexp("RDS"),
      SecurityGroupIngress: Match.absent(),
    });
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });

  it("grants Data API access with the login's own secret only, never the master's", () => {
    const policy = JSON.stringify(Object.values(template.findResources("AWS::IAM::Policy"))[0]);

    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["rds-data:ExecuteStatement"]),
            Effect: "Allow",
            Resource: stack.resolve(database.cluster.clusterArn),
          }),
          Match.objectLike({
            Action: Match.arrayWith(["secretsmanager:GetSecretValue"]),
            Effect: "Allow",
            Resource: stack.resolve(database.roleSecrets.oncall_ingest.secretArn),
          }),
        ]),
      },
    });
    expect(policy).not.toContain(JSON.stringify(stack.resolve(database.secret.secretArn)));
    expect(policy).not.toContain(JSON.stringify(stack.resolve(database.roleSecrets.oncall_api.secretArn)));
  });

  it("gives the DATABASE_* variables functions/adapters/config.ts reads, per login", () => {
    expect(stack.resolve(database.environment)).toEqual({
      DATABASE_RESOURCE_ARN: stack.resolve(database.cluster.clusterArn),
      DATABASE_SECRET_ARN: stack.resolve(database.secret.secretArn),
      DATABASE_NAME: "oncall",
    });
    expect(stack.resolve(database.environmentFor("oncall_tasks"))).toEqual({
      DATABASE_RESOURCE_ARN: stack.resolve(database.cluster.clusterArn),
      DATABASE_SECRET_ARN: stack.resolve(database.roleSecrets.oncall_tasks.secretArn),
      DATABASE_NAME: "oncall",
    });
  });

  it("takes deletion protection, capacity and backup retention from its props", () => {
    const dev = synth({
      deletionProtection: false,
      minCapacity: 0,
      maxCapacity: 2,
      backupRetention: Duration.days(1),
    });

    dev.template.hasResourceProperties("AWS::RDS::DBCluster", {
      DeletionProtection: false,
      BackupRetentionPeriod: 1,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2 },
    });
  });
});
