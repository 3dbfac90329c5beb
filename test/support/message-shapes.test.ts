import { describe, expect, it } from "vitest";
import { adaptiveCardProblems, blockKitProblems, teamsMessageProblems } from "./message-shapes.ts";

// The checks the delivery tests rely on must fail on what Slack and Teams refuse.

const header = { type: "header", text: { type: "plain_text", text: "Disk full" } };

describe("blockKitProblems", () => {
  it("accepts a message of the shapes the templates render", () => {
    expect(
      blockKitProblems({
        text: "Disk full",
        blocks: [
          header,
          { type: "section", fields: [{ type: "plain_text", text: "Service: db" }] },
          { type: "section", text: { type: "mrkdwn", text: "*details*" } },
          { type: "context", elements: [{ type: "plain_text", text: "team=db" }] },
          { type: "divider" },
          {
            type: "actions",
            elements: [
              {
                type: "button",
                text: { type: "plain_text", text: "Open" },
                url: "https://oncall.example.com/alerts/1",
                style: "primary",
              },
            ],
          },
        ],
      }),
    ).toEqual([]);
  });

  it.each([
    ["no fallback text", { blocks: [header] }, "text:"],
    ["no blocks", { text: "x", blocks: [] }, "blocks:"],
    [
      "a header in mrkdwn",
      { text: "x", blocks: [{ type: "header", text: { type: "mrkdwn", text: "*x*" } }] },
      "blocks[0].text.type",
    ],
    [
      "a header over 150 characters",
      { text: "x", blocks: [{ type: "header", text: { type: "plain_text", text: "x".repeat(151) } }] },
      "blocks[0].text.text",
    ],
    ["a section with nothing", { text: "x", blocks: [{ type: "section" }] }, "blocks[0]: a section"],
    [
      "11 fields",
      {
        text: "x",
        blocks: [
          { type: "section", fields: Array.from({ length: 11 }, () => ({ type: "plain_text", text: "f" })) },
        ],
      },
      "blocks[0].fields",
    ],
    [
      "an empty text",
      { text: "x", blocks: [{ type: "section", text: { type: "plain_text", text: "" } }] },
      "blocks[0].text.text",
    ],
    [
      "a button without a label",
      { text: "x", blocks: [{ type: "actions", elements: [{ type: "button", url: "https://x" }] }] },
      "blocks[0].elements[0].text",
    ],
    ["an unknown block", { text: "x", blocks: [{ type: "sectoin" }] }, "blocks[0].type"],
    ["51 blocks", { text: "x", blocks: Array.from({ length: 51 }, () => ({ type: "divider" })) }, "blocks:"],
  ])("refuses %s", (_what, body, problem) => {
    const problems = blockKitProblems(body);
    expect(
      problems.some((p) => p.startsWith(problem)),
      problems.join("; "),
    ).toBe(true);
  });
});

describe("adaptiveCardProblems", () => {
  const card = {
    type: "AdaptiveCard",
    version: "1.5",
    body: [
      { type: "TextBlock", text: "Disk full", wrap: true },
      { type: "FactSet", facts: [{ title: "Service", value: "db" }] },
    ],
    actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://oncall.example.com/alerts/1" }],
  };

  it("accepts a card of the shapes the templates render, as a Teams message", () => {
    expect(adaptiveCardProblems(card)).toEqual([]);
    expect(
      teamsMessageProblems({
        type: "message",
        attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
      }),
    ).toEqual([]);
  });

  it.each([
    ["no version", { ...card, version: undefined }, "version"],
    ["a version Teams does not render", { ...card, version: "1.6" }, "version"],
    ["an empty body", { ...card, body: [] }, "body"],
    ["a TextBlock without text", { ...card, body: [{ type: "TextBlock" }] }, "body[0].text"],
    [
      "a fact without a value",
      { ...card, body: [{ type: "FactSet", facts: [{ title: "t" }] }] },
      "body[0].facts[0]",
    ],
    [
      "an action without a URL",
      { ...card, actions: [{ type: "Action.OpenUrl", title: "Open" }] },
      "actions[0]",
    ],
  ])("refuses %s", (_what, value, problem) => {
    const problems = adaptiveCardProblems(value);
    expect(
      problems.some((p) => p.startsWith(problem)),
      problems.join("; "),
    ).toBe(true);
  });

  it("refuses a Teams message without the Adaptive Card content type", () => {
    expect(
      teamsMessageProblems({
        type: "message",
        attachments: [{ contentType: "application/json", content: card }],
      }),
    ).toEqual(["attachments[0].contentType: must be application/vnd.microsoft.card.adaptive"]);
  });
});
