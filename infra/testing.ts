import { readFileSync } from "node:fs";
import path from "node:path";
import { App } from "aws-cdk-lib";
import { repoRoot } from "./paths.ts";

/** The context of cdk.json (feature flags and oncall settings), so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(repoRoot, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * An App for tests with cdk.json's context. Without `bundling: true` the Lambdas are not bundled
 * (their code is a placeholder asset), which keeps construct tests to milliseconds.
 */
export function createTestApp(options: { bundling?: boolean; context?: Record<string, unknown> } = {}): App {
  return new App({
    context: {
      ...cdkJsonContext(),
      ...(options.bundling ? {} : { "aws:cdk:bundling-stacks": [] }),
      ...options.context,
    },
  });
}
