import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../functions/adapters/observability.ts";

const repoRoot = new URL("..", import.meta.url).pathname;
export const consoleDir = join(repoRoot, "console");
export const consoleDist = join(consoleDir, "dist");

/** What the bundle is built from: the console's sources and the generated protobuf code. */
const sources = [
  join(consoleDir, "src"),
  join(consoleDir, "index.html"),
  join(consoleDir, "vite.config.ts"),
  join(repoRoot, "functions/gen"),
];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Whether console/dist is missing or older than a source file (an edit since `npm ci` built it). */
export function consoleBuildIsStale(): boolean {
  const index = join(consoleDist, "index.html");
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return sources.some((s) => newestMtime(s) > built);
}

/**
 * `npm ci` builds the console (the `prepare` script); `npm start` rebuilds it here only when it is
 * missing or stale. The build goes to a private folder that then replaces dist/, so a server
 * starting meanwhile never reads half a bundle. Returns the folder to serve, or undefined when
 * there is no console (Vite not installed, e.g. `npm ci --omit=dev`): the API still runs.
 */
export async function ensureConsoleBuilt(): Promise<string | undefined> {
  if (existsSync(consoleDir) && consoleBuildIsStale()) {
    let vite: typeof import("vite");
    try {
      vite = await import("vite");
    } catch {
      logger.warn("console: Vite is not installed, so the console cannot be built (run npm ci)");
      return existsSync(join(consoleDist, "index.html")) ? consoleDist : undefined;
    }
    const outDir = join(consoleDir, `.dist-${process.pid}`);
    console.error("oncall: building the console (console/dist is missing or older than its sources)…");
    try {
      await vite.build({
        configFile: join(consoleDir, "vite.config.ts"),
        logLevel: "warn",
        build: { outDir },
      });
      rmSync(consoleDist, { recursive: true, force: true });
      try {
        renameSync(outDir, consoleDist);
      } catch {
        // Another process built it at the same moment: theirs is as good.
        rmSync(outDir, { recursive: true, force: true });
      }
    } catch (err) {
      rmSync(outDir, { recursive: true, force: true });
      logger.error("console: build failed; serving the API without it", { error: err as Error });
    }
  }
  return existsSync(join(consoleDist, "index.html")) ? consoleDist : undefined;
}
