import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../functions/adapters/channels/webhook.ts";
import { ChannelService, DeliveryOutcome } from "../functions/gen/oncall/v1/channels_pb.ts";
import { LocalOutboxService } from "../functions/gen/oncall/v1/local_outbox_pb.ts";
import { type EmbeddedProcess, startEmbeddedProcess, waitHealthy } from "./support/embedded-process.ts";
import { type HttpReceiver, startHttpReceiver } from "./support/http-receiver.ts";

// `npm start` wiring of channels: secrets from ONCALL_SECRET_* variables, local receivers allowed,
// email kept in the local outbox (no ONCALL_SMTP_URL) and still there after a restart.

const adminToken = "channels-embedded-admin-token-0123";
const signingSecret = "whsec-embedded-0123456789abcdef";
const auth = { headers: { authorization: `Bearer ${adminToken}` } };

describe("channels in the embedded runtime", () => {
  let dataDir: string;
  let receiver: HttpReceiver;
  let server: EmbeddedProcess | undefined;
  const start = async () => {
    server = startEmbeddedProcess({
      ONCALL_DATA_DIR: dataDir,
      ONCALL_ADMIN_TOKEN: adminToken,
      ONCALL_SECRET_HOOK: signingSecret,
      // Whatever AWS credentials this machine has: SMS into the outbox, no SMTP server.
      ONCALL_SMS_PROVIDER: "outbox",
      ONCALL_SMTP_URL: "",
    });
    const url = await waitHealthy(server);
    const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
    return {
      channels: createClient(ChannelService, transport),
      outbox: createClient(LocalOutboxService, transport),
    };
  };
  const stop = async () => {
    server?.child.kill("SIGTERM");
    await server?.exited;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "oncall-channels-"));
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    server?.child.kill("SIGKILL");
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("signs with the secret from the environment, keeps email in the outbox across a restart", async () => {
    const { channels } = await start();
    expect(server!.output()).toContain("email: local outbox, SMS: local outbox");

    const { channel: hook } = await channels.createChannel(
      {
        channel: {
          name: "local receiver",
          config: {
            kind: {
              case: "webhook",
              value: { url: receiver.url("/hook"), signingSecretRef: "ONCALL_SECRET_HOOK" },
            },
          },
        },
      },
      auth,
    );
    expect((await channels.testChannel({ id: hook!.id }, auth)).outcome).toBe(DeliveryOutcome.SENT);
    const request = receiver.requests[0]!;
    expect(
      verifyWebhookSignature({
        secret: signingSecret,
        timestamp: request.headers["x-oncall-timestamp"] as string,
        body: request.body,
        signature: request.headers["x-oncall-signature"] as string,
        nowSeconds: Number(request.headers["x-oncall-timestamp"]),
      }),
    ).toBe(true);

    const { channel: list } = await channels.createChannel(
      {
        channel: {
          name: "dba",
          config: { kind: { case: "email", value: { addresses: ["dba@example.com"] } } },
        },
      },
      auth,
    );
    const sent = await channels.testChannel({ id: list!.id }, auth);
    expect(sent).toMatchObject({
      outcome: DeliveryOutcome.SENT,
      providerMessageId: expect.stringMatching(/^local-outbox:/),
    });
    expect(server!.output()).not.toContain(signingSecret);

    await stop();
    const again = await start();
    const { messages } = await again.outbox.listOutboxMessages({ recipient: "dba@example.com" }, auth);
    expect(messages.map((m) => [m.messageKind, m.parts.subject])).toEqual([
      ["test", 'oncall test message: channel "dba"'],
    ]);
    await stop();
  });
});
