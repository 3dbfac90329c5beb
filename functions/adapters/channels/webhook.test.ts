import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HttpReceiver, startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { createFixedClock, systemClock } from "../../domain/clock.ts";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { createOutboundGuard } from "../http/outbound-guard.ts";
import { createOutboundHttp } from "../http/outbound-http.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { createWebhookProvider, verifyWebhookSignature } from "./webhook.ts";

// The generic webhook provider against a real local HTTP receiver: what arrives is JSON, signed so
// that the receiver's verification passes, and each status maps to sent / retry / failed.

const secret = "whsec-0123456789abcdef";
const clock = createFixedClock("2026-11-29T10:00:00Z");
// A timeout that must not fire is generous (a loaded machine answers loopback slowly); the hanging
// receiver's cases use a short one, which can only ever fire.
const http = createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }), timeoutMs: 10_000 });
const providerWith = (client: typeof http) =>
  createWebhookProvider({
    http: client,
    secrets: createEnvSecretResolver({ ONCALL_SECRET_HOOK: secret }),
    clock,
  });
const provider = providerWith(http);
const impatient = providerWith(
  createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }), timeoutMs: 200 }),
);

describe("webhook provider", () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.reset());

  const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: "alert:42:p0:s1:user-alice:webhook:alert",
    destination: {
      kind: "webhook",
      url: receiver.url("/hooks/oncall"),
      signingSecretRef: "ONCALL_SECRET_HOOK",
    },
    kind: "alert",
    parts: { body: JSON.stringify({ alert: { id: 42, summary: "disk full" } }) },
    ...overrides,
  });

  it("POSTs the JSON body with a signature the receiver verifies, the timestamp and the idempotency key", async () => {
    const outcome = await provider.send(message(), new AbortController().signal);
    expect(outcome).toEqual({ status: "sent", detail: "ok" });
    const [request] = receiver.requests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/hooks/oncall");
    expect(request!.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(request!.body)).toEqual({ alert: { id: 42, summary: "disk full" } });
    expect(request!.headers["x-oncall-idempotency-key"]).toBe("alert:42:p0:s1:user-alice:webhook:alert");
    expect(request!.headers["x-oncall-timestamp"]).toBe(String(Date.parse("2026-11-29T10:00:00Z") / 1000));
    const verify = (body: string, key = secret) =>
      verifyWebhookSignature({
        secret: key,
        timestamp: request!.headers["x-oncall-timestamp"] as string,
        body,
        signature: request!.headers["x-oncall-signature"] as string,
        nowSeconds: Date.parse("2026-11-29T10:01:00Z") / 1000,
      });
    expect(request!.headers["x-oncall-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verify(request!.body)).toBe(true);
    expect(verify(`${request!.body} `)).toBe(false); // a changed body fails
    expect(verify(request!.body, "another-secret-value")).toBe(false);
    expect(JSON.stringify(request!.headers)).not.toContain(secret);
  });

  it("the README's verification snippet, as written there, verifies what the provider sends", async () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Webhook signatures"));
    const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(snippet).toContain("function verify(");
    // Its import line becomes parameters; the rest runs as written.
    const verify = new Function(
      "createHmac",
      "timingSafeEqual",
      `${snippet.replace(/^import .*$/m, "")}\nreturn verify;`,
    )(createHmac, timingSafeEqual) as (
      secret: string,
      headers: Record<string, unknown>,
      rawBody: string,
      toleranceSeconds?: number,
    ) => boolean;
    // The snippet checks the timestamp against the real time: send with it.
    const live = createWebhookProvider({
      http,
      secrets: createEnvSecretResolver({ ONCALL_SECRET_HOOK: secret }),
      clock: systemClock,
    });
    expect(await live.send(message(), new AbortController().signal)).toMatchObject({ status: "sent" });
    const [request] = receiver.requests;
    const headers = request!.headers as Record<string, unknown>;
    expect(verify(secret, headers, request!.body)).toBe(true);
    expect(verify(secret, headers, `${request!.body} `)).toBe(false);
    expect(verify("another-secret-value", headers, request!.body)).toBe(false);
    const old = String(Number(headers["x-oncall-timestamp"]) - 3_600);
    expect(verify(secret, { ...headers, "x-oncall-timestamp": old }, request!.body)).toBe(false);
  });

  it("refuses a stale timestamp when verifying (replay)", () => {
    expect(
      verifyWebhookSignature({ secret, timestamp: "1000", body: "{}", signature: "v1=00", nowSeconds: 2000 }),
    ).toBe(false);
  });

  it("sends unsigned without a signing secret", async () => {
    await provider.send(
      message({ destination: { kind: "webhook", url: receiver.url("/plain") } }),
      new AbortController().signal,
    );
    expect(receiver.requests[0]!.headers["x-oncall-signature"]).toBeUndefined();
  });

  it.each([
    [{ status: 204 }, { status: "sent" }],
    [
      { status: 500, body: "boom" },
      { status: "retry", reason: expect.stringContaining("HTTP 500: boom") },
    ],
    [
      { status: 503, headers: { "retry-after": "7" } },
      { status: "retry", retryAfterMs: 7000 },
    ],
    [
      { status: 429, headers: { "retry-after": "Sun, 29 Nov 2026 10:00:30 GMT" } },
      { status: "retry", retryAfterMs: 30_000 },
    ],
    [
      { status: 400, body: "bad payload" },
      { status: "failed", reason: expect.stringContaining("HTTP 400: bad payload") },
    ],
    [{ status: 404 }, { status: "failed" }],
    [{ status: 301, headers: { location: "http://10.0.0.1/" } }, { status: "failed" }],
  ] as const)("answer %j → %j", async (answer, expected) => {
    receiver.answer(answer);
    expect(await provider.send(message(), new AbortController().signal)).toMatchObject(expected);
  });

  it("retries on a timeout and on a closed port; fails a body that is not JSON; never names the secret", async () => {
    receiver.answer({ hang: true });
    expect(await impatient.send(message(), new AbortController().signal)).toMatchObject({
      status: "retry",
      reason: expect.stringContaining("no answer"),
    });
    const closed = await startHttpReceiver();
    const url = closed.url("/gone");
    await closed.close();
    expect(
      await provider.send(message({ destination: { kind: "webhook", url } }), new AbortController().signal),
    ).toMatchObject({ status: "retry", reason: expect.stringContaining("cannot reach") });
    expect(await provider.send(message({ parts: { body: "{nope" } }), new AbortController().signal)).toEqual({
      status: "failed",
      reason: "the rendered webhook body is not JSON",
    });
  });

  it("honours the caller's abort", async () => {
    receiver.answer({ hang: true });
    const controller = new AbortController();
    const pending = provider.send(message(), controller.signal);
    await receiver.received(1);
    controller.abort();
    expect(await pending).toMatchObject({ status: "retry", reason: expect.stringContaining("aborted") });
  });

  it("a missing secret fails naming the reference only; an echoed secret is redacted", async () => {
    const noSecret = createWebhookProvider({ http, secrets: createEnvSecretResolver({}), clock });
    expect(await noSecret.send(message(), new AbortController().signal)).toEqual({
      status: "failed",
      reason: "secret ONCALL_SECRET_HOOK: the environment variable is not set",
    });
    receiver.answer({ status: 400, body: `unknown key ${secret}` });
    const outcome = await provider.send(message(), new AbortController().signal);
    expect(outcome).toMatchObject({ status: "failed", reason: expect.stringContaining("[redacted]") });
    expect(JSON.stringify(outcome)).not.toContain(secret);
  });

  it("refuses an http URL to another host and a private address when local URLs are not allowed", async () => {
    const strict = createWebhookProvider({
      http: createOutboundHttp({ guard: createOutboundGuard({ allowLocal: false }) }),
      secrets: createEnvSecretResolver({}),
      clock,
    });
    for (const url of [
      receiver.url("/x"),
      "https://127.0.0.1/x",
      "https://[::ffff:169.254.169.254]/latest",
    ]) {
      expect(
        await strict.send(message({ destination: { kind: "webhook", url } }), new AbortController().signal),
      ).toMatchObject({
        status: "failed",
        reason: expect.stringContaining("refused"),
      });
    }
    expect(receiver.requests).toHaveLength(0);
  });
});
