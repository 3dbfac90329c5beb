import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { createTestAppContext } from "../../../test/support/app-context.ts";
import { describeEachDatabase } from "../../../test/support/databases.ts";
import { createAwsOutboundForTests } from "../../../test/support/delivery.ts";
import { type HttpReceiver, startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { admin, createInMemoryTransport, failure } from "../../../test/support/rpc.ts";
import { createProviderRegistry, readNotificationConfig } from "../../adapters/channels/registry.ts";
import { verifyWebhookSignature } from "../../adapters/channels/webhook.ts";
import { createChannelLookup } from "../../adapters/db/stores/notification-channels.ts";
import { logger } from "../../adapters/observability.ts";
import { createEnvSecretResolver } from "../../adapters/secrets/env-secret-resolver.ts";
import { createFixedClock } from "../../domain/clock.ts";
import {
  type ChannelConfigSchema,
  ChannelService,
  ChannelType,
  DeliveryOutcome,
} from "../../gen/oncall/v1/channels_pb.ts";
import { EscalationPolicyService } from "../../gen/oncall/v1/escalation_policies_pb.ts";
import { LocalOutboxService } from "../../gen/oncall/v1/local_outbox_pb.ts";

// ChannelService and LocalOutboxService in memory (the real interceptors, stores and providers)
// on every database path, with local receivers standing in for Slack and a webhook endpoint.

const missingId = "00000000-0000-4000-8000-000000000000";
const signingSecret = "whsec-channel-test-0123456789";

type ConfigInit = NonNullable<MessageInitShape<typeof ChannelConfigSchema>["kind"]>;
const slackWebhook = (webhookUrl: string): ConfigInit => ({ case: "slack", value: { webhookUrl } });
const webhook = (url: string, signingSecretRef = ""): ConfigInit => ({
  case: "webhook",
  value: { url, signingSecretRef },
});
const email = (...addresses: string[]): ConfigInit => ({ case: "email", value: { addresses } });

describeEachDatabase("ChannelService", (suite) => {
  const clock = createFixedClock("2026-11-29T10:00:00Z");
  let channels: ReturnType<typeof createClient<typeof ChannelService>>;
  let strictChannels: ReturnType<typeof createClient<typeof ChannelService>>;
  let policies: ReturnType<typeof createClient<typeof EscalationPolicyService>>;
  let outbox: ReturnType<typeof createClient<typeof LocalOutboxService>>;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    const env = { ONCALL_SECRET_HOOK: signingSecret };
    const ctx = createTestAppContext(suite.handle, {
      clock,
      outbound: createProviderRegistry(readNotificationConfig(env, "embedded"), {
        db: () => suite.handle.db,
        clock,
        secrets: createEnvSecretResolver(env),
      }),
    });
    const transport = createInMemoryTransport(ctx);
    channels = createClient(ChannelService, transport);
    policies = createClient(EscalationPolicyService, transport);
    outbox = createClient(LocalOutboxService, transport);
    // As on AWS: no local URLs; DNS answers from a table.
    const strict = createTestAppContext(suite.handle, {
      clock,
      outbound: createAwsOutboundForTests({ db: () => suite.handle.db, clock }),
    });
    strictChannels = createClient(ChannelService, createInMemoryTransport(strict));
  });
  afterAll(() => receiver.close());

  beforeEach(async () => {
    await suite.handle.db.deleteFrom("escalation_policies").execute();
    await suite.handle.db.deleteFrom("notification_channels").execute();
    await suite.handle.db.deleteFrom("local_outbox").execute();
    receiver.reset();
  });

  const createChannel = (name: string, config: ConfigInit, description = "") =>
    channels
      .createChannel({ channel: { name, description, config: { kind: config } } }, admin)
      .then((r) => r.channel!);

  it("creates, gets, lists (paged, by type, by name), updates by mask and deletes", async () => {
    const slack = await createChannel(
      "Payments Slack",
      slackWebhook(receiver.url("/services/T1/B1/abc")),
      "#payments",
    );
    expect(slack).toMatchObject({ name: "Payments Slack", description: "#payments" });
    expect(slack.config?.kind).toEqual({
      case: "slack",
      value: expect.objectContaining({ webhookUrl: receiver.url("/services/T1/B1/abc") }),
    });
    const mail = await createChannel(
      "DBA list",
      email(" DBA@Example.com", "dba@example.com", "lead@example.com"),
    );
    expect(mail.config?.kind.value).toMatchObject({ addresses: ["dba@example.com", "lead@example.com"] });
    await createChannel("Audit hook", webhook(receiver.url("/audit"), "ONCALL_SECRET_HOOK"));
    await createChannel("Bot", {
      case: "slack",
      value: { botTokenRef: "ONCALL_SECRET_SLACK_BOT", channelId: "C0123ABC" },
    });
    await createChannel("Teams ops", {
      case: "teams",
      value: { webhookUrl: "https://example.webhook.office.com/x" },
    });

    expect((await channels.getChannel({ id: slack.id }, admin)).channel).toEqual(slack);

    const first = await channels.listChannels({ pageSize: 2 }, admin);
    expect(first.channels.map((c) => c.name)).toEqual(["Audit hook", "Bot"]);
    const second = await channels.listChannels({ pageSize: 2, pageToken: first.nextPageToken }, admin);
    expect(second.channels.map((c) => c.name)).toEqual(["DBA list", "Payments Slack"]);
    const third = await channels.listChannels({ pageSize: 2, pageToken: second.nextPageToken }, admin);
    expect(third.channels.map((c) => c.name)).toEqual(["Teams ops"]);
    expect(third.nextPageToken).toBe("");
    expect(
      (await channels.listChannels({ type: ChannelType.SLACK }, admin)).channels.map((c) => c.name),
    ).toEqual(["Bot", "Payments Slack"]);
    expect((await channels.listChannels({ search: "list" }, admin)).channels.map((c) => c.name)).toEqual([
      "DBA list",
    ]);

    clock.advance(60_000);
    const renamed = await channels.updateChannel(
      { channel: { id: slack.id, name: "Payments alerts" }, updateMask: { paths: ["name"] } },
      admin,
    );
    expect(renamed.channel).toMatchObject({ name: "Payments alerts", description: "#payments" });
    expect(renamed.channel!.config).toEqual(slack.config);
    const moved = await channels.updateChannel(
      {
        channel: { id: slack.id, config: { kind: webhook(receiver.url("/moved")) } },
        updateMask: { paths: ["config"] },
      },
      admin,
    );
    expect(moved.channel!.config?.kind.case).toBe("webhook");
    expect(moved.channel!.updateTime).not.toEqual(slack.updateTime);

    await channels.deleteChannel({ id: slack.id }, admin);
    expect((await failure(channels.getChannel({ id: slack.id }, admin))).code).toBe(Code.NotFound);
    expect((await failure(channels.deleteChannel({ id: slack.id }, admin))).code).toBe(Code.NotFound);
  });

  it("refuses a duplicate name ignoring case, on create and on rename", async () => {
    await createChannel("Payments", email("a@example.com"));
    const other = await createChannel("Databases", email("b@example.com"));
    const dup = await failure(createChannel("PAYMENTS", email("c@example.com")));
    expect(dup.code).toBe(Code.AlreadyExists);
    expect(dup.rawMessage).toContain('"PAYMENTS" already exists');
    const rename = await failure(
      channels.updateChannel(
        { channel: { id: other.id, name: "payments" }, updateMask: { paths: ["name"] } },
        admin,
      ),
    );
    expect(rename.code).toBe(Code.AlreadyExists);
    expect((await channels.getChannel({ id: other.id }, admin)).channel!.name).toBe("Databases");

    // Two renames to one free name at once: one wins, the other is told (on Postgres they race
    // past the check and the unique index decides).
    const third = await createChannel("Storage", email("d@example.com"));
    const renames = await Promise.allSettled(
      [other.id, third.id].map((id) =>
        channels.updateChannel({ channel: { id, name: "Shared" }, updateMask: { paths: ["name"] } }, admin),
      ),
    );
    expect(renames.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const loser = renames.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((loser.reason as { code: Code }).code).toBe(Code.AlreadyExists);
  });

  it.each([
    ["no config", { name: "x" }, "channel.config"],
    ["no name", { name: " ", config: { kind: email("a@example.com") } }, "channel.name"],
    [
      "an http URL to another host",
      { name: "x", config: { kind: slackWebhook("http://hooks.slack.com/services/x") } },
      "channel.config.slack.webhook_url",
    ],
    [
      "an ftp URL",
      { name: "x", config: { kind: webhook("ftp://example.com/x") } },
      "channel.config.webhook.url",
    ],
    [
      "credentials in the URL",
      { name: "x", config: { kind: webhook("https://u:p@example.com/x") } },
      "channel.config.webhook.url",
    ],
    [
      "both webhook and bot token",
      {
        name: "x",
        config: {
          kind: {
            case: "slack" as const,
            value: { webhookUrl: "https://h.example/x", botTokenRef: "ONCALL_SECRET_A", channelId: "C1" },
          },
        },
      },
      "channel.config.slack.webhook_url",
    ],
    [
      "a bot token without channel",
      { name: "x", config: { kind: { case: "slack" as const, value: { botTokenRef: "ONCALL_SECRET_A" } } } },
      "channel.config.slack.channel_id",
    ],
    [
      "a secret ref outside ONCALL_SECRET_",
      { name: "x", config: { kind: webhook("https://example.com/x", "DATABASE_URL") } },
      "channel.config.webhook.signing_secret_ref",
    ],
    [
      "a bad Slack channel id",
      {
        name: "x",
        config: {
          kind: {
            case: "slack" as const,
            value: { botTokenRef: "ONCALL_SECRET_A", channelId: "#pay ments" },
          },
        },
      },
      "channel.config.slack.channel_id",
    ],
    [
      "a bad address",
      { name: "x", config: { kind: email("a@example.com", "not-an-address") } },
      "channel.config.email.addresses[1]",
    ],
    ["no addresses", { name: "x", config: { kind: email() } }, "channel.config.email.addresses"],
    [
      "a Teams URL that is not https",
      {
        name: "x",
        config: { kind: { case: "teams" as const, value: { webhookUrl: "http://example.com/x" } } },
      },
      "channel.config.teams.webhook_url",
    ],
  ])("refuses %s, naming the field", async (_what, channel, field) => {
    const err = await failure(channels.createChannel({ channel }, admin));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(`${field}: `)).toBe(true);
    expect((await channels.listChannels({}, admin)).channels).toHaveLength(0);
  });

  it("on AWS (no local URLs) refuses hosts that are or resolve to private addresses, at save", async () => {
    const create = (url: string) =>
      strictChannels.createChannel({ channel: { name: url, config: { kind: webhook(url) } } }, admin);
    for (const [url, problem] of [
      [receiver.url("/x"), "must be https"],
      ["https://127.0.0.1/x", "127.0.0.1 is a private, loopback or link-local address"],
      ["https://169.254.169.254/latest/meta-data", "is a private, loopback or link-local address"],
      ["https://[fd00::1]/x", "is a private, loopback or link-local address"],
      ["https://intranet.example.com/hook", "resolves to 10.20.30.40"],
      ["https://unknown.example.com/hook", "does not resolve"],
    ]) {
      const err = await failure(create(url!));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("channel.config.webhook.url: ");
      expect(err.rawMessage).toContain(problem);
    }
    expect((await create("https://hooks.example.com/hook")).channel!.name).toBe(
      "https://hooks.example.com/hook",
    );
    const ref = await failure(
      strictChannels.createChannel(
        {
          channel: { name: "x", config: { kind: webhook("https://hooks.example.com/x", "ONCALL_SECRET_X") } },
        },
        admin,
      ),
    );
    expect(ref.rawMessage).toContain(
      "channel.config.webhook.signing_secret_ref: must be a Secrets Manager secret name starting with oncall/",
    );
  });

  it("refuses to delete a channel an escalation step names; policies refuse unknown channels", async () => {
    const slack = await createChannel("Payments", slackWebhook(receiver.url("/s")));
    const { policy } = await policies.createEscalationPolicy(
      {
        name: "P",
        steps: [{ delaySeconds: 0, targets: [{ kind: { case: "channelId", value: slack.id } }] }],
      },
      admin,
    );
    const inUse = await failure(channels.deleteChannel({ id: slack.id }, admin));
    expect(inUse.code).toBe(Code.FailedPrecondition);
    expect(inUse.rawMessage).toContain(`escalation policy "P" (${policy!.id})`);
    const unknown = await failure(
      policies.createEscalationPolicy(
        {
          name: "Q",
          steps: [{ delaySeconds: 0, targets: [{ kind: { case: "channelId", value: missingId } }] }],
        },
        admin,
      ),
    );
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toBe(`steps[0].targets[0].channel_id: channel ${missingId} does not exist`);
    await policies.deleteEscalationPolicy({ id: policy!.id }, admin);
    await channels.deleteChannel({ id: slack.id }, admin);
  });

  it("TestChannel sends a signed test message to a webhook; a refusal is an outcome; secrets stay out", async () => {
    const hook = await createChannel("Audit", webhook(receiver.url("/audit"), "ONCALL_SECRET_HOOK"));
    const sent = await channels.testChannel({ id: hook.id }, admin);
    expect(sent).toMatchObject({ outcome: DeliveryOutcome.SENT });
    const request = receiver.requests[0]!;
    expect(JSON.parse(request.body)).toMatchObject({ type: "test", subject: 'channel "Audit"' });
    expect(
      verifyWebhookSignature({
        secret: signingSecret,
        timestamp: request.headers["x-oncall-timestamp"] as string,
        body: request.body,
        signature: request.headers["x-oncall-signature"] as string,
        nowSeconds: Math.floor(clock.now().getTime() / 1000),
      }),
    ).toBe(true);
    expect(request.headers["x-oncall-idempotency-key"]).toMatch(new RegExp(`^test:channel:${hook.id}:`));

    receiver.answer({ status: 403, body: `bad signature for ${signingSecret}` });
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const level = logger.getLevelName();
    logger.setLogLevel("INFO");
    const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
    const refused = await channels.testChannel({ id: hook.id }, admin).finally(() => {
      out.mockRestore();
      err.mockRestore();
      logger.setLogLevel(level);
    });
    // The log line says what happened, with the secret the receiver echoed redacted.
    expect(written.join("")).toContain("channel test message");
    expect(written.join("")).toContain("[redacted]");
    expect(written.join("")).not.toContain(signingSecret);
    expect(refused.outcome).toBe(DeliveryOutcome.FAILED);
    expect(refused.detail).toContain("HTTP 403");
    expect(`${refused.detail} ${refused.providerMessageId}`).not.toContain(signingSecret);
    expect(refused.detail).toContain("[redacted]");

    receiver.answer({ status: 429, headers: { "retry-after": "4" } });
    expect(await channels.testChannel({ id: hook.id }, admin)).toMatchObject({
      outcome: DeliveryOutcome.RETRY,
      retryAfterMs: 4000n,
    });

    const { rows } = await sql<{
      config: string;
    }>`select config::text as config from notification_channels`.execute(suite.handle.db);
    expect(rows[0]!.config).toContain("ONCALL_SECRET_HOOK");
    expect(rows[0]!.config).not.toContain(signingSecret);
    expect((await failure(channels.testChannel({ id: missingId }, admin))).code).toBe(Code.NotFound);
  });

  it("TestChannel of an email channel keeps the mail in the local outbox, which the API lists", async () => {
    const mail = await createChannel("DBA list", email("dba@example.com", "lead@example.com"));
    const sent = await channels.testChannel({ id: mail.id }, admin);
    expect(sent.outcome).toBe(DeliveryOutcome.SENT);
    expect(sent.providerMessageId).toMatch(/^local-outbox:\d+$/);
    const { messages } = await outbox.listOutboxMessages({ destinationKind: "email" }, admin);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      destinationKind: "email",
      recipients: ["dba@example.com", "lead@example.com"],
      messageKind: "test",
    });
    expect(messages[0]!.parts.subject).toBe('oncall test message: channel "DBA list"');
    expect(messages[0]!.parts.html).toContain("<p>");
    expect((await outbox.listOutboxMessages({ recipient: "lead@example.com" }, admin)).messages).toHaveLength(
      1,
    );
    expect(
      (await outbox.listOutboxMessages({ recipient: "nobody@example.com" }, admin)).messages,
    ).toHaveLength(0);
    expect(
      (await failure(outbox.listOutboxMessages({ destinationKind: "fax" }, admin))).rawMessage,
    ).toContain("destination_kind");
  });

  it("the planner's lookup reads channels by id, leaving unknown ids out", async () => {
    const a = await createChannel("A", email("a@example.com"));
    const b = await createChannel("B", slackWebhook(receiver.url("/b")));
    const found = await createChannelLookup(() => suite.handle.db).channels([
      b.id,
      missingId,
      "not-a-uuid",
      a.id.toUpperCase(),
    ]);
    expect(found.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { id: a.id, name: "A", config: { type: "email", addresses: ["a@example.com"] } },
      { id: b.id, name: "B", config: { type: "slack", webhookUrl: receiver.url("/b") } },
    ]);
  });
});
