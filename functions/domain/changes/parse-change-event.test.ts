import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { parseChangeEvent } from "./parse-change-event.ts";

const now = new Date("2026-11-29T12:00:00Z");
const body = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  routing_key: "oik_x",
  payload: { summary: "Deployed v42", ...payload },
  ...extra,
});

describe("parseChangeEvent", () => {
  it("reads PagerDuty's fields", () => {
    expect(
      parseChangeEvent(
        body(
          { timestamp: "2026-11-29T10:00:00.000+0000", source: " ci ", custom_details: { build: 42 } },
          { links: [{ href: "https://ci.test/42", text: "Build" }, { href: "ftp://x.test" }] },
        ),
        now,
      ),
    ).toEqual({
      summary: "Deployed v42",
      source: "ci",
      happenedAt: new Date("2026-11-29T10:00:00Z"),
      customDetails: { build: 42 },
      links: [{ href: "https://ci.test/42", text: "Build" }],
    });
  });

  it("takes the receive time when there is no timestamp, and no source when there is none", () => {
    expect(parseChangeEvent(body({}), now)).toMatchObject({
      happenedAt: now,
      source: undefined,
      customDetails: null,
    });
  });

  it.each<[string, unknown, string]>([
    ["not an object", "x", "body"],
    ["no payload", { routing_key: "k" }, "payload"],
    ["no summary", body({ summary: undefined }), "payload.summary"],
    ["a blank summary", body({ summary: "  " }), "payload.summary"],
    ["an oversize summary", body({ summary: "s".repeat(1025) }), "payload.summary"],
    ["a numeric source", body({ source: 5 }), "payload.source"],
    ["a bad timestamp", body({ timestamp: "soon" }), "payload.timestamp"],
    [
      "oversize custom_details",
      body({ custom_details: { log: "x".repeat(70_000) } }),
      "payload.custom_details",
    ],
    ["links as an object", body({}, { links: {} }), "links"],
    ["a link without href", body({}, { links: [{ text: "x" }] }), "links[0].href"],
  ])("refuses %s, naming the field", (_name, input, field) => {
    const error = (() => {
      try {
        parseChangeEvent(input, now);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });
});
