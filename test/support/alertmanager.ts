import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

// Debian's prometheus-alertmanager as the real sender of the end-to-end suites: configured with one
// webhook receiver pointing at the server under test. `.ci/run` installs it.

export const alertmanagerBinary = "/usr/bin/prometheus-alertmanager";

export const alertmanagerAvailable = (() => {
  try {
    execFileSync(alertmanagerBinary, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    console.warn(
      `SKIPPED Alertmanager suites: ${alertmanagerBinary} is missing (apt-get install prometheus-alertmanager)`,
    );
    return false;
  }
})();

export interface RunningAlertmanager {
  /** Its API, e.g. `${url}/api/v2/alerts`. */
  readonly url: string;
  /** What it printed so far (for failure messages). */
  output(): string;
  /** Stops it and, once it has exited, removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager with one receiver, `webhookUrl` with `credentials` as its bearer token, groups
 * sent at once (group_wait 0s), and resolves once it is ready.
 */
export async function startAlertmanager(options: {
  webhookUrl: string;
  credentials: string;
  /** @default ["alertname"]; null: no group_by (one group per label set) */
  groupBy?: readonly string[] | null;
  /** @default true */
  sendResolved?: boolean;
  /** Extra command-line flags, e.g. `--log.level=debug`. */
  args?: readonly string[];
  /** @default 20 s */
  readyTimeoutMs?: number;
}): Promise<RunningAlertmanager> {
  const workDir = mkdtempSync(join(tmpdir(), "oncall-am-"));
  const groupBy = options.groupBy === undefined ? ["alertname"] : options.groupBy;
  writeFileSync(
    join(workDir, "alertmanager.yml"),
    [
      "route:",
      "  receiver: oncall",
      ...(groupBy ? [`  group_by: [${groupBy.join(", ")}]`] : []),
      "  group_wait: 0s",
      "  group_interval: 1s",
      "  repeat_interval: 1h",
      "receivers:",
      "  - name: oncall",
      "    webhook_configs:",
      `      - url: ${options.webhookUrl}`,
      ...((options.sendResolved ?? true) ? ["        send_resolved: true"] : []),
      "        http_config:",
      "          authorization:",
      `            credentials: ${options.credentials}`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(
    alertmanagerBinary,
    [
      `--config.file=${join(workDir, "alertmanager.yml")}`,
      `--storage.path=${join(workDir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  // A child that never started ("error", no "exit") counts as exited too: stop() must not hang on it.
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  // Alertmanager writes its state (nflog, silences) into the folder as it shuts down: removing the
  // folder before it has exited races those writes (ENOTEMPTY).
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const stuck = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(stuck);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true,
      options.readyTimeoutMs ?? 20_000,
      () => output,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => output, stop };
}

/** Polls `check` until it holds; throws after `timeoutMs` with the tail of `context()`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  context?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms${context ? `\n${context().slice(-3000)}` : ""}`);
}

/** A port free on 127.0.0.1 right now. */
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

/**
 * Starts Alertmanager before the enclosing suite's tests (`options` is read then, once the server it
 * sends to is up) and stops it after them. `url` is its API; `output()` what it printed (for
 * failure messages), empty before it started.
 */
export function useAlertmanager(options: () => Parameters<typeof startAlertmanager>[0]): {
  readonly url: string;
  output(): string;
} {
  let running: RunningAlertmanager | undefined;
  beforeAll(async () => {
    running = await startAlertmanager(options());
  });
  afterAll(async () => {
    await running?.stop();
  });
  return {
    get url() {
      if (!running) throw new Error("Alertmanager has not started (use its url inside a test)");
      return running.url;
    },
    output: () => running?.output() ?? "",
  };
}
