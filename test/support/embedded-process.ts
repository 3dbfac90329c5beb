import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

// `npm start` (node local/main.ts) as a child process, for tests that restart or kill it.

const repoRoot = new URL("../..", import.meta.url).pathname;

export interface EmbeddedProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  readonly exited: Promise<number | null>;
}

/** Starts the embedded runtime on `port` with `env` added to this process's environment. */
export function startEmbeddedProcess(port: number, env: Record<string, string>): EmbeddedProcess {
  let output = "";
  const child = spawn(process.execPath, ["local/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Resolves once `/healthz` answers 200; throws with the process output if it exits or takes too long. */
export async function waitHealthy(started: EmbeddedProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${started.url}/healthz`).catch(() => undefined);
    if (res?.ok) return;
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`exited early:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not healthy after ${timeoutMs} ms:\n${started.output()}`);
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
