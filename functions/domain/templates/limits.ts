import type { TemplateProblem } from "./model.ts";

/**
 * What the providers accept, as warnings on a rendering (the sender still sends; the provider may
 * truncate or refuse): Slack 50 blocks and 3,000 characters per text (150 in a header), Teams cards
 * of 28 KB, email subjects of 255 characters. And the plain text a reader would see of a Slack or
 * Teams message, for a quick look in the editor.
 */
export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_TEXT_CHARS = 3000;
export const SLACK_MAX_HEADER_CHARS = 150;
export const TEAMS_MAX_CARD_BYTES = 28 * 1024;
export const EMAIL_MAX_SUBJECT_CHARS = 255;

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function warning(part: string, message: string): TemplateProblem {
  return { part, message, line: 0, column: 0 };
}

/** The shape a Slack message must have: `{"blocks": [...]}` with typed blocks; else an error. */
export function slackShapeError(value: Json): string | undefined {
  if (!isObject(value) || !Array.isArray(value.blocks)) return 'must be a JSON object with a "blocks" array';
  const bad = value.blocks.findIndex((b) => !isObject(b) || typeof b.type !== "string");
  return bad >= 0 ? `blocks[${bad}] must be an object with a "type"` : undefined;
}

export function teamsShapeError(value: Json): string | undefined {
  if (!isObject(value) || value.type !== "AdaptiveCard")
    return 'must be a JSON object with "type": "AdaptiveCard"';
  return undefined;
}

export function slackWarnings(blocks: Json, part: string): TemplateProblem[] {
  if (!isObject(blocks) || !Array.isArray(blocks.blocks)) return [];
  const warnings: TemplateProblem[] = [];
  if (blocks.blocks.length > SLACK_MAX_BLOCKS) {
    warnings.push(
      warning(part, `${blocks.blocks.length} blocks; Slack takes at most ${SLACK_MAX_BLOCKS} in a message`),
    );
  }
  blocks.blocks.forEach((block, i) => {
    if (!isObject(block)) return;
    const limit = block.type === "header" ? SLACK_MAX_HEADER_CHARS : SLACK_MAX_TEXT_CHARS;
    for (const t of textsOf(block)) {
      if (t.length > limit) {
        warnings.push(
          warning(
            part,
            `blocks[${i}] (${block.type}) has a text of ${t.length} characters; Slack takes at most ${limit}`,
          ),
        );
        break;
      }
    }
  });
  return warnings;
}

export function teamsWarnings(card: string, part: string): TemplateProblem[] {
  const bytes = Buffer.byteLength(card, "utf8");
  return bytes > TEAMS_MAX_CARD_BYTES
    ? [warning(part, `the card is ${bytes} bytes; Teams takes at most ${TEAMS_MAX_CARD_BYTES} (28 KB)`)]
    : [];
}

export function emailSubjectWarnings(subject: string, part: string): TemplateProblem[] {
  const length = Array.from(subject).length;
  if (length > EMAIL_MAX_SUBJECT_CHARS) {
    return [warning(part, `the subject is ${length} characters; keep it under ${EMAIL_MAX_SUBJECT_CHARS}`)];
  }
  return length === 0 ? [warning(part, "the subject is empty")] : [];
}

/** Text fields of a Slack block: `text.text`, `fields[].text`, `elements[].text`. */
function textsOf(block: Record<string, Json>): string[] {
  const out: string[] = [];
  const take = (t: Json) => {
    if (isObject(t) && typeof t.text === "string") out.push(t.text);
  };
  take(block.text);
  if (Array.isArray(block.fields)) block.fields.forEach(take);
  if (Array.isArray(block.elements)) block.elements.forEach(take);
  return out;
}

/** What a reader sees of Block Kit: the texts of the blocks, one per line; buttons as [label]. */
export function slackPlainText(blocks: Json): string {
  if (!isObject(blocks) || !Array.isArray(blocks.blocks)) return "";
  const lines: string[] = [];
  for (const block of blocks.blocks) {
    if (!isObject(block)) continue;
    if (block.type === "divider") {
      lines.push("---");
      continue;
    }
    if (block.type === "actions" && Array.isArray(block.elements)) {
      lines.push(
        block.elements
          .map((e) => (isObject(e) && isObject(e.text) ? `[${String(e.text.text)}]` : ""))
          .filter(Boolean)
          .join(" "),
      );
      continue;
    }
    lines.push(...textsOf(block));
  }
  return lines.join("\n");
}

/** What a reader sees of an Adaptive Card: TextBlocks, facts as "title: value", actions as [title]. */
export function teamsPlainText(card: Json): string {
  const lines: string[] = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (!isObject(node)) return;
    if (node.type === "TextBlock" && typeof node.text === "string") lines.push(node.text);
    if (node.type === "FactSet" && Array.isArray(node.facts)) {
      for (const f of node.facts) if (isObject(f)) lines.push(`${String(f.title)}: ${String(f.value)}`);
    }
    if (typeof node.type === "string" && node.type.startsWith("Action.") && typeof node.title === "string") {
      lines.push(`[${node.title}]`);
    }
    for (const key of ["body", "items", "columns", "actions"]) walk(node[key]);
  };
  walk(card);
  return lines.join("\n");
}
