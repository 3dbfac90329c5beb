import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** What the console bundle is built from: its sources, the generated protobuf code, the locked dependencies. */
const inputs = [
  "console/src",
  "console/index.html",
  "console/vite.config.ts",
  "functions/gen",
  "package-lock.json",
];

/**
 * A digest of the console's inputs by content, not modification time: `npm run generate` rewrites
 * functions/gen with the same bytes, and a fresh clone has arbitrary mtimes. Vite writes it into
 * dist/.source-hash; `npm start` rebuilds when it differs.
 */
export function consoleSourceHash(repoRoot: string): string {
  const hash = createHash("sha256");
  const files: string[] = [];
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path)) if (!name.endsWith(".test.ts")) walk(join(path, name));
    } else files.push(path);
  };
  for (const input of inputs) walk(join(repoRoot, input));
  for (const file of files.sort()) {
    hash.update(relative(repoRoot, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}
