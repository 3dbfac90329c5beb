import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { esbuildOptions, lambdaHandlers } from "./bundling.ts";
import { handlerEntry, repoRoot } from "./paths.ts";

/**
 * Budgets of the minified bundles (bytes of index.mjs, without its source map), per function.
 * A bundle is parsed and evaluated at every cold start; a dependency that slips in through an import
 * (a namespace import of kysely, an SDK client imported statically, every migration) shows here
 * first. Raise a budget only for code the function needs, and say why in the commit. Budgets sit
 * about 3% above the sizes measured when they were set: ordinary growth fits, a dependency that slips
 * in (tens of KB) does not.
 */
const budgets: Record<string, number> = {
  // Issue 10's goal is 300 KB for the API. One Lambda for every RPC was 1,471 KB; the API is now four
  // Lambdas, one per service group (functions/api/service-groups.ts), each with only its services.
  // 300 KB is still out of reach for any of them: what every Connect Lambda needs is ~465 KB before
  // its first service (kysely 158 KB, protobuf runtime + descriptors 101 KB, the X-Ray SDK under
  // Powertools' tracer ~80 KB, Powertools logger/metrics/commons 35 KB, Connect 36 KB, the Data API
  // dialect). Reaching 300 KB would take dropping the X-Ray SDK (Lambda's own segment only, or a
  // small emitter) and a query builder that tree-shakes (kysely's Kysely class keeps its schema
  // module and every builder), or code splitting with lazily loaded chunks (NodejsFunction writes
  // one file; it would need our own asset bundling).
  // Core (services, keys, schedules, policies, outbox, health): the floor plus their stores.
  "api-core": 620_000,
  // + the condition engine (re2js 147 KB, cel-js 81 KB: routing rules, maintenance windows) and the
  // effects an alert change runs (routing, escalation, delivery planning).
  "api-alerts": 990_000,
  // + the phone-number metadata (190 KB: libphonenumber-js/max validates the digits, not only the
  // length; /min would be 73 KB less and accepts e.g. +49 0123 4567890) and Luxon (70 KB, time zones).
  "api-contacts": 855_000,
  // + Handlebars (81 KB) and Luxon (70 KB) for templates and their date helpers.
  "api-notifications": 772_000,
  // Every function that runs effects carries the effect registry, hence the route effect and the
  // condition engine (re2js + cel-js, 228 KB): ingest, housekeeping, RunStep (it runs its
  // notifications' deliveries at once). Since the remote directory reached every function that plans
  // or sends deliveries (dc14706), ingest, RunStep, housekeeping and the sender also carry its Connect
  // client, its descriptors and the protobuf runtime (~130 KB).
  // Ingest also carries the no-rule fast path of routing (one shared decision per request, 2026-11-30).
  ingest: 876_000,
  "escalation-step": 836_000,
  "escalation-failure": 338_000,
  housekeeping: 876_000,
  // The sender renders (Handlebars, Luxon) and carries the Powertools batch processor. It routes
  // nothing, so it no longer carries the maintenance check and its condition engine (-250 KB).
  "delivery-sender": 714_000,
  // Migrate bundles every migration (~3–5 KB each): it grows by one per schema change.
  migrate: 395_000,
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
      // A Lambda that can route an alert must pass the maintenance check to its context
      // (functions/app/aws-context.ts): without it, routing would ignore maintenance windows.
      if (Object.keys(result.metafile.inputs).includes("functions/app/routing.ts")) {
        expect(readFileSync(handlerEntry(name), "utf8")).toContain(
          "maintenanceCheck: createMaintenanceCheck",
        );
      }
      // The shims stand in for packages that only one dependency imports, for a feature we don't
      // use (infra/shims/): a new importer would get the shim instead of the package.
      for (const importer of importersOf(result.metafile, "infra/shims/xray-semver.ts")) {
        expect(importer).toMatch(/aws-xray-sdk-core\/dist\/lib\/patchers\/aws_p\.js$/);
      }
      for (const importer of importersOf(result.metafile, "infra/shims/no-source-map.ts")) {
        expect(importer).toMatch(/handlebars\/dist\/cjs\/handlebars\/compiler\/code-gen\.js$/);
      }
    },
  );

  it("compiles and renders a template with Handlebars bundled without source-map", async () => {
    // Inside the repository, so that the bundle's externals resolve from node_modules.
    const dir = mkdtempSync(path.join(repoRoot, "node_modules", ".cache", "bundle-test-"));
    try {
      const outfile = path.join(dir, "templates.mjs");
      const { metafile } = await build({
        ...esbuildOptions("api-notifications", outfile),
        entryPoints: [path.join(repoRoot, "functions", "domain", "templates", "index.ts")],
        sourcemap: false,
        metafile: true,
      });
      expect(Object.keys(metafile.inputs).filter((i) => i.includes("node_modules/source-map/"))).toEqual([]);
      expect(importersOf(metafile, "infra/shims/no-source-map.ts")).not.toEqual([]);
      const templates = (await import(
        pathToFileURL(outfile).href
      )) as typeof import("../functions/domain/templates/index.ts");
      const template = templates.compileTemplate("alert", {
        sms: { text: "{{#if alert}}[{{alert.summary}}]{{/if}}" },
      });
      const context = {
        ...templates.sampleContext("alert"),
        alert: { ...templates.sampleContext("alert").alert!, summary: "disk <full>" },
      };
      const [sms] = templates.renderChannels(template, template, context, ["sms"]);
      expect(sms?.errors).toEqual([]);
      expect(sms?.parts[0]?.content).toBe("[disk <full>]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The inputs of a bundle that import `file` (a path relative to the repository). */
function importersOf(metafile: Metafile, file: string): string[] {
  return Object.entries(metafile.inputs)
    .filter(([, input]) => input.imports.some((i) => i.path === file))
    .map(([importer]) => importer);
}
