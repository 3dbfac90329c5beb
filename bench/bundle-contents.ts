/**
 * What a Lambda bundle is made of: its bytes by package (or folder of ours) and by module, from
 * esbuild's metafile with the options CDK uses (infra/bundling.ts), and why a module is in it (the
 * shortest import chain from the handler).
 *
 * Run: `node bench/bundle-contents.ts <handler> [top] [module...]`, e.g.
 * `node bench/bundle-contents.ts api-alerts 30 re2js libphonenumber-js` (Node 24).
 */
import { build } from "esbuild";
import { esbuildOptions, lambdaHandlers } from "../infra/bundling.ts";

const [name = "api-core", topArg = "30", ...wanted] = process.argv.slice(2);
if (!lambdaHandlers().includes(name)) throw new Error(`no handler ${name}: ${lambdaHandlers().join(", ")}`);
const top = Number(topArg);
const { metafile } = await build({
  ...esbuildOptions(name, `/bundles/${name}/index.mjs`),
  write: false,
  metafile: true,
});
const [, output] = Object.entries(metafile.outputs).find(([file]) => file.endsWith(".mjs"))!;

const byPackage = new Map<string, number>();
const byModule: [string, number][] = [];
for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
  const pkg =
    input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split("/").slice(0, 3).join("/");
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
  byModule.push([input, bytesInOutput]);
}
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(5)} KB`;
console.log(`${name}: ${output.bytes} bytes minified`);
console.log("by package or folder:");
for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${kb(bytes)}  ${pkg}`);
}
console.log("by module:");
for (const [input, bytes] of byModule.sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${kb(bytes)}  ${input}`);
}

// Breadth-first from the handler: the first importer found is on a shortest chain.
const entry = Object.keys(metafile.inputs).find((k) => k.endsWith(`functions/handlers/${name}.ts`))!;
const importer = new Map<string, string>([[entry, ""]]);
const queue = [entry];
for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
  for (const { path } of metafile.inputs[file]?.imports ?? []) {
    if (!metafile.inputs[path] || importer.has(path)) continue;
    importer.set(path, file);
    queue.push(path);
  }
}
for (const module of wanted) {
  const hit = [...importer.keys()].find((k) => k.includes(module));
  if (!hit) {
    console.log(`${module}: not in the bundle`);
    continue;
  }
  const chain: string[] = [];
  for (let f: string | undefined = hit; f; f = importer.get(f)) chain.unshift(f);
  console.log(`${module}:\n  ${chain.join("\n  → ")}`);
}
