import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type BundlingOptions, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";
import { handlerEntry, repoRoot } from "./paths.ts";

/**
 * How every Lambda is bundled, held once: OncallFunction hands it to NodejsFunction (which runs the
 * local esbuild), and infra/bundles.test.ts and bench/cold-start.bench.ts run esbuild with the same
 * options, so the sizes they check are the sizes deployed.
 */
export const lambdaBundle = {
  format: "esm",
  target: "node24",
  mainFields: ["module", "main"],
  /**
   * Lets CommonJS dependencies bundled into the ESM output call `require` (Powertools' tracer pulls
   * in aws-xray-sdk-core, which is CommonJS and requires Node built-ins at load time).
   */
  banner:
    'import { createRequire as __oncallCreateRequire } from "node:module"; const require = __oncallCreateRequire(import.meta.url);',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The nodejs24.x runtime ships the AWS SDK v3: leave it out of the bundle (smaller, faster cold
  // start); the code imports its clients with import() where first used (adapters/aws/lazy-client.ts).
  // PGlite and node-postgres serve only the embedded runtime: database.ts imports them dynamically
  // in branches a Lambda (always on the Data API) never takes. nodemailer likewise: SMTP is the
  // embedded runtime's mail path (AWS sends through SES), imported where first used (~240 KB).
  externalModules: ["@aws-sdk/*", "@electric-sql/pglite", "@electric-sql/pglite/*", "pg", "nodemailer"],
  alias: {
    /** node:http through `require`, not an ESM import (see shims/node-http.ts: ~30–90 ms less init). */
    "node:http": path.join(repoRoot, "infra", "shims", "node-http.ts"),
    /** Handlebars' optional source maps, which we never ask for (see shims/no-source-map.ts). */
    "source-map": path.join(repoRoot, "infra", "shims", "no-source-map.ts"),
    /** Only the X-Ray SDK's AWS SDK v2 patcher, which we never call (see shims/xray-semver.ts). */
    semver: path.join(repoRoot, "infra", "shims", "xray-semver.ts"),
  },
} as const;

/** The bundling props of NodejsFunction (local esbuild, no Docker). */
export function nodejsBundling(): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.ESM,
    target: lambdaBundle.target,
    mainFields: [...lambdaBundle.mainFields],
    banner: lambdaBundle.banner,
    minify: lambdaBundle.minify,
    sourceMap: lambdaBundle.sourceMap,
    sourcesContent: lambdaBundle.sourcesContent,
    externalModules: [...lambdaBundle.externalModules],
    esbuildArgs: {
      "--alias": Object.entries(lambdaBundle.alias).map(([from, to]) => `${from}=${to}`),
    },
  };
}

/** The esbuild options NodejsFunction derives from nodejsBundling(), for building a handler outside CDK. */
export function esbuildOptions(handler: string, outfile: string): BuildOptions {
  return {
    entryPoints: [handlerEntry(handler)],
    outfile,
    bundle: true,
    platform: "node",
    format: lambdaBundle.format,
    target: lambdaBundle.target,
    mainFields: [...lambdaBundle.mainFields],
    banner: { js: lambdaBundle.banner },
    minify: lambdaBundle.minify,
    sourcemap: lambdaBundle.sourceMap,
    sourcesContent: lambdaBundle.sourcesContent,
    external: [...lambdaBundle.externalModules],
    alias: { ...lambdaBundle.alias },
    absWorkingDir: repoRoot,
    logLevel: "warning",
  };
}

/** The Lambda entry points: the files of `functions/handlers/` that export `handler`. */
export function lambdaHandlers(): string[] {
  const dir = path.join(repoRoot, "functions", "handlers");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .filter((f) => /^export const handler\b/m.test(readFileSync(path.join(dir, f), "utf8")))
    .map((f) => f.slice(0, -".ts".length))
    .sort();
}
