import { describe, expect, it } from "vitest";
import { deeplyNested, fixture, rejectedField } from "../../../test/support/alert-fixtures.ts";
import type { AlertSignal } from "./alert-input.ts";
import { MAX_JSON_DEPTH } from "./limits.ts";
import { pagerDutyRoutingKey, parsePagerDutyEvent } from "./parse-pagerduty.ts";

/** An id source that counts its calls. */
function ids() {
  let calls = 0;
  const newId = () => `generated-${++calls}`;
  return { newId, calls: () => calls };
}

function trigger(patch: Record<string, unknown> = {}, payloadPatch: Record<string, unknown> = {}) {
  const body = fixture("pagerduty-events-v2-trigger");
  return { ...body, payload: { ...(body.payload as object), ...payloadPatch }, ...patch };
}

describe("parsePagerDutyEvent: real payloads", () => {
  it("parses the trigger fixture, answering its dedup_key", () => {
    const body = fixture("pagerduty-events-v2-trigger");
    const { newId, calls } = ids();

    const batch = parsePagerDutyEvent(body, newId);

    const { routing_key: _key, ...withoutKey } = body;
    expect(batch).toEqual({
      dedupKey: "backup-job-nightly-2026-11-27",
      truncatedAlerts: 0,
      signals: [
        {
          action: "trigger",
          dedupKey: "backup-job-nightly-2026-11-27",
          summary: "Nightly backup job failed on db-primary",
          details: JSON.stringify(
            { exit_code: 2, log_tail: "pg_dump: error: connection to server lost" },
            null,
            2,
          ),
          severity: "error",
          labels: {
            source: "db-primary.example.test",
            component: "postgres",
            group: "storage",
            class: "backup",
          },
          annotations: {},
          source: "pagerduty",
          startsAt: new Date("2026-11-27T03:02:11Z"),
          links: [{ href: "https://ci.example.test/jobs/backup/812", text: "Job run" }],
          raw: withoutKey,
        } satisfies AlertSignal,
      ],
    });
    expect(calls()).toBe(0);
  });

  it("reads the routing key for the HTTP edge", () => {
    expect(pagerDutyRoutingKey(fixture("pagerduty-events-v2-trigger"))).toBe("REPLACE_WITH_INTEGRATION_KEY");
  });
});

describe("parsePagerDutyEvent: choices", () => {
  it("generates a dedup key for a trigger without one, once", () => {
    const { newId, calls } = ids();

    const batch = parsePagerDutyEvent(trigger({ dedup_key: undefined }), newId);

    expect(batch.dedupKey).toBe("generated-1");
    expect(batch.signals[0]!.dedupKey).toBe("generated-1");
    expect(calls()).toBe(1);
  });

  const followUps: ["acknowledge" | "resolve"][] = [["acknowledge"], ["resolve"]];
  it.each(followUps)("%s needs only the dedup key and ignores the payload", (action) => {
    const { newId, calls } = ids();
    const body = { routing_key: "k", event_action: action, dedup_key: "backup-job", payload: "ignored" };

    const batch = parsePagerDutyEvent(body, newId);

    expect(batch.dedupKey).toBe("backup-job");
    expect(batch.signals).toEqual([
      expect.objectContaining({
        action,
        dedupKey: "backup-job",
        summary: "",
        source: "pagerduty",
        raw: { event_action: action, dedup_key: "backup-job", payload: "ignored" },
      }),
    ]);
    expect(calls()).toBe(0);
  });

  const variants: [string, Record<string, unknown>, Record<string, unknown>, Partial<AlertSignal>][] = [
    ["each of PagerDuty's severities", {}, { severity: "warning" }, { severity: "warning" }],
    ["a string custom_details", {}, { custom_details: "free text" }, { details: "free text" }],
    ["no custom_details", {}, { custom_details: undefined }, { details: "" }],
    [
      "PagerDuty's timestamp format",
      {},
      { timestamp: "2015-07-17T08:42:58.315+0000" },
      { startsAt: new Date("2015-07-17T08:42:58.315Z") },
    ],
    [
      "only the source label",
      {},
      { component: undefined, group: "", class: null },
      { labels: { source: "db-primary.example.test" } },
    ],
    [
      "images and client links",
      {
        links: undefined,
        images: [{ src: "https://img.test/a.png", alt: "graph" }, { src: "https://img.test/b.png" }],
        client: "CI",
        client_url: "https://ci.test",
      },
      {},
      {
        links: [
          { href: "https://img.test/a.png", text: "graph" },
          { href: "https://img.test/b.png", text: "Image" },
          { href: "https://ci.test", text: "CI" },
        ],
      },
    ],
    [
      "a link without text shows its href",
      { links: [{ href: "https://x.test" }] },
      {},
      { links: [{ href: "https://x.test", text: "https://x.test" }] },
    ],
    [
      "a non-http link is dropped",
      { links: [{ href: "javascript:alert(1)", text: "x" }] },
      {},
      { links: [] },
    ],
  ];
  it.each(variants)("%s", (_name, patch, payloadPatch, expected) => {
    const { signals } = parsePagerDutyEvent(trigger(patch, payloadPatch), ids().newId);
    expect(signals[0]).toMatchObject(expected);
  });

  const routingKeys: [unknown, string | undefined][] = [
    [{ routing_key: " abc " }, "abc"],
    [{ routing_key: "" }, undefined],
    [{ routing_key: 5 }, undefined],
    [{}, undefined],
    [[], undefined],
    ["routing_key", undefined],
    [null, undefined],
  ];
  it.each(routingKeys)("pagerDutyRoutingKey(%j) → %j", (body, expected) => {
    expect(pagerDutyRoutingKey(body)).toBe(expected);
  });
});

describe("parsePagerDutyEvent: bad input names the field", () => {
  const cases: [string, unknown, string][] = [
    ["a string body", "x", "body"],
    ["no event_action", trigger({ event_action: undefined }), "event_action"],
    ["an unknown event_action", trigger({ event_action: "fire" }), "event_action"],
    ["a prototype event_action", trigger({ event_action: "constructor" }), "event_action"],
    ["resolve without dedup_key", { event_action: "resolve" }, "dedup_key"],
    ["acknowledge with a blank dedup_key", { event_action: "acknowledge", dedup_key: " " }, "dedup_key"],
    ["a numeric dedup_key", trigger({ dedup_key: 5 }), "dedup_key"],
    ["an oversize dedup_key", trigger({ dedup_key: "k".repeat(256) }), "dedup_key"],
    ["trigger without payload", trigger({ payload: undefined }), "payload"],
    ["a string payload", trigger({ payload: "x" }), "payload"],
    ["no summary", trigger({}, { summary: undefined }), "payload.summary"],
    ["an oversize summary", trigger({}, { summary: "s".repeat(1025) }), "payload.summary"],
    ["no source", trigger({}, { source: undefined }), "payload.source"],
    ["a numeric source", trigger({}, { source: 1 }), "payload.source"],
    ["no severity", trigger({}, { severity: undefined }), "payload.severity"],
    ["an unknown severity", trigger({}, { severity: "urgent" }), "payload.severity"],
    // PagerDuty answers 400 to anything but its four names: a synonym here would accept what PagerDuty refuses.
    ["a synonym severity", trigger({}, { severity: "high" }), "payload.severity"],
    ["an upper-case severity", trigger({}, { severity: "CRITICAL" }), "payload.severity"],
    ["a numeric severity", trigger({}, { severity: 1 }), "payload.severity"],
    ["a bad timestamp", trigger({}, { timestamp: "last night" }), "payload.timestamp"],
    ["a numeric component", trigger({}, { component: 1 }), "payload.component"],
    [
      "oversize custom_details",
      trigger({}, { custom_details: { log: "x".repeat(64 * 1024) } }),
      "payload.custom_details",
    ],
    [
      "deep custom_details",
      trigger({}, { custom_details: deeplyNested(10_000) }),
      `payload.custom_details${".a".repeat(MAX_JSON_DEPTH - 2)}`,
    ],
    ["links as an object", trigger({ links: {} }), "links"],
    ["a link without href", trigger({ links: [{ text: "x" }] }), "links[0].href"],
    ["a numeric href", trigger({ links: [{ href: 5 }] }), "links[0].href"],
    ["a string link", trigger({ links: ["https://x.test"] }), "links[0]"],
    ["an image without src", trigger({ images: [{ alt: "x" }] }), "images[0].src"],
    ["33 links", trigger({ links: Array.from({ length: 33 }, () => ({ href: "https://x.test" })) }), "links"],
    [
      "too many links and images together",
      trigger({
        links: Array.from({ length: 20 }, () => ({ href: "https://x.test" })),
        images: Array.from({ length: 20 }, () => ({ src: "https://x.test" })),
      }),
      "links",
    ],
  ];
  it.each(cases)("rejects %s", (_name, body, field) => {
    expect(rejectedField(() => parsePagerDutyEvent(body, ids().newId))).toBe(field);
  });
});
