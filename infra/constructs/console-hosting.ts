import { existsSync } from "node:fs";
import path from "node:path";
import { Duration, Fn, Stack, Validations } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  AllowedMethods,
  type BehaviorOptions,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { HttpOrigin, S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { BucketDeployment, CacheControl, Source } from "aws-cdk-lib/aws-s3-deployment";
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { serviceGroups } from "../../functions/api/service-groups.ts";
import { edgeRegion, OncallEdgeStack, webAclParameterName } from "../edge-stack.ts";
import { repoRoot } from "../paths.ts";

/** Where the console's build (`console/`, Vite) puts the static site. */
export const defaultConsoleDist = path.join(repoRoot, "console", "dist");

/**
 * The console's Content-Security-Policy: everything from this origin only (the RPCs are same-origin),
 * no inline or remote scripts, no framing. Inline styles are allowed (component libraries set them).
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Where the web ACL comes from: the edge stack's SSM parameter (by main stack name), or a given ARN. */
export type WebAclSource = { readonly edgeStackOf: string } | { readonly arn: string };

export interface ConsoleHostingProps {
  readonly httpApi: IHttpApi;
  /** Path prefixes of the webhook routes (`/v1/webhooks/`, `/v2/`), routed to the API. */
  readonly webhookPathPrefixes: readonly string[];
  readonly webAcl: WebAclSource;
  /**
   * The console's build output. Deployed to the bucket only if it holds an `index.html`, so that the
   * stack synthesizes (and deploys the API) before the console is built. @default console/dist
   */
  readonly consoleDist?: string;
}

/**
 * One origin for people and senders: a CloudFront distribution that serves the console (a private S3
 * bucket, read through origin access control) at `/`, and sends the Connect RPCs (`/oncall.v1.*`,
 * `/kneutral.directory.v1.*`), the
 * webhooks and `/healthz` to the HTTP API, uncached. Same origin, so the console needs no CORS. Security
 * headers on every answer; the WAF web ACL (per-IP rate limits, infra/edge-stack.ts) in front.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly responseHeadersPolicy: ResponseHeadersPolicy;
  /** The web ACL's ARN as the distribution gets it. */
  readonly webAclArn: string;
  /** The paths (CloudFront path patterns) that go to the API. */
  readonly apiPathPatterns: string[];
  /** The console deployments, when `consoleDist` had a build in it. */
  readonly deployments: BucketDeployment[] = [];

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);

    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
    });
    Validations.of(this.bucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "The bucket holds only the console's build output (no user data) and is read only by CloudFront through origin access control; its writes come only from the deployment, which CloudTrail records. Server access logs would log nothing worth keeping.",
    });

    this.responseHeadersPolicy = new ResponseHeadersPolicy(this, "SecurityHeaders", {
      comment: "oncall: security headers on the console and the API",
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        // The legacy XSS auditor is off ("0"): CSP does the job, and the auditor itself leaked data.
        xssProtection: { protection: false, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()", override: true },
          { header: "Cross-Origin-Opener-Policy", value: "same-origin", override: true },
        ],
      },
    });

    // The API, uncached, every header but Host (API Gateway routes by its own host name), every method.
    const api = new HttpOrigin(Fn.select(2, Fn.split("/", props.httpApi.apiEndpoint)), {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      readTimeout: Duration.seconds(30),
    });
    const toApi: BehaviorOptions = {
      origin: api,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY, // a redirect would turn a POST into a GET
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: this.responseHeadersPolicy,
      compress: false,
    };
    // Every package the Connect services live in: `oncall.v1`, and `kneutral.directory.v1` for the
    // user directory (the console's Users page), which would otherwise reach the bucket.
    const rpcPackages = new Set(
      Object.values(serviceGroups)
        .flat()
        .map((service) => service.slice(0, service.lastIndexOf("."))),
    );
    this.apiPathPatterns = [
      ...[...rpcPackages].map((pkg) => `/${pkg}.*`),
      ...props.webhookPathPrefixes.map((prefix) => `${prefix}*`),
      "/healthz",
    ];

    // The console is a single-page app: a path without a file extension is one of its routes.
    const spaRoutes = new CloudFrontFunction(this, "SpaRoutes", {
      comment: "oncall console: serve index.html for client-side routes",
      code: FunctionCode.fromInline(
        "function handler(event) { var r = event.request; if (!/\\.[A-Za-z0-9]+$/.test(r.uri)) { r.uri = '/index.html'; } return r; }",
      ),
    });

    this.webAclArn = this.resolveWebAcl(props.webAcl);
    this.distribution = new Distribution(this, "Distribution", {
      comment: `${Stack.of(this).stackName}: console and API`,
      defaultRootObject: "index.html",
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      webAclId: this.webAclArn,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        functionAssociations: [{ function: spaRoutes, eventType: FunctionEventType.VIEWER_REQUEST }],
        compress: true,
      },
      additionalBehaviors: Object.fromEntries(this.apiPathPatterns.map((pattern) => [pattern, toApi])),
    });
    Validations.of(this.distribution).acknowledge({
      id: "AwsSolutions-CFR1",
      reason:
        "No geo restriction: alert senders (monitoring in any cloud region) and people on call (travelling) are anywhere; the web ACL limits each address instead.",
    });
    Validations.of(this.distribution).acknowledge({
      id: "AwsSolutions-CFR3",
      reason:
        "CloudFront standard logs record the full query string, and senders may pass their integration key as ?key=. API requests are logged by the API Gateway stage without the query string, and the web ACL's metrics count what it blocks.",
    });
    Validations.of(this.distribution).acknowledge({
      id: "AwsSolutions-CFR4",
      reason:
        "The distribution uses its *.cloudfront.net name and CloudFront's default certificate, whose TLS policy CloudFront sets; a custom domain (with an ACM certificate in us-east-1 and TLSv1.2_2021) is not configured yet.",
    });

    const dist = props.consoleDist ?? defaultConsoleDist;
    if (existsSync(path.join(dist, "index.html"))) this.deployConsole(dist);
  }

  /** The public URL, e.g. `https://d111111abcdef8.cloudfront.net`. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  private resolveWebAcl(source: WebAclSource): string {
    if ("arn" in source) return source.arn;
    // The edge stack lives in us-east-1; a CloudFormation reference cannot cross regions, so read its
    // SSM parameter there at deploy time. The ARN is stable: the ACL has a fixed name.
    const lookup = new AwsCustomResource(this, "WebAclLookup", {
      onUpdate: {
        service: "SSM",
        action: "GetParameter",
        parameters: { Name: webAclParameterName(source.edgeStackOf) },
        region: edgeRegion,
        physicalResourceId: PhysicalResourceId.fromResponse("Parameter.ARN"),
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({
        resources: [OncallEdgeStack.parameterArn(source.edgeStackOf)],
      }),
      installLatestAwsSdk: false,
    });
    // AwsCustomResource runs one Lambda per stack (a singleton at the stack's root), made by CDK.
    const provider = Stack.of(this).node.tryFindChild(
      AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "").replace(/^/, "AWS"),
    );
    if (provider) {
      Validations.of(provider).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason:
          "The role of CDK's AwsCustomResource Lambda (one SSM GetParameter at deploy time) is made by CDK with the basic execution policy (its own log writing); its only other right is reading this one parameter.",
      });
    }
    return lookup.getResponseField("Parameter.Value");
  }

  /**
   * Two deployments: hashed assets cached for a year (never pruned, so a browser still on the previous
   * version can load its chunks), and index.html revalidated on every load, invalidated in CloudFront.
   */
  private deployConsole(dist: string): void {
    const common = { destinationBucket: this.bucket, prune: false, memoryLimit: 512 };
    const assets = new BucketDeployment(this, "DeployAssets", {
      ...common,
      sources: [Source.asset(dist, { exclude: ["index.html"] })],
      cacheControl: [CacheControl.fromString("public, max-age=31536000, immutable")],
    });
    const index = new BucketDeployment(this, "DeployIndex", {
      ...common,
      sources: [Source.asset(dist, { exclude: ["*", "!index.html"] })],
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ["/", "/index.html"],
    });
    index.node.addDependency(assets); // the new index.html names assets that are already there
    this.deployments.push(assets, index);
    this.acknowledgeDeploymentHandler();
  }

  /** BucketDeployment's copy Lambda is one CDK singleton at the stack's root, with CDK's own policy. */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((c) => c.node.id.startsWith("Custom::CDKBucketDeployment"));
    if (!handler) return;
    const bucket = stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    const why =
      "CDK's BucketDeployment Lambda copies the console build from the CDK assets bucket into the console bucket and invalidates the distribution at deploy time; its role is written by CDK: the basic execution policy for its logs, object-level wildcards limited to the two buckets, and cloudfront:CreateInvalidation, which takes no resource-level permission.";
    for (const id of [
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      "AwsSolutions-IAM5[Action::s3:GetBucket*]",
      "AwsSolutions-IAM5[Action::s3:GetObject*]",
      "AwsSolutions-IAM5[Action::s3:List*]",
      "AwsSolutions-IAM5[Action::s3:Abort*]",
      "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
      "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
      `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/*]`,
      "AwsSolutions-IAM5[Resource::*]",
    ]) {
      Validations.of(handler).acknowledge({ id, reason: why });
    }
    Validations.of(handler).acknowledge({
      id: "AwsSolutions-L1",
      reason:
        "The BucketDeployment Lambda's runtime is chosen by CDK (it ships an AWS CLI layer for that runtime), not by us; it runs only during deploys.",
    });
  }
}
