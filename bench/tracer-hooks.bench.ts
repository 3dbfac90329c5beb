/**
 * What loading the X-Ray SDK costs every promise of a process: cls-hooked (under aws-xray-sdk-core,
 * under Powertools' Tracer) installs async hooks when the SDK is imported, traced or not. Times
 * 2,000,000 awaits in a fresh Node process without the SDK (the baseline) and with the Tracer
 * loaded, RUNS times each, alternating, and prints the medians and their ratio. This is why
 * `loadTracer()` (functions/adapters/observability.ts) imports the SDK only in a Lambda with tracing on.
 *
 * Run: `node bench/tracer-hooks.bench.ts` (Node 24: `PATH=$PWD/node_modules/.bin:$PATH`).
 */
import { execFileSync } from "node:child_process";
import { fmt, median } from "./support.ts";

const RUNS = Number(process.env.RUNS ?? 5);
const awaits = 2_000_000;

function timeAwaits(loadTracer: boolean): number {
  const script = `
    ${loadTracer ? 'const { Tracer } = await import("@aws-lambda-powertools/tracer"); new Tracer({ serviceName: "bench" });' : ""}
    const step = async (i) => i + 1;
    const started = performance.now();
    let sum = 0;
    for (let i = 0; i < ${awaits}; i++) sum += await step(i);
    process.stdout.write(String(performance.now() - started));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: import.meta.dirname,
    encoding: "utf8",
  });
  return Number(out);
}

const without: number[] = [];
const withTracer: number[] = [];
for (let run = 0; run < RUNS; run++) {
  without.push(timeAwaits(false));
  withTracer.push(timeAwaits(true));
}
const base = median(without);
const loaded = median(withTracer);
console.log(`${fmt(awaits)} awaits in one process, medians of ${RUNS}:`);
console.log(`  without the X-Ray SDK (baseline): ${fmt(base)} ms`);
console.log(
  `  with Powertools' Tracer loaded:   ${fmt(loaded)} ms (${(loaded / base).toFixed(1)}× the baseline)`,
);
