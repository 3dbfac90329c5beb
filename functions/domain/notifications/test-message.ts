import type { Destination, OutboundMessage } from "./model.ts";

/**
 * The message TestChannel (and the directory's TestContactMethod) sends: fixed text, in the parts
 * each destination's provider reads (the template channels' parts). Not a template: a test must
 * reach the receiver even when a template is broken.
 */
export function testMessage(input: {
  destination: Destination;
  /** What is tested, e.g. `channel "payments-slack"`. */
  subject: string;
  idempotencyKey: string;
  now: Date;
}): OutboundMessage {
  const text = `Test message from oncall for ${input.subject} at ${input.now.toISOString()}. No action needed.`;
  const parts: Record<string, string> = {};
  switch (input.destination.kind) {
    case "slack_webhook":
    case "slack_chat":
      parts.text = text;
      // Block Kit as templates render it (templates/README.md).
      parts.blocks = JSON.stringify({
        blocks: [
          { type: "header", text: { type: "plain_text", text: "oncall test message" } },
          { type: "section", text: { type: "mrkdwn", text: escapeMrkdwn(text) } },
        ],
      });
      break;
    case "teams_webhook":
      parts.card = JSON.stringify({
        type: "AdaptiveCard",
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        version: "1.5",
        body: [
          { type: "TextBlock", text: "oncall test message", weight: "Bolder", size: "Medium" },
          { type: "TextBlock", text, wrap: true },
        ],
      });
      break;
    case "email":
      parts.subject = `oncall test message: ${input.subject}`;
      parts.text = text;
      parts.html = `<p>${escapeHtml(text)}</p>`;
      break;
    case "sms":
      parts.text = `oncall test for ${input.subject}. No action needed.`;
      break;
    case "webhook":
      parts.body = JSON.stringify({
        type: "test",
        subject: input.subject,
        sentAt: input.now.toISOString(),
        text,
      });
      break;
  }
  return { idempotencyKey: input.idempotencyKey, destination: input.destination, kind: "test", parts };
}

function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function escapeHtml(text: string): string {
  return escapeMrkdwn(text).replaceAll('"', "&quot;");
}
