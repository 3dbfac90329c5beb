import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../domain/notifications/model.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { createSmtpEmailProvider } from "./smtp-email.ts";

// Email over SMTP against a real SMTP server (smtp-server) started here; what it receives is parsed
// with mailparser: subject, HTML, text, recipients, the idempotency header, the login.

const password = "smtp-pass-0123456789";
const received: { mail: ParsedMail; envelopeTo: string[]; user: string | undefined }[] = [];
let rejectNext: { code: number; message: string } | undefined;
let port = 0;
const server = new SMTPServer({
  authOptional: false,
  allowInsecureAuth: true,
  disabledCommands: ["STARTTLS"],
  onAuth(auth, _session, callback) {
    if (auth.username === "oncall" && auth.password === password) return callback(null, { user: "oncall" });
    return callback(new Error("Invalid username or password"));
  },
  onRcptTo(_address, _session, callback) {
    if (rejectNext) {
      const { code, message } = rejectNext;
      rejectNext = undefined;
      return callback(Object.assign(new Error(message), { responseCode: code }));
    }
    callback();
  },
  onData(stream, session, callback) {
    simpleParser(stream).then(
      (mail) => {
        received.push({
          mail,
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
        });
        callback();
      },
      (err: Error) => callback(err),
    );
  },
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
});

const never = new AbortController().signal;
const message: OutboundMessage = {
  idempotencyKey: "alert:42:p0:s0:user-alice:email:alert",
  destination: { kind: "email", to: ["alice@example.com", "bob@example.com"] },
  kind: "alert",
  parts: {
    subject: "[oncall] disk full on db-1",
    html: "<p>disk <b>full</b> on db-1</p>",
    text: "disk full on db-1",
  },
};
const provider = (env: Record<string, string>, url = () => `smtp://oncall@127.0.0.1:${port}`) => ({
  send: (m: OutboundMessage) =>
    createSmtpEmailProvider({
      url: url(),
      from: "oncall <oncall@example.com>",
      passwordRef: "ONCALL_SECRET_SMTP",
      secrets: createEnvSecretResolver(env),
      timeoutMs: 5_000,
    }).send(m, never),
});

describe("SMTP email", () => {
  it("delivers subject, HTML, text and recipients, logged in with the password from the secret store", async () => {
    const outcome = await provider({ ONCALL_SECRET_SMTP: password }).send(message);
    expect(outcome).toMatchObject({ status: "sent", providerMessageId: expect.stringContaining("@") });
    expect(received).toHaveLength(1);
    const { mail, envelopeTo, user } = received[0]!;
    expect(user).toBe("oncall");
    expect(envelopeTo).toEqual(["alice@example.com", "bob@example.com"]);
    expect(mail.subject).toBe("[oncall] disk full on db-1");
    expect(mail.html).toBe("<p>disk <b>full</b> on db-1</p>");
    expect(mail.text?.trim()).toBe("disk full on db-1");
    expect(mail.from?.value[0]?.address).toBe("oncall@example.com");
    expect(mail.headers.get("x-oncall-idempotency-key")).toBe(message.idempotencyKey);
  });

  it("a wrong password fails without naming it; a 4xx recipient answer retries, a 5xx fails", async () => {
    const wrong = "wrong-password-987654321";
    const refused = await provider({ ONCALL_SECRET_SMTP: wrong }).send(message);
    expect(refused).toMatchObject({ status: "failed", reason: expect.stringContaining("SMTP") });
    expect(JSON.stringify(refused)).not.toContain(wrong);

    const toAlice: OutboundMessage = {
      ...message,
      destination: { kind: "email", to: ["alice@example.com"] },
    };
    rejectNext = { code: 451, message: "try again later" };
    expect(await provider({ ONCALL_SECRET_SMTP: password }).send(toAlice)).toMatchObject({ status: "retry" });
    rejectNext = { code: 550, message: "no such mailbox" };
    expect(await provider({ ONCALL_SECRET_SMTP: password }).send(toAlice)).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("no such mailbox"),
    });
    expect(received).toHaveLength(0);
    // One of two refused: the other got it, so it is sent (a retry would send it to bob twice).
    rejectNext = { code: 550, message: "no such mailbox" };
    expect(await provider({ ONCALL_SECRET_SMTP: password }).send(message)).toMatchObject({
      status: "sent",
      detail: "refused by the server for alice@example.com",
    });
    expect(received.map((r) => r.envelopeTo)).toEqual([["bob@example.com"]]);
  });

  it("an unreachable server retries; a missing password secret fails naming the reference", async () => {
    expect(
      await provider({ ONCALL_SECRET_SMTP: password }, () => "smtp://oncall@127.0.0.1:1").send(message),
    ).toMatchObject({
      status: "retry",
    });
    expect(await provider({}).send(message)).toEqual({
      status: "failed",
      reason: "secret ONCALL_SECRET_SMTP: the environment variable is not set",
    });
  });
});
