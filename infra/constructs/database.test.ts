import { Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { createTestApp } from "../testing.ts";
import { Database, engineVersion } from "./database.ts";

// One synth per configuration; the construct has no Lambda, so each takes milliseconds.
function synth(props: ConstructorParameters<typeof Database>[2]) {
  const stack = new Stack(createTestApp(), "Test");
  const database = new Database(stack, "Database", props);
  const reader = new Role(stack, "Reader", { assumedBy: new ServicePrincipal("lambda.amazonaws.com") });
  database.grantDataAccess(reader);
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

  it("keeps the master credentials in a generated Secrets Manager secret", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"oncall_admin"}' }),
    });
    template.resourceCountIs("AWS::SecretsManager::SecretTargetAttachment", 1);
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

  it("grants Data API access and gives the DATABASE_* variables functions/adapters/config.ts reads", () => {
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(["rds-data:ExecuteStatement"]), Effect: "Allow" }),
          Match.objectLike({ Action: Match.arrayWith(["secretsmanager:GetSecretValue"]), Effect: "Allow" }),
        ]),
      },
    });
    expect(stack.resolve(database.environment)).toEqual({
      DATABASE_RESOURCE_ARN: stack.resolve(database.cluster.clusterArn),
      DATABASE_SECRET_ARN: stack.resolve(database.secret.secretArn),
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
