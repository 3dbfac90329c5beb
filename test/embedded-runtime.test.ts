import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedProcess, startEmbeddedProcess, waitHealthy } from "./support/embedded-process.ts";

// `npm start` as a user runs it: a child process on a fresh data folder, stopped and started again.
const adminToken = "embedded-test-admin-token";
const demoKey = "oik_embedded-test-demo-key";

function start(env: Record<string, string>): EmbeddedProcess {
  return startEmbeddedProcess({
    ONCALL_ADMIN_TOKEN: adminToken,
    ONCALL_DEMO_INTEGRATION_KEY: demoKey,
    ...env,
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
  const running: EmbeddedProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-embedded-"));
  });

  afterAll(() => {
    for (const s of running) s.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves on a fresh data folder, stops on SIGTERM, and keeps its data across a restart", async () => {
    const first = start({ ONCALL_DATA_DIR: dataDir });
    running.push(first);
    const url = await waitHealthy(first);
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

    const second = start({ ONCALL_DATA_DIR: dataDir });
    running.push(second);
    const secondUrl = await waitHealthy(second);
    // The same alert is still open: the repeat folds into it instead of opening a new one.
    const again = await postAlert(secondUrl);
    expect(again.body.alerts[0]).toEqual({
      id: created.body.alerts[0]?.id,
      dedupKey: "disk-1",
      outcome: "deduplicated",
    });
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 300_000);

  it.each([
    ["a bad PORT", { PORT: "http" }, /PORT: must be an integer/],
    [
      "a short admin token",
      { ONCALL_ADMIN_TOKEN: "short" },
      /ONCALL_ADMIN_TOKEN: must be at least 16 characters/,
    ],
  ])("refuses %s with a message naming the variable", async (_name, env, message) => {
    const started = start({ ONCALL_DATA_DIR: dataDir, ...env });
    running.push(started);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(message);
  });

  it("says so when the data folder is unusable", async () => {
    const file = join(dataDir, "not-a-folder");
    writeFileSync(file, "x");
    const started = start({ ONCALL_DATA_DIR: file });
    running.push(started);
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/data folder .*not-a-folder is not usable/);
  });

  it("says so when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    // A folder of its own: a process left over from a failed test above would hold dataDir's lock.
    const ownDir = mkdtempSync(join(tmpdir(), "oncall-embedded-port-"));
    try {
      const started = start({ ONCALL_DATA_DIR: ownDir, PORT: String(port) });
      running.push(started);
      expect(await started.exited).toBe(1);
      expect(started.output()).toMatch(new RegExp(`port ${port} is already in use`));
    } finally {
      blocker.close();
      rmSync(ownDir, { recursive: true, force: true });
    }
  }, 300_000);
});
