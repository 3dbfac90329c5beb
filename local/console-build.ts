import { spawn } from "node:child_process";
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
    const viteBin = join(repoRoot, "node_modules/vite/bin/vite.js");
    if (!existsSync(viteBin)) {
      logger.warn("console: Vite is not installed, so the console cannot be built (run npm ci)");
      return existsSync(join(consoleDist, "index.html")) ? consoleDist : undefined;
    }
    const outDir = join(consoleDir, `.dist-${process.pid}`);
    console.error("oncall: building the console (console/dist is missing or older than its sources)…");
    // A child process with NODE_ENV=production: React's production build whatever this process
    // runs under (vitest sets NODE_ENV=test), and the bundler's memory is not kept by the server.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [viteBin, "build", consoleDir, "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
        {
          cwd: repoRoot,
          env: { ...process.env, NODE_ENV: "production" },
          stdio: ["ignore", "inherit", "inherit"],
        },
      );
      child.once("error", () => resolve(-1));
      child.once("exit", (c) => resolve(c));
    });
    if (code === 0) {
      rmSync(consoleDist, { recursive: true, force: true });
      try {
        renameSync(outDir, consoleDist);
      } catch {
        // Another process built it at the same moment: theirs is as good.
        rmSync(outDir, { recursive: true, force: true });
      }
    } else {
      rmSync(outDir, { recursive: true, force: true });
      logger.error("console: build failed; serving the API without it", { exitCode: code });
    }
  }
  return existsSync(join(consoleDist, "index.html")) ? consoleDist : undefined;
}
