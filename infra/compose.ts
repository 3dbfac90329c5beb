import { type App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { webhookPathPrefixes } from "./constructs/api.ts";
import { readStackSettings } from "./context.ts";
import { edgeRegion, OncallEdgeStack } from "./edge-stack.ts";
import { OncallStack } from "./oncall-stack.ts";

/**
 * The app's stacks from its context (infra/context.ts): the main stack, and the edge stack (the WAF
 * web ACL, which CloudFront requires in us-east-1) unless an existing web ACL is given. Tagged, and
 * checked by cdk-nag (AwsSolutions) on every synth. infra/bin/app.ts and the stack test both use it.
 */
export function addOncallStacks(app: App): { main: OncallStack; edge: OncallEdgeStack | undefined } {
  const { stackName, props, edge } = readStackSettings(app.node);
  const main = new OncallStack(app, stackName, props);
  let edgeStack: OncallEdgeStack | undefined;
  if (edge) {
    edgeStack = new OncallEdgeStack(app, edge.stackName, {
      env: { region: edgeRegion },
      description: `oncall: WAF web ACL for ${stackName}'s CloudFront distribution (us-east-1)`,
      mainStackName: stackName,
      webhookPathPrefixes,
      limits: edge.limits,
    });
    // Deploy order only (`cdk deploy --all`): a CloudFormation reference cannot cross regions.
    main.addStackDependency(edgeStack, "the distribution reads the web ACL's ARN from the edge stack");
  }
  Tags.of(app).add("project", "oncall");
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { main, edge: edgeStack };
}
