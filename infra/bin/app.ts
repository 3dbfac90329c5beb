import { App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { webhookPathPrefixes } from "../constructs/api.ts";
import { readStackSettings } from "../context.ts";
import { edgeRegion, OncallEdgeStack } from "../edge-stack.ts";
import { OncallStack } from "../oncall-stack.ts";

// The CDK app (`npx cdk synth|diff|deploy`, see cdk.json). Composition only: settings come from the
// CDK context (infra/context.ts), resources from the constructs, cdk-nag acknowledgments sit beside
// the resources they concern.
const app = new App();
const { stackName, props, edge } = readStackSettings(app.node);
const main = new OncallStack(app, stackName, props);
if (edge) {
  // CloudFront's web ACL must be in us-east-1: a stack of its own there, deployed first (`cdk deploy --all`).
  const edgeStack = new OncallEdgeStack(app, edge.stackName, {
    env: { region: edgeRegion },
    description: `oncall: WAF web ACL for ${stackName}'s CloudFront distribution (us-east-1)`,
    mainStackName: stackName,
    webhookPathPrefixes,
    limits: edge.limits,
  });
  main.addStackDependency(edgeStack, "the distribution reads the web ACL's ARN from the edge stack");
}
Tags.of(app).add("project", "oncall");
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
