import { App } from "aws-cdk-lib";
import { addOncallStacks } from "../compose.ts";

// The CDK app (`npx cdk synth|diff|deploy`, see cdk.json). Composition only (infra/compose.ts):
// settings come from the CDK context (infra/context.ts), resources from the constructs, cdk-nag
// acknowledgments sit beside the resources they concern.
addOncallStacks(new App());
