import { App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readStackSettings } from "../context.ts";
import { OncallStack } from "../oncall-stack.ts";

// The CDK app (`npx cdk synth|diff|deploy`, see cdk.json). Composition only: settings come from the
// CDK context (infra/context.ts), resources from the constructs, cdk-nag acknowledgments sit beside
// the resources they concern.
const app = new App();
const { stackName, props } = readStackSettings(app.node);
new OncallStack(app, stackName, props);
Tags.of(app).add("project", "oncall");
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
