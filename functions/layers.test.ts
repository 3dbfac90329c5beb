import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The layers of functions/ (see functions/README.md), checked on every relative import of the
// production code: handlers/ and api/ (entry points) → app/ (use cases) → adapters/ → domain/.

const root = new URL(".", import.meta.url).pathname;

type Layer = "handlers" | "api" | "app" | "adapters" | "domain" | "gen";

/** Production files (tests and generated code left out) with their relative imports. */
function sourceFiles(dir = root): { file: string; imports: string[] }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : sourceFiles(path);
    if (!entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) return [];
    const text = readFileSync(path, "utf8");
    const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) =>
      relative(root, resolve(dirname(path), m[1]!)),
    );
    return [{ file: relative(root, path), imports }];
  });
}

const layerOf = (path: string) => path.split("/")[0] as Layer;

/** What each layer may import (besides itself and npm packages). */
const allowed: Record<Layer, readonly Layer[]> = {
  domain: [],
  gen: [],
  adapters: ["domain", "gen"],
  app: ["adapters", "domain"],
  api: ["app", "adapters", "domain", "gen"],
  handlers: ["api", "app", "adapters", "domain"],
};

describe("layers of functions/", () => {
  const files = sourceFiles();

  it("finds the code it checks", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(new Set(files.map((f) => layerOf(f.file)))).toEqual(
      new Set(["handlers", "api", "app", "adapters", "domain"]),
    );
  });

  it("imports only from the layers below", () => {
    const violations = files.flatMap(({ file, imports }) =>
      imports
        .filter((target) => !target.startsWith("../")) // package.json and the like
        .filter(
          (target) => layerOf(target) !== layerOf(file) && !allowed[layerOf(file)].includes(layerOf(target)),
        )
        .map((target) => `${file} → ${target}`),
    );
    expect(violations).toEqual([]);
  });

  it("keeps the domain free of I/O: no node: modules but hashing, no process.env", () => {
    const impure = files
      .filter((f) => layerOf(f.file) === "domain")
      .filter(({ file }) =>
        /from "node:(?!crypto")|process\.env/.test(readFileSync(join(root, file), "utf8")),
      )
      .map((f) => f.file);
    expect(impure).toEqual([]);
  });

  it("lets entry points reach stores only through use cases", () => {
    const direct = files
      .filter((f) => ["handlers", "api"].includes(layerOf(f.file)))
      .flatMap(({ file, imports }) =>
        imports.filter((t) => t.startsWith("adapters/db/stores/")).map((t) => `${file} → ${t}`),
      );
    expect(direct).toEqual([]);
  });

  it("writes alert states in SQL only through the lifecycle module", () => {
    // Migrations are history (their DDL names the states once); everything else takes them from
    // domain/alerts/lifecycle.ts.
    const literals = files
      .filter(({ file }) => !file.includes("/migrations/") && file !== "domain/alerts/lifecycle.ts")
      .flatMap(({ file }) =>
        readFileSync(join(root, file), "utf8")
          .split("\n")
          .map((line, i) => [line, i + 1] as const)
          .filter(([line]) => /'(triggered|acknowledged|resolved)'/.test(line))
          .map(([line, n]) => `${file}:${n}: ${line.trim()}`),
      );
    expect(literals).toEqual([]);
  });
});
