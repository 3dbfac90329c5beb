import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";

// Debian's prometheus-alertmanager, configured with a webhook receiver pointing at the embedded
// server, creates alerts; its `resolved` notifications resolve them. `.ci/run` installs it.
const binary = "/usr/bin/prometheus-alertmanager";
const available = (() => {
  try {
    execFileSync(binary, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!available) {
  console.warn(`SKIPPED alertmanager e2e: ${binary} is missing (apt-get install prometheus-alertmanager)`);
}

describe.skipIf(!available)("real Alertmanager → oncall", () => {
  let database: DatabaseHandle;
  let server: LocalServer;
  let seeded: SeededService;
  let alertmanager: ChildProcess;
  let alertmanagerUrl: string;
  let workDir: string;
  let output = "";

  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    seeded = await seedService(database.db);
    server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
    workDir = mkdtempSync(join(tmpdir(), "oncall-am-"));
    writeFileSync(
      join(workDir, "alertmanager.yml"),
      [
        "route:",
        "  receiver: oncall",
        "  group_by: [alertname]",
        "  group_wait: 0s",
        "  group_interval: 1s",
        "  repeat_interval: 1h",
        "receivers:",
        "  - name: oncall",
        "    webhook_configs:",
        `      - url: ${server.url}/v1/webhooks/alertmanager`,
        "        send_resolved: true",
        "        http_config:",
        "          authorization:",
        `            credentials: ${seeded.secrets.alertmanager}`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    alertmanagerUrl = `http://127.0.0.1:${port}`;
    alertmanager = spawn(
      binary,
      [
        `--config.file=${join(workDir, "alertmanager.yml")}`,
        `--storage.path=${join(workDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=debug",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    alertmanager.stdout?.on("data", (d) => (output += d));
    alertmanager.stderr?.on("data", (d) => (output += d));
    await waitFor(
      async () => (await fetch(`${alertmanagerUrl}/-/ready`).catch(() => undefined))?.ok === true,
      20_000,
    );
  });

  afterAll(async () => {
    alertmanager?.kill("SIGTERM");
    await server?.close();
    await database?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("creates alerts from firing notifications and resolves them from resolved ones", async () => {
    const labels = (instance: string) => ({
      alertname: "DiskFull",
      instance,
      severity: "critical",
      team: "db",
    });
    const post = (alerts: unknown[]) =>
      fetch(`${alertmanagerUrl}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
      });
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const firing = ["db-1", "db-2"].map((instance) => ({
      labels: labels(instance),
      annotations: { summary: `Disk 95% full on ${instance}` },
      startsAt,
      generatorURL: "http://prometheus.local/graph",
    }));
    expect((await post(firing)).ok).toBe(true);

    const rows = () =>
      database.db
        .selectFrom("alerts")
        .select(["summary", "status", "source", "labels"])
        .orderBy("summary")
        .execute();
    await waitFor(
      async () => (await rows()).length === 2,
      20_000,
      () => output,
    );
    expect(await rows()).toEqual([
      {
        summary: "Disk 95% full on db-1",
        status: "triggered",
        source: "alertmanager",
        labels: labels("db-1"),
      },
      {
        summary: "Disk 95% full on db-2",
        status: "triggered",
        source: "alertmanager",
        labels: labels("db-2"),
      },
    ]);

    // What an operator sees: ListAlerts through a real gRPC-web client.
    const listed = JSON.parse(
      await bufCurlGrpcWeb(server.url, "AlertService/ListAlerts", { statuses: ["ALERT_STATUS_TRIGGERED"] }),
    );
    expect(listed.alerts.map((a: { summary: string }) => a.summary).sort()).toEqual([
      "Disk 95% full on db-1",
      "Disk 95% full on db-2",
    ]);
    expect(listed.alerts[0]).toMatchObject({
      source: "alertmanager",
      severity: "SEVERITY_CRITICAL",
      status: "ALERT_STATUS_TRIGGERED",
    });

    // Ending an alert in Alertmanager makes it send a `resolved` notification for it.
    expect((await post([{ ...firing[0], endsAt: new Date().toISOString() }])).ok).toBe(true);
    await waitFor(
      async () => (await rows())[0]?.status === "resolved",
      20_000,
      () => output,
    );
    expect((await rows()).map((r) => r.status)).toEqual(["resolved", "triggered"]);
    const open = JSON.parse(
      await bufCurlGrpcWeb(server.url, "AlertService/ListAlerts", { statuses: ["ALERT_STATUS_TRIGGERED"] }),
    );
    expect(open.alerts.map((a: { summary: string }) => a.summary)).toEqual(["Disk 95% full on db-2"]);
  });
});

async function bufCurlGrpcWeb(baseUrl: string, method: string, body: unknown): Promise<string> {
  const { stdout } = await promisify(execFile)(
    "node_modules/.bin/buf",
    [
      "curl",
      "--schema",
      "proto",
      "--protocol",
      "grpcweb",
      "-H",
      `Authorization: Bearer ${testAdminToken}`,
      "--data",
      JSON.stringify(body),
      `${baseUrl}/oncall.v1.${method}`,
    ],
    { timeout: 20_000 },
  );
  return stdout;
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  context?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms${context ? `\n${context().slice(-3000)}` : ""}`);
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
