/**
 * `npm start` to a healthy `/healthz`: on a fresh data folder, then restarted on the same folder
 * (after a SIGTERM), RUNS times each, medians printed beside a baseline measured in the same run: a
 * Node process that starts and exits (`node -e ""`), the floor any start pays.
 *
 * Run: `node bench/embedded-start.bench.ts` (Node 24: `PATH=$PWD/node_modules/.bin:$PATH`).
 * `ONCALL_REPO=<checkout>` times another checkout's `local/main.ts` (e.g. an older commit).
 * Issue 10's targets: fresh ≤ 3 s, restart ≤ 2 s.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fmt, median } from "./support.ts";

const RUNS = Number(process.env.RUNS ?? 5);
const repo = path.resolve(process.env.ONCALL_REPO ?? path.join(import.meta.dirname, ".."));

interface StartTime {
  wallMs: number;
  /** CPU time of the process until healthy (user + system, from /proc): steadier on a busy machine. */
  cpuMs: number;
}

function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** Starts `node local/main.ts`, resolves with the time until /healthz answered 200, then stops it. */
async function timeStart(dataDir: string): Promise<StartTime> {
  const started = performance.now();
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ["local/main.ts"], {
    cwd: repo,
    env: { ...env, PORT: "0", ONCALL_DATA_DIR: dataDir, ONCALL_ADMIN_TOKEN: "bench-admin-token-0123456789" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
      const url = output.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1];
      if (url && (await fetch(`${url}/healthz`).catch(() => undefined))?.ok) {
        return { wallMs: performance.now() - started, cpuMs: cpuMsOf(child.pid) };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

function nodeFloor(): number {
  const started = performance.now();
  execFileSync(process.execPath, ["-e", ""]);
  return performance.now() - started;
}

const floor: number[] = [];
const fresh: StartTime[] = [];
const restart: StartTime[] = [];
for (let i = 0; i < RUNS; i++) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "oncall-start-bench-"));
  try {
    floor.push(nodeFloor());
    fresh.push(await timeStart(dataDir));
    restart.push(await timeStart(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const base = median(floor);
const line = (label: string, times: StartTime[]) => {
  const wall = median(times.map((t) => t.wallMs));
  const cpu = median(times.map((t) => t.cpuMs));
  console.log(
    `${label} ${fmt(wall)} ms wall (${fmt(wall / base, 1)}× baseline), ${fmt(cpu)} ms CPU [wall: ${times.map((t) => fmt(t.wallMs)).join(", ")}]`,
  );
};
console.log(`${repo}: npm start (node local/main.ts) to /healthz 200, PGlite, medians of ${RUNS}`);
console.log(`baseline: node -e "" ${fmt(base)} ms`);
line("fresh data folder:", fresh);
line("restart:          ", restart);
