import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { logger } from "../functions/adapters/observability.ts";
import { consoleSourceHash } from "./console-source-hash.ts";

const repoRoot = new URL("..", import.meta.url).pathname;
export const consoleDir = join(repoRoot, "console");
export const consoleDist = join(consoleDir, "dist");
const lockFile = join(consoleDir, ".build-lock");

/** Whether console/dist is missing or was built from other sources than the ones here now. */
export function consoleBuildIsStale(): boolean {
  const built = join(consoleDist, ".source-hash");
  if (!existsSync(join(consoleDist, "index.html")) || !existsSync(built)) return true;
  return readFileSync(built, "utf8").trim() !== consoleSourceHash(repoRoot);
}

/**
 * `npm ci` builds the console (the `prepare` script); `npm start` rebuilds it here only when it is
 * missing or stale (its sources changed since). Several servers starting at once (the test suites)
 * build it once: a lock file serializes them, and each re-checks after waiting. Returns the folder
 * to serve, or undefined when there is no console (Vite not installed, e.g. `npm ci --omit=dev`):
 * the API runs without it.
 */
export async function ensureConsoleBuilt(): Promise<string | undefined> {
  const available = () => (existsSync(join(consoleDist, "index.html")) ? consoleDist : undefined);
  if (!existsSync(consoleDir)) return undefined;
  const viteBin = join(repoRoot, "node_modules/vite/bin/vite.js");
  for (;;) {
    if (!consoleBuildIsStale()) return consoleDist;
    if (!existsSync(viteBin)) {
      logger.warn("console: Vite is not installed, so the console cannot be built (run npm ci)");
      return available();
    }
    let lock: number;
    try {
      lock = openSync(lockFile, "wx");
    } catch {
      // Another process is building; a lock older than any build is left from a killed one.
      if (Date.now() - (statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) {
        rmSync(lockFile, { force: true });
      }
      await sleep(250);
      continue;
    }
    try {
      if (consoleBuildIsStale()) await build(viteBin);
    } finally {
      closeSync(lock);
      unlinkSync(lockFile);
    }
    return available();
  }
}

async function build(viteBin: string): Promise<void> {
  const outDir = join(consoleDir, `.dist-${process.pid}`);
  console.error("oncall: building the console (console/dist is missing or its sources changed)…");
  // A child process with NODE_ENV=production: React's production build whatever this process runs
  // under (vitest sets NODE_ENV=test), and the bundler's memory is not kept by the server.
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
  if (code !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    logger.error("console: build failed; serving the previous build, if any", { exitCode: code });
    return;
  }
  rmSync(consoleDist, { recursive: true, force: true });
  renameSync(outDir, consoleDist);
}
