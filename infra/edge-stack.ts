import { Aws, CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { StringParameter } from "aws-cdk-lib/aws-ssm";
import { CfnWebACL } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";

/** The region of every CLOUDFRONT-scoped WAF web ACL (an AWS rule, not a choice). */
export const edgeRegion = "us-east-1";

/** Per-IP request limits of the web ACL, per minute (WAF counts over a sliding 60-second window). */
export interface PerIpLimits {
  /** Requests per minute from one IP to the webhook paths. @default 600 */
  readonly webhooksPerMinute?: number;
  /** Requests per minute from one IP to everything else (console, RPCs). @default 300 */
  readonly otherPerMinute?: number;
}

export const defaultPerIpLimits: Required<PerIpLimits> = { webhooksPerMinute: 600, otherPerMinute: 300 };

export interface OncallEdgeStackProps extends StackProps {
  /** The main stack's name: names the web ACL and the SSM parameter the main stack reads. */
  readonly mainStackName: string;
  /** Path prefixes of the webhook routes (`/v1/webhooks/`, `/v2/`). */
  readonly webhookPathPrefixes: readonly string[];
  readonly limits?: PerIpLimits;
}

/** The SSM parameter (in us-east-1) holding the web ACL's ARN, by main stack name. */
export function webAclParameterName(mainStackName: string): string {
  return `/${mainStackName}/edge/web-acl-arn`;
}

/**
 * The WAF web ACL in front of the main stack's CloudFront distribution. CloudFront accepts only
 * CLOUDFRONT-scoped web ACLs, which exist only in us-east-1: hence this small stack, pinned to that
 * region, whatever region the main stack is deployed to. It publishes the ACL's ARN as an SSM parameter
 * that the main stack reads at deploy time (infra/constructs/console-hosting.ts). See infra/README.md.
 *
 * Two rate-based rules count requests per client IP over 60 seconds, webhooks and the rest apart
 * (an Alertmanager behind one IP sends in bursts; a person's browser does not), and answer 429 with
 * Retry-After above the limit: senders retry, as they do for the API's own 429.
 */
export class OncallEdgeStack extends Stack {
  readonly webAcl: CfnWebACL;
  readonly webAclName: string;

  constructor(scope: Construct, id: string, props: OncallEdgeStackProps) {
    super(scope, id, props);
    const limits = { ...defaultPerIpLimits, ...props.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 10 || value > 2_000_000_000) {
        throw new Error(`per-IP limit ${name}: expected a whole number from 10, got ${value}`);
      }
    }

    const webhookPath: CfnWebACL.StatementProperty = {
      orStatement: {
        statements: props.webhookPathPrefixes.map((prefix) => ({
          byteMatchStatement: {
            fieldToMatch: { uriPath: {} },
            positionalConstraint: "STARTS_WITH",
            searchString: prefix,
            textTransformations: [{ priority: 0, type: "NONE" }],
          },
        })),
      },
    };
    const tooMany: CfnWebACL.RuleActionProperty = {
      block: {
        customResponse: {
          responseCode: 429,
          customResponseBodyKey: "tooManyRequests",
          responseHeaders: [{ name: "retry-after", value: "60" }],
        },
      },
    };
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      // Sampled requests show the query string, which may carry an integration key (?key=): off.
      sampledRequestsEnabled: false,
    });
    const perIp = (name: string, priority: number, limit: number, scope: CfnWebACL.StatementProperty) => ({
      name,
      priority,
      action: tooMany,
      statement: {
        rateBasedStatement: {
          aggregateKeyType: "IP",
          evaluationWindowSec: 60,
          limit,
          scopeDownStatement: scope,
        },
      },
      visibilityConfig: visibility(name),
    });

    this.webAclName = `${props.mainStackName}-edge`;
    this.webAcl = new CfnWebACL(this, "WebAcl", {
      name: this.webAclName,
      description: "oncall per-IP rate limits in front of the console and the API on CloudFront",
      scope: "CLOUDFRONT",
      defaultAction: { allow: {} },
      customResponseBodies: {
        tooManyRequests: {
          contentType: "APPLICATION_JSON",
          content: JSON.stringify({
            code: "resource_exhausted",
            message: "too many requests from this address",
          }),
        },
      },
      rules: [
        perIp("WebhooksPerIp", 0, limits.webhooksPerMinute, webhookPath),
        perIp("OtherPerIp", 1, limits.otherPerMinute, { notStatement: { statement: webhookPath } }),
      ],
      visibilityConfig: visibility(this.webAclName),
    });

    new StringParameter(this, "WebAclArnParameter", {
      parameterName: webAclParameterName(props.mainStackName),
      description: `ARN of the web ACL in front of ${props.mainStackName}'s CloudFront distribution`,
      stringValue: this.webAcl.attrArn,
    });
    new CfnOutput(this, "WebAclArn", {
      description: "WAF web ACL (CLOUDFRONT scope)",
      value: this.webAcl.attrArn,
    });
  }

  /** The ARN of this stack's SSM parameter, as the main stack (any region, same account) reads it. */
  static parameterArn(mainStackName: string): string {
    return `arn:${Aws.PARTITION}:ssm:${edgeRegion}:${Aws.ACCOUNT_ID}:parameter${webAclParameterName(mainStackName)}`;
  }
}
