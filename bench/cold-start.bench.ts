/**
 * Lambda cold path: every function's bundle, built with the esbuild options CDK uses
 * (infra/bundling.ts), then imported in a fresh Node process RUNS times; medians printed beside the
 * import of an empty module in the same folder, measured in the same run (the baseline: Node's own
 * start-up of an ES module).
 *
 * Per function: minified and gzip size; **init** = the bundle's module import (what Lambda's Init
 * phase runs), wall and CPU time (CPU is steadier on a busy machine); and **+ Data API client** = what
 * the first invocation that touches the database pays on top before its first round trip (importing
 * `@aws-sdk/client-rds-data` and creating the client; now lazy, see functions/adapters/aws/lazy-client.ts).
 * Processes run with NODE_OPTIONS=--enable-source-maps like the deployed functions. The SDK resolves
 * from node_modules here, from the runtime's copy on Lambda.
 *
 * Run: `node bench/cold-start.bench.ts` (Node 24: `PATH=$PWD/node_modules/.bin:$PATH`).
 * `BUNDLES=<folder>` measures prebuilt `<name>.mjs` files instead (e.g. bundles of an older commit;
 * the folder must be inside the repository so that `@aws-sdk/*` resolves).
 * Issue 10's targets: API ≤ 300 KB minified, every function's init ≤ 150 ms.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { esbuildOptions, lambdaHandlers } from "../infra/bundling.ts";
import { repoRoot } from "../infra/paths.ts";
import { fmt, median } from "./support.ts";

const RUNS = Number(process.env.RUNS ?? 5);
const prebuilt = process.env.BUNDLES ? path.resolve(process.env.BUNDLES) : undefined;
const dir = prebuilt ?? path.join(repoRoot, "node_modules", ".cache", "oncall-cold-start");
mkdirSync(dir, { recursive: true });

// Prebuilt: every bundle of the folder (an older commit may have other functions than today's).
const names = prebuilt
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".mjs") && f !== "empty-baseline.mjs")
      .map((f) => f.slice(0, -".mjs".length))
      .sort()
  : lambdaHandlers();
if (!prebuilt) {
  for (const name of names) await build(esbuildOptions(name, path.join(dir, `${name}.mjs`)));
}
const empty = path.join(dir, "empty-baseline.mjs");
writeFileSync(empty, "export {};\n");

// The child: import the bundle, then the Data API client as the first database call would.
const child = `
const cpu0 = process.cpuUsage(); const t0 = performance.now();
await import(process.argv[1]);
const initMs = performance.now() - t0; const c1 = process.cpuUsage(cpu0);
const t1 = performance.now();
if (process.argv[2] === "rds") {
  const { RDSDataClient } = await import("@aws-sdk/client-rds-data");
  new RDSDataClient({});
}
const clientMs = performance.now() - t1;
process.stdout.write(JSON.stringify({ initMs, initCpuMs: (c1.user + c1.system) / 1000, clientMs }));`;

interface Sample {
  initMs: number;
  initCpuMs: number;
  clientMs: number;
}

function measure(file: string, rds: boolean): { init: number; cpu: number; client: number } {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", child, file, rds ? "rds" : ""], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: "--enable-source-maps", AWS_REGION: "eu-west-1" },
    });
    samples.push(JSON.parse(out.toString()) as Sample);
  }
  return {
    init: median(samples.map((s) => s.initMs)),
    cpu: median(samples.map((s) => s.initCpuMs)),
    client: median(samples.map((s) => s.clientMs)),
  };
}

const baseline = measure(empty, false);
console.log(`bundles: ${dir}; ${RUNS} fresh processes each, medians`);
console.log(`baseline (empty module): init ${fmt(baseline.init, 1)} ms wall, ${fmt(baseline.cpu, 1)} ms CPU`);
console.log(
  "function            minified     gzip   init wall (× empty)   init CPU (× empty)   + Data API client",
);
for (const name of names) {
  const file = path.join(dir, `${name}.mjs`);
  const code = readFileSync(file);
  const m = measure(file, true);
  console.log(
    [
      name.padEnd(18),
      `${fmt(code.byteLength / 1024)} KB`.padStart(9),
      `${fmt(gzipSync(code).byteLength / 1024)} KB`.padStart(8),
      `${fmt(m.init, 1)} ms (${fmt(m.init / baseline.init, 1)}×)`.padStart(21),
      `${fmt(m.cpu, 1)} ms (${fmt(m.cpu / baseline.cpu, 1)}×)`.padStart(20),
      `${fmt(m.client, 1)} ms`.padStart(19),
    ].join(" "),
  );
}
