// Outbound providers against a local receiver (node:http on 127.0.0.1). Sends per second of the
// signed webhook provider and the Slack webhook provider (URL checks, secret read, HMAC, bounded
// answer, outcome mapping) against a baseline measured in the same run: a bare node:http POST of the
// same body to the same receiver on the same keep-alive agent (the floor of any HTTP provider).
// Rounds alternate the sides; medians are printed. Sequential (one page at a time) and 16 at once
// (a storm's sender).
//
//   node bench/providers.bench.ts            (npm run bench runs every benchmark)
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

import http from "node:http";
import { createSlackWebhookProvider } from "../functions/adapters/channels/slack-webhook.ts";
import { createWebhookProvider } from "../functions/adapters/channels/webhook.ts";
import { createOutboundGuard } from "../functions/adapters/http/outbound-guard.ts";
import { createOutboundHttp } from "../functions/adapters/http/outbound-http.ts";
import { createEnvSecretResolver } from "../functions/adapters/secrets/env-secret-resolver.ts";
import { systemClock } from "../functions/domain/clock.ts";
import type { OutboundMessage } from "../functions/domain/notifications/model.ts";
import { startHttpReceiver } from "../test/support/http-receiver.ts";
import { fmt, median } from "./support.ts";

const rounds = 7;
const perRound = 1_000;
const receiver = await startHttpReceiver({ status: 200, body: "ok" });
const outbound = createOutboundHttp({ guard: createOutboundGuard({ allowLocal: true }) });
const secrets = createEnvSecretResolver({ ONCALL_SECRET_BENCH: "whsec-bench-0123456789abcdef" });
const webhook = createWebhookProvider({ http: outbound, secrets, clock: systemClock });
const slack = createSlackWebhookProvider({ http: outbound, clock: systemClock });
const body = JSON.stringify({
  alert: { id: 42, summary: "disk full on db-1", labels: { team: "db", severity: "critical" } },
});
const never = new AbortController().signal;

const webhookMessage: OutboundMessage = {
  idempotencyKey: "alert:42:p0:s0:user-alice:webhook:alert",
  destination: { kind: "webhook", url: receiver.url("/hook"), signingSecretRef: "ONCALL_SECRET_BENCH" },
  kind: "alert",
  parts: { body },
};
const slackMessage: OutboundMessage = {
  idempotencyKey: "k",
  destination: { kind: "slack_webhook", url: receiver.url("/services/T/B/X") },
  kind: "alert",
  parts: {
    text: "disk full on db-1",
    blocks: JSON.stringify([{ type: "section", text: { type: "mrkdwn", text: "*disk full*" } }]),
  },
};

function barePost(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      receiver.url("/hook"),
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function perSecond(concurrency: number, send: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < perRound) await send();
    }),
  );
  return perRound / ((performance.now() - started) / 1000);
}

const sides = {
  "bare POST (baseline)": () => barePost(),
  "webhook provider (signed)": () => webhook.send(webhookMessage, never),
  "slack webhook provider": () => slack.send(slackMessage, never),
};
for (const concurrency of [1, 16]) {
  const results = new Map<string, number[]>(Object.keys(sides).map((k) => [k, []]));
  for (const send of Object.values(sides)) await perSecond(concurrency, send); // warm up
  for (let r = 0; r < rounds; r++) {
    for (const [name, send] of Object.entries(sides)) {
      receiver.reset();
      results.get(name)!.push(await perSecond(concurrency, send));
    }
  }
  const baseline = median(results.get("bare POST (baseline)")!);
  console.log(`\n${concurrency} at a time, ${rounds} rounds × ${fmt(perRound)} sends (medians)`);
  for (const [name, values] of results) {
    const m = median(values);
    console.log(`  ${name.padEnd(28)} ${fmt(m).padStart(7)} sends/s   ratio ${fmt(m / baseline, 2)}`);
  }
}
await receiver.close();
process.exit(0);
