import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { createTestApp } from "../testing.ts";
import { webhookPathPrefixes } from "./api.ts";
import { ConsoleHosting, contentSecurityPolicy, type WebAclSource } from "./console-hosting.ts";

// The construct alone, around a bare HTTP API. No Lambda: each synth takes well under a second.
function synth(options: { consoleDist: string; webAcl?: WebAclSource }) {
  const app = createTestApp();
  const stack = new Stack(app, "Test");
  const httpApi = new HttpApi(stack, "HttpApi");
  const hosting = new ConsoleHosting(stack, "Console", {
    httpApi,
    webhookPathPrefixes,
    webAcl: options.webAcl ?? { edgeStackOf: "Oncall" },
    consoleDist: options.consoleDist,
  });
  return { app, stack, hosting, template: Template.fromStack(stack) };
}

/** Each path cdk-nag (AwsSolutions) finds unacknowledged, but the stand-in HTTP API's. */
function nagFindings(app: ReturnType<typeof createTestApp>): string[] {
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
    .filter((finding) => !finding.includes("Test/HttpApi/"));
}

function builtConsole(): string {
  const dist = mkdtempSync(path.join(tmpdir(), "oncall-console-dist-"));
  mkdirSync(path.join(dist, "assets"));
  writeFileSync(path.join(dist, "index.html"), "<!doctype html><title>oncall</title>");
  writeFileSync(path.join(dist, "assets", "index-abc.js"), "console.log(1)");
  return dist;
}

const unbuilt = path.join(mkdtempSync(path.join(tmpdir(), "oncall-console-")), "dist"); // does not exist
const { app, stack, hosting, template } = synth({ consoleDist: unbuilt });

type Behaviour = {
  PathPattern: string;
  TargetOriginId: string;
  ViewerProtocolPolicy: string;
  AllowedMethods: string[];
};
const distributionConfig = () =>
  (
    Object.values(template.findResources("AWS::CloudFront::Distribution"))[0] as {
      Properties: { DistributionConfig: Record<string, unknown> };
    }
  ).Properties.DistributionConfig;

describe("ConsoleHosting", () => {
  it("keeps the console in a private, encrypted, TLS-only bucket", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          // Only this distribution may read, through origin access control.
          Match.objectLike({
            Effect: "Allow",
            Action: "s3:GetObject",
            Principal: { Service: "cloudfront.amazonaws.com" },
            Condition: { StringEquals: { "AWS:SourceArn": Match.anyValue() } },
          }),
        ]),
      },
    });
    template.resourceCountIs("AWS::CloudFront::OriginAccessControl", 1);
  });

  it("serves the console at / and routes the RPCs, the webhooks and /healthz to the API, uncached", () => {
    const config = distributionConfig();
    const origins = config.Origins as { Id: string; DomainName: unknown; S3OriginConfig?: unknown }[];
    const apiOrigin = origins.find((o) => !o.S3OriginConfig)!;
    const behaviours = config.CacheBehaviors as Behaviour[];

    expect(config.DefaultRootObject).toBe("index.html");
    expect(origins).toHaveLength(2);
    // The API's host name, cut from its endpoint (https://<id>.execute-api.<region>.amazonaws.com).
    expect(apiOrigin.DomainName).toEqual({
      "Fn::Select": [2, { "Fn::Split": ["/", { "Fn::GetAtt": [expect.any(String), "ApiEndpoint"] }] }],
    });
    expect(behaviours.map((b) => b.PathPattern)).toEqual([
      "/oncall.v1.*",
      "/kneutral.directory.v1.*",
      "/v1/webhooks/*",
      "/v2/*",
      "/healthz",
    ]);
    for (const behaviour of behaviours) {
      expect(behaviour).toMatchObject({
        TargetOriginId: apiOrigin.Id,
        ViewerProtocolPolicy: "https-only",
        AllowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", // Managed-CachingDisabled
        OriginRequestPolicyId: "b689b0a8-53d0-40ab-baf2-68738e2966ac", // Managed-AllViewerExceptHostHeader
      });
    }
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: "redirect-to-https",
      AllowedMethods: ["GET", "HEAD"],
      FunctionAssociations: [{ EventType: "viewer-request", FunctionARN: expect.anything() }],
    });
  });

  it("rewrites the console's client-side routes to index.html, not files or the API", () => {
    const code = (
      Object.values(template.findResources("AWS::CloudFront::Function"))[0] as {
        Properties: { FunctionCode: string };
      }
    ).Properties.FunctionCode;
    // CloudFront Functions run this same JavaScript.
    const handler = new Function(`${code}; return handler;`)() as (e: unknown) => { uri: string };
    const uri = (u: string) => handler({ request: { uri: u } }).uri;

    expect(uri("/")).toBe("/index.html");
    expect(uri("/alerts/42")).toBe("/index.html");
    expect(uri("/assets/index-3f9c2a.js")).toBe("/assets/index-3f9c2a.js");
    expect(uri("/favicon.svg")).toBe("/favicon.svg");
  });

  it("sends security headers with every answer: CSP, HSTS, frame options, nosniff, referrer policy", () => {
    template.hasResourceProperties("AWS::CloudFront::ResponseHeadersPolicy", {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: contentSecurityPolicy, Override: true },
          StrictTransportSecurity: {
            AccessControlMaxAgeSec: 63_072_000,
            IncludeSubdomains: true,
            Override: true,
          },
          FrameOptions: { FrameOption: "DENY", Override: true },
          ContentTypeOptions: { Override: true },
          ReferrerPolicy: { ReferrerPolicy: "strict-origin-when-cross-origin", Override: true },
          XSSProtection: { Protection: false, Override: true },
        },
      }),
    });
    expect(contentSecurityPolicy).toMatch(/script-src 'self'(;|$)/);
    expect(contentSecurityPolicy).toContain("connect-src 'self'");
    expect(contentSecurityPolicy).toContain("frame-ancestors 'none'");
    const policyId = stack.resolve(hosting.responseHeadersPolicy.responseHeadersPolicyId);
    const config = distributionConfig();
    for (const behaviour of [config.DefaultCacheBehavior, ...(config.CacheBehaviors as unknown[])]) {
      expect(behaviour).toMatchObject({ ResponseHeadersPolicyId: policyId });
    }
  });

  it("puts the edge stack's web ACL in front, read from its SSM parameter in us-east-1", () => {
    template.hasResourceProperties("Custom::AWS", {
      Create: Match.stringLikeRegexp('"action":"GetParameter".*"region":"us-east-1"'),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: "ssm:GetParameter",
            Resource: Match.objectLike({
              "Fn::Join": ["", Match.arrayWith([":ssm:us-east-1:", ":parameter/Oncall/edge/web-acl-arn"])],
            }),
          }),
        ],
      },
    });
    expect(distributionConfig().WebACLId).toEqual(stack.resolve(hosting.webAclArn));
  });

  it("takes an existing web ACL by ARN without a lookup", () => {
    const arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0a1b2c3d";
    const given = synth({ consoleDist: unbuilt, webAcl: { arn } });

    given.template.resourceCountIs("Custom::AWS", 0);
    given.template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({ WebACLId: arn }),
    });
  });

  it("deploys nothing while the console is not built, and deploys the build once it is", () => {
    template.resourceCountIs("Custom::CDKBucketDeployment", 0);
    expect(hosting.deployments).toEqual([]);

    const built = synth({ consoleDist: builtConsole() });

    built.template.resourceCountIs("Custom::CDKBucketDeployment", 2);
    built.template.hasResourceProperties("Custom::CDKBucketDeployment", {
      Prune: false,
      SystemMetadata: { "cache-control": "public, max-age=31536000, immutable" },
    });
    built.template.hasResourceProperties("Custom::CDKBucketDeployment", {
      SystemMetadata: { "cache-control": "no-cache" },
      DistributionPaths: ["/", "/index.html"],
    });
  });

  it("has no unacknowledged cdk-nag (AwsSolutions) finding, before and after the console is built", () => {
    expect(nagFindings(app)).toEqual([]);
    expect(nagFindings(synth({ consoleDist: builtConsole() }).app)).toEqual([]);
  });
});
