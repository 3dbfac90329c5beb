import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { webhookPathPrefixes } from "./constructs/api.ts";
import { OncallEdgeStack, webAclParameterName } from "./edge-stack.ts";
import { createTestApp } from "./testing.ts";

function synth(limits?: ConstructorParameters<typeof OncallEdgeStack>[2]["limits"]) {
  const stack = new OncallEdgeStack(createTestApp(), "OncallEdge", {
    env: { region: "us-east-1" },
    mainStackName: "Oncall",
    webhookPathPrefixes,
    limits,
  });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth();
type Rule = {
  Name: string;
  Priority: number;
  Action: unknown;
  Statement: { RateBasedStatement: Record<string, unknown> };
};
const rules = () =>
  (Object.values(template.findResources("AWS::WAFv2::WebACL"))[0] as { Properties: { Rules: Rule[] } })
    .Properties.Rules;

describe("OncallEdgeStack", () => {
  it("is a CLOUDFRONT-scoped web ACL in us-east-1 that allows by default", () => {
    expect(stack.region).toBe("us-east-1");
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Name: "Oncall-edge",
      Scope: "CLOUDFRONT",
      DefaultAction: { Allow: {} },
      VisibilityConfig: Match.objectLike({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false }),
    });
  });

  it("limits each client IP per minute, webhooks and everything else apart, answering 429 with Retry-After", () => {
    const webhookScope = {
      OrStatement: {
        Statements: ["/v1/webhooks/", "/v2/"].map((prefix) => ({
          ByteMatchStatement: {
            FieldToMatch: { UriPath: {} },
            PositionalConstraint: "STARTS_WITH",
            SearchString: prefix,
            TextTransformations: [{ Priority: 0, Type: "NONE" }],
          },
        })),
      },
    };
    const tooMany = {
      Block: {
        CustomResponse: {
          ResponseCode: 429,
          CustomResponseBodyKey: "tooManyRequests",
          ResponseHeaders: [{ Name: "retry-after", Value: "60" }],
        },
      },
    };

    expect(rules().map((r) => [r.Name, r.Priority, r.Action, r.Statement.RateBasedStatement])).toEqual([
      [
        "WebhooksPerIp",
        0,
        tooMany,
        { AggregateKeyType: "IP", EvaluationWindowSec: 60, Limit: 600, ScopeDownStatement: webhookScope },
      ],
      [
        "OtherPerIp",
        1,
        tooMany,
        {
          AggregateKeyType: "IP",
          EvaluationWindowSec: 60,
          Limit: 300,
          ScopeDownStatement: { NotStatement: { Statement: webhookScope } },
        },
      ],
    ]);
  });

  it("publishes the ACL's ARN where the main stack reads it", () => {
    template.hasResourceProperties("AWS::SSM::Parameter", {
      Name: webAclParameterName("Oncall"),
      Value: { "Fn::GetAtt": [Match.stringLikeRegexp("^WebAcl"), "Arn"] },
    });
    expect(webAclParameterName("Oncall")).toBe("/Oncall/edge/web-acl-arn");
  });

  it("takes its limits from props and refuses nonsense", () => {
    const custom = synth({ webhooksPerMinute: 2000, otherPerMinute: 100 });
    const limits = (
      Object.values(custom.template.findResources("AWS::WAFv2::WebACL"))[0] as {
        Properties: { Rules: Rule[] };
      }
    ).Properties.Rules.map((r) => r.Statement.RateBasedStatement.Limit);

    expect(limits).toEqual([2000, 100]);
    expect(() => synth({ otherPerMinute: 5 })).toThrow(/otherPerMinute/);
  });
});
