import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `npm start` as a user runs it: a child process on a fresh data folder, stopped and started again.
const repoRoot = new URL("..", import.meta.url).pathname;
const adminToken = "embedded-test-admin-token";
const demoKey = "oik_embedded-test-demo-key";

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
  let output = "";
  const child = spawn(process.execPath, ["local/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ONCALL_ADMIN_TOKEN: adminToken, ONCALL_DEMO_INTEGRATION_KEY: demoKey, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitHealthy(url: string, started: Started, timeoutMs = 50_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.ok) return;
    if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not healthy after ${timeoutMs} ms:\n${started.output()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const postAlert = (url: string) =>
  fetch(`${url}/v1/webhooks/generic`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${demoKey}` },
    body: JSON.stringify({ summary: "disk full", dedup: "disk-1" }),
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { alerts: { id: number; outcome: string }[] },
  }));

describe("npm start (embedded runtime)", () => {
  let dataDir: string;
  let port: number;
  const running: Started[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-embedded-"));
    port = await freePort();
  });

  afterAll(() => {
    for (const s of running) s.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves on a fresh data folder, stops on SIGTERM, and keeps its data across a restart", async () => {
    const url = `http://127.0.0.1:${port}`;
    const first = start({ PORT: String(port), ONCALL_DATA_DIR: dataDir });
    running.push(first);
    await waitHealthy(url, first);
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({
      status: "ok",
      database: "ok",
      runtime: "embedded",
    });
    const created = await postAlert(url);
    expect(created.status).toBe(200);
    expect(created.body.alerts[0]?.outcome).toBe("created");

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = start({ PORT: String(port), ONCALL_DATA_DIR: dataDir });
    running.push(second);
    await waitHealthy(url, second);
    // The same alert is still open: the repeat folds into it instead of opening a new one.
    const again = await postAlert(url);
    expect(again.body.alerts[0]).toEqual({
      id: created.body.alerts[0]?.id,
      dedupKey: "disk-1",
      outcome: "deduplicated",
    });
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 120_000);

  it.each([
    ["a bad PORT", { PORT: "http" }, /PORT: must be an integer/],
    [
      "a short admin token",
      { ONCALL_ADMIN_TOKEN: "short" },
      /ONCALL_ADMIN_TOKEN: must be at least 16 characters/,
    ],
  ])("refuses %s with a message naming the variable", async (_name, env, message) => {
    const started = start({ ONCALL_DATA_DIR: dataDir, PORT: String(port), ...env });
    running.push(started);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(message);
  });

  it("says so when the data folder is unusable", async () => {
    const file = join(dataDir, "not-a-folder");
    writeFileSync(file, "x");
    const started = start({ ONCALL_DATA_DIR: file, PORT: String(port) });
    running.push(started);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/data folder .*not-a-folder is not usable/);
  });

  it("says so when the port is taken", async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const started = start({ ONCALL_DATA_DIR: dataDir, PORT: String(port) });
      running.push(started);
      expect(await started.exited).toBe(1);
      expect(started.output()).toMatch(new RegExp(`port ${port} is already in use`));
    } finally {
      blocker.close();
    }
  }, 60_000);
});
