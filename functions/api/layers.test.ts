import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

// Entry points call use cases, not stores: an RPC file may take row types from a store, never its
// functions. (alert-service.ts is being moved onto app/ by the alert lifecycle work.)
const apiDir = new URL(".", import.meta.url).pathname;
const pending = new Set(["services/alert-service.ts"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

it("RPC files import no store function", () => {
  const offenders: string[] = [];
  for (const file of sources(apiDir)) {
    const name = relative(apiDir, file);
    if (pending.has(name)) continue;
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/^import\s+(type\s+)?\{?[^;]*?\}?\s*from\s+"([^"]+)";/gms)) {
      if (!match[1] && /adapters\/db\/(stores|migrate)/.test(match[2]!))
        offenders.push(`${name}: ${match[2]}`);
    }
  }
  expect(offenders).toEqual([]);
});
