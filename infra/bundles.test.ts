import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { esbuildOptions, lambdaHandlers } from "./bundling.ts";

/**
 * Budgets of the minified bundles (bytes of index.mjs, without its source map), per function.
 * A bundle is parsed and evaluated at every cold start; a dependency that slips in through an import
 * (a namespace import of kysely, an SDK client imported statically, every migration) shows here
 * first. Raise a budget only for code the function needs, and say why in the commit.
 */
const budgets: Record<string, number> = {
  // Issue 10's goal is 300 KB; the API also carries the Handlebars compiler for saved templates.
  // + the user directory: its service and Connect client (~40 KB) and the full phone-number metadata
  // (~190 KB: libphonenumber-js/max validates the digits, not only the length); +5–8 ms init CPU.
  // Issue 12 (delivery): the planner, deliveries store and NotificationService (~25 KB).
  // + the delivery providers (~15 KB: Slack, Teams, webhook, SES, SNS, the SSRF guard).
  api: 1_180_000,
  // Issue 12: ingest runs the delivery effects (planner, deliveries store, ~8 KB); RunStep plans its
  // notifications' deliveries at once (the effect registry, the planner: ~14 KB).
  ingest: 450_000,
  // (+ the providers registry its AWS context builds since the providers merge, ~25 KB)
  "escalation-step": 500_000,
  "escalation-failure": 365_000,
  housekeeping: 445_000,
  // The sender renders (Handlebars, ~170 KB) and carries the Powertools batch processor.
  "delivery-sender": 700_000,
  migrate: 385_000,
};

/** The biggest contributors by package or folder, to make a failure actionable. */
function contributors(metafile: Metafile, top = 8): string {
  const by = new Map<string, number>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!file.endsWith(".mjs")) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg =
        input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split("/").slice(0, 3).join("/");
      by.set(pkg, (by.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${Math.round(v / 1024)} KB ${k}`)
    .join(", ");
}

describe("Lambda bundles (the esbuild options of infra/bundling.ts)", () => {
  it("has a budget for every handler", () => {
    expect(Object.keys(budgets).sort()).toEqual(lambdaHandlers());
  });

  it.each(lambdaHandlers())(
    "%s stays within its budget and loads no AWS SDK client at init",
    async (name) => {
      const result = await build({
        ...esbuildOptions(name, `/bundles/${name}/index.mjs`),
        write: false,
        metafile: true,
      });
      const code = result.outputFiles.find((f) => f.path.endsWith(".mjs"));
      if (!code) throw new Error("no index.mjs in the output");
      const bytes = code.contents.byteLength;
      const gzip = gzipSync(code.contents).byteLength;
      console.log(`${name}: ${bytes} bytes minified, ${gzip} gzip (budget ${budgets[name]})`);

      expect(bytes, `${name} bundle: ${contributors(result.metafile)}`).toBeLessThanOrEqual(
        budgets[name] ?? 0,
      );
      // An external imported statically is loaded at init whatever the code path: SDK clients are
      // imported with import() where first used (functions/adapters/aws/lazy-client.ts); node:http is
      // required, not imported (infra/shims/node-http.ts).
      const staticExternals = Object.values(result.metafile.outputs)
        .flatMap((o) => o.imports)
        .filter((i) => i.external && i.kind === "import-statement")
        .map((i) => i.path)
        .filter((p) => p.startsWith("@") || p === "pg" || p === "node:http" || p === "http");
      expect(staticExternals).toEqual([]);
    },
  );
});
