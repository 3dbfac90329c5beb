import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "./support/delivery.ts";
import { type EmbeddedProcess, startEmbeddedProcess, waitHealthy } from "./support/embedded-process.ts";

// SIGKILL while deliveries are in flight, on the embedded runtime as `npm start` runs it (PGlite in a
// data folder): the demo rotation pages Alice, whose webhook (ONCALL_DEMO_WEBHOOK_URL) points at a
// local receiver that holds every request without answering. The process dies with each page sent
// but not recorded; after the restart every page is sent and recorded, and no page reaches the
// receiver more than twice (the one duplicate a crash between sending and recording may cause).

const demoKey = `crash-key-${randomBytes(8).toString("hex")}`;
const adminToken = `crash-admin-${randomBytes(8).toString("hex")}`;
const alerts = 10;

describe("a SIGKILL while deliveries are pending", () => {
  let dataDir: string;
  let receiver: Receiver;
  const processes: EmbeddedProcess[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-delivery-crash-"));
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}) => {
    const p = startEmbeddedProcess({
      ONCALL_DATA_DIR: dataDir,
      ONCALL_DEMO_INTEGRATION_KEY: demoKey,
      ONCALL_DEMO_WEBHOOK_URL: `${receiver.url}/alice`,
      ONCALL_ADMIN_TOKEN: adminToken,
      ...env,
    });
    processes.push(p);
    return p;
  };

  it("sends every page after the restart, none more than twice", async () => {
    receiver.script(...Array.from({ length: alerts }, () => "hang" as const));
    // The held sends must not time out (and go again) while the ten alerts are posted on a busy
    // machine: the first process waits as long as a send may (a 10 s bound let a page arrive three times).
    const first = start({ ONCALL_OUTBOUND_TIMEOUT_MS: "120000" });
    const url = await waitHealthy(first);
    for (let i = 0; i < alerts; i++) {
      const res = await fetch(`${url}/v1/webhooks/generic`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${demoKey}` },
        body: JSON.stringify({ summary: `crash ${i}`, dedup: `crash-${i}` }),
      });
      expect(res.status).toBeLessThan(300);
    }
    await receiver.waitFor(alerts);
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    await first.exited;
    const beforeRestart = receiver.requests.length;

    const second = start();
    const url2 = await waitHealthy(second);
    const webhookPages = async () => {
      const res = await fetch(`${url2}/oncall.v1.NotificationService/ListDeliveries`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ pageSize: 500 }),
      });
      const body = (await res.json()) as { deliveries?: { destinationKind: string; status: string }[] };
      return (body.deliveries ?? []).filter((d) => d.destinationKind === "webhook");
    };
    for (let waited = 0; waited < 60_000; waited += 200) {
      const pages = await webhookPages();
      if (pages.length === alerts && pages.every((d) => d.status === "DELIVERY_STATUS_SENT")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const recoveredMs = Date.now() - killedAt;
    const pages = await webhookPages();
    expect(pages).toHaveLength(alerts);
    expect(pages.every((d) => d.status === "DELIVERY_STATUS_SENT")).toBe(true);

    // Several pages due to one destination at once go as one bundle (the throttle's unit), so count
    // messages by idempotency key: none reached the receiver more than twice (sent before the kill,
    // resent after it), none twice after the restart, and every alert is in some message.
    const keyOf = (r: (typeof receiver.requests)[number]) => String(r.headers["x-oncall-idempotency-key"]);
    const byKey = new Map<string, number>();
    for (const r of receiver.requests) byKey.set(keyOf(r), (byKey.get(keyOf(r)) ?? 0) + 1);
    expect([...byKey.values()].every((n) => n <= 2)).toBe(true);
    const afterRestart = receiver.requests.slice(beforeRestart).map(keyOf);
    expect(new Set(afterRestart).size).toBe(afterRestart.length);
    expect(afterRestart.length).toBeGreaterThan(0);
    // Every page was in flight (held, unrecorded) when the process died: each alert must be in a
    // message sent after the restart (the requests before it prove nothing: none was answered).
    const resent = receiver.requests
      .slice(beforeRestart)
      .map((r) => r.body)
      .join("\n");
    for (let i = 0; i < alerts; i++) expect(resent).toContain(`crash ${i}`);
    console.info(
      `delivery crash test: ${beforeRestart} request(s) held before the kill, ${afterRestart.length} after the restart, ${byKey.size} message key(s); all recorded sent ${recoveredMs} ms after the kill`,
    );
  }, 300_000);
});
