import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { createLocalDispatch } from "../local/dispatch.ts";
import { type LocalServer, startLocalServer } from "../local/server.ts";
import {
  alertmanagerAvailable,
  type RunningAlertmanager,
  startAlertmanager,
  waitFor,
} from "./support/alertmanager.ts";
import { createTestAppContext, testAdminToken } from "./support/app-context.ts";
import { openTestDatabase } from "./support/databases.ts";
import { type SeededService, seedService } from "./support/seed.ts";

// Debian's prometheus-alertmanager, configured with a webhook receiver pointing at the embedded
// server, creates alerts; its `resolved` notifications resolve them. `.ci/run` installs it.

describe.skipIf(!alertmanagerAvailable)("real Alertmanager → oncall", () => {
  let database: DatabaseHandle;
  let server: LocalServer;
  let seeded: SeededService;
  let alertmanager: RunningAlertmanager | undefined;
  let alertmanagerUrl: string;

  beforeAll(async () => {
    database = await openTestDatabase("pglite");
    seeded = await seedService(database.db);
    server = await startLocalServer(createLocalDispatch(createTestAppContext(database)), { port: 0 });
    alertmanager = await startAlertmanager({
      webhookUrl: `${server.url}/v1/webhooks/alertmanager`,
      credentials: seeded.secrets.alertmanager,
      args: ["--log.level=debug"],
    });
    alertmanagerUrl = alertmanager.url;
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await server?.close();
    await database?.close();
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
      () => alertmanager?.output() ?? "",
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
      () => alertmanager?.output() ?? "",
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
