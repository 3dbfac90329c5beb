import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { startHttpReceiver } from "../../../test/support/http-receiver.ts";
import { createFixedClock } from "../../domain/clock.ts";
import { ValidationError } from "../../domain/errors.ts";
import { createWebhookProvider } from "../channels/webhook.ts";
import { createEnvSecretResolver } from "../secrets/env-secret-resolver.ts";
import { createOutboundGuard, isPublicAddress, OutboundUrlRefusedError } from "./outbound-guard.ts";
import { createOutboundHttp } from "./outbound-http.ts";

// SSRF rules: which addresses a public webhook may live at, which URLs may be saved (form, then every
// resolved address where local URLs are not allowed) and what the socket's lookup lets through.

describe("isPublicAddress", () => {
  it.each([
    ["8.8.8.8", true],
    ["93.184.216.34", true],
    ["10.1.2.3", false],
    ["172.16.0.1", false],
    ["172.31.255.255", false],
    ["172.32.0.1", true],
    ["192.168.1.1", false],
    ["127.0.0.1", false],
    ["127.255.0.9", false],
    ["0.0.0.0", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["100.127.255.254", false],
    ["100.128.0.1", true],
    ["198.18.0.1", false],
    ["224.0.0.1", false],
    ["255.255.255.255", false],
    ["2606:4700:4700::1111", true],
    ["::1", false],
    ["::", false],
    ["fd00:ec2::254", false],
    ["fc00::1", false],
    ["fe80::1", false],
    ["ff02::1", false],
    ["2001:db8::1", false],
    ["::ffff:10.0.0.1", false],
    ["::ffff:a00:1", false],
    ["::ffff:8.8.8.8", true],
    ["64:ff9b::7f00:1", false],
    ["not-an-ip", false],
  ])("%s → %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

const dns: Record<string, LookupAddress[]> = {
  "hooks.example.com": [{ address: "93.184.216.34", family: 4 }],
  "internal.example.com": [{ address: "10.0.0.7", family: 4 }],
  "mixed.example.com": [
    { address: "93.184.216.34", family: 4 },
    { address: "fd12::1", family: 6 },
  ],
  "metadata.example.com": [{ address: "169.254.169.254", family: 4 }],
};
const lookup = async (host: string) => {
  const found = dns[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  return found;
};

describe("checkUrl (at save)", () => {
  const strict = createOutboundGuard({ allowLocal: false, lookup });
  const local = createOutboundGuard({ allowLocal: true, lookup });
  const problem = async (guard: typeof strict, url: string) => {
    try {
      await guard.checkUrl(url, "channel.config.webhook.url");
      return "ok";
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe("channel.config.webhook.url");
      return (err as Error).message.replace("channel.config.webhook.url: ", "");
    }
  };

  it.each([
    ["https://hooks.example.com/x", "ok", "ok"],
    [
      "http://hooks.example.com/x",
      "must be https",
      "must be https (plain http only to localhost / 127.0.0.1)",
    ],
    ["https://internal.example.com/x", "resolves to 10.0.0.7", "ok"],
    ["https://mixed.example.com/x", "resolves to fd12::1", "ok"],
    ["https://metadata.example.com/", "resolves to 169.254.169.254", "ok"],
    ["https://10.0.0.1/hook", "10.0.0.1 is a private", "ok"],
    ["https://[::1]:8443/hook", "::1 is a private", "ok"],
    ["http://127.0.0.1:9000/hook", "must be https", "ok"],
    ["http://localhost:9000/hook", "must be https", "ok"],
    ["https://nowhere.example.com/", "does not resolve", "ok"],
    ["ftp://hooks.example.com/", "must be an https URL", "must be an https URL"],
    ["https://user:pw@hooks.example.com/", "must not carry credentials", "must not carry credentials"],
    ["hooks.example.com/x", "must be an absolute https URL", "must be an absolute https URL"],
    ["", "is required", "is required"],
  ])("%s → AWS: %s; embedded: %s", async (url, onAws, embedded) => {
    expect(await problem(strict, url)).toContain(onAws);
    expect(await problem(local, url)).toContain(embedded);
  });
});

describe("at send", () => {
  it("refuses literal private addresses before connecting", () => {
    const strict = createOutboundGuard({ allowLocal: false, lookup });
    expect(() => strict.urlForSend("https://192.168.0.10/x")).toThrow(OutboundUrlRefusedError);
    expect(() => strict.urlForSend("http://hooks.example.com/x")).toThrow(OutboundUrlRefusedError);
    expect(strict.urlForSend("https://hooks.example.com/x").host).toBe("hooks.example.com");
  });

  it("the socket's lookup hands over only checked public addresses (what is checked is what is connected to)", async () => {
    const strict = createOutboundGuard({ allowLocal: false, lookup });
    const run = (host: string, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
        strict.socketLookup!(host, { all }, (err, address, family) => resolve({ err, address, family })),
      );
    expect(await run("hooks.example.com", false)).toEqual({ err: null, address: "93.184.216.34", family: 4 });
    expect(await run("hooks.example.com", true)).toEqual({
      err: null,
      address: [{ address: "93.184.216.34", family: 4 }],
      family: undefined,
    });
    const refused = await run("internal.example.com", true);
    expect(refused.err).toBeInstanceOf(OutboundUrlRefusedError);
    expect((await run("nowhere.example.com", false)).err?.message).toContain("ENOTFOUND");
    expect(createOutboundGuard({ allowLocal: true }).socketLookup).toBeUndefined();
  });
});

describe("DNS rebinding: a name public at save, private at send", () => {
  it("is refused at connect, and nothing reaches the private address", async () => {
    const internal = await startHttpReceiver();
    try {
      let answers = 0;
      // First answer (the save) public, every later one (the send) this machine.
      const rebinding = async () => [{ address: answers++ === 0 ? "93.184.216.34" : "127.0.0.1", family: 4 }];
      const guard = createOutboundGuard({ allowLocal: false, lookup: rebinding });
      await guard.checkUrl("https://rebind.example.com/hook", "url");
      const provider = createWebhookProvider({
        http: createOutboundHttp({ guard }),
        secrets: createEnvSecretResolver({}),
        clock: createFixedClock("2026-11-29T10:00:00Z"),
      });
      const outcome = await provider.send(
        {
          idempotencyKey: "k",
          destination: { kind: "webhook", url: "https://rebind.example.com/hook" },
          kind: "alert",
          parts: { body: "{}" },
        },
        new AbortController().signal,
      );
      expect(outcome).toEqual({
        status: "failed",
        reason: expect.stringContaining("refused: rebind.example.com resolves to 127.0.0.1"),
      });
      expect(internal.requests).toHaveLength(0);
    } finally {
      await internal.close();
    }
  });
});
