import { type ChildProcess, spawn } from "node:child_process";

// `npm start` (node local/main.ts) as a child process, for tests that restart or kill it.
// PORT=0 by default: the OS picks a free port and the start-up banner says which, so suites
// running in parallel can never collide on a port.

const repoRoot = new URL("../..", import.meta.url).pathname;

export interface EmbeddedProcess {
  readonly child: ChildProcess;
  /** The base URL from the banner; throws before the server has printed it. */
  readonly url: string;
  output(): string;
  readonly exited: Promise<number | null>;
}

/** Starts the embedded runtime with `env` added to this process's environment. */
export function startEmbeddedProcess(env: Record<string, string>): EmbeddedProcess {
  let output = "";
  // The embedded default (PGlite in ONCALL_DATA_DIR) unless the test asks for a server: CI's
  // DATABASE_URL is meant for the database suites, not for these processes.
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ["local/main.ts"], {
    cwd: repoRoot,
    env: { ...inherited, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    get url() {
      const url = output.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1];
      if (!url) throw new Error(`the server has not printed its URL yet:\n${output}`);
      return url;
    },
    output: () => output,
    exited,
  };
}

/** Resolves with the URL once `/healthz` answers 200; throws with the output if it exits or takes too long. */
export async function waitHealthy(started: EmbeddedProcess, timeoutMs = 240_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const url = started.output().match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1];
    if (url && (await fetch(`${url}/healthz`).catch(() => undefined))?.ok) return url;
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`exited early:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not healthy after ${timeoutMs} ms:\n${started.output()}`);
}
