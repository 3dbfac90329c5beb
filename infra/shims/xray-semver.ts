/**
 * `semver` for the Lambda bundles (esbuild `alias`, infra/bundling.ts). Its only importer there is
 * aws-xray-sdk-core's patcher for the AWS SDK v2 (`captureAWS`, patchers/aws_p.js), which checks the
 * SDK's version; we trace SDK v3 clients only (`captureAWSv3Client`). The package is 28 KB of every
 * bundle and builds its regular expressions at load; infra/bundles.test.ts fails if anything else
 * starts importing it.
 */
export function gte(): never {
  throw new Error(
    "semver is not bundled: the Lambdas trace AWS SDK v3 clients only (infra/shims/xray-semver.ts)",
  );
}
