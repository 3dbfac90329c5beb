// What Slack and Teams accept, as tests check it: the structural rules of Block Kit (Slack's "Reference:
// blocks", "composition objects" and "block elements" pages) and of Adaptive Cards 1.5 (the schema's
// required properties) that a rendered message can break. Each function lists the problems it finds,
// with their JSON path; [] means valid as far as these rules go. Kept here rather than a dependency:
// Slack publishes no validator package (its Block Kit Builder is a web tool), and Microsoft's
// `adaptivecards` is a browser renderer.

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function textObject(value: unknown, path: string, max: number, plainOnly = false): string[] {
  if (!isObject(value)) return [`${path}: must be a text object`];
  const problems: string[] = [];
  const kinds = plainOnly ? ["plain_text"] : ["plain_text", "mrkdwn"];
  if (!kinds.includes(value.type as string)) problems.push(`${path}.type: must be ${kinds.join(" or ")}`);
  if (typeof value.text !== "string" || value.text.length === 0) {
    problems.push(`${path}.text: must be a non-empty string`);
  } else if (value.text.length > max) {
    problems.push(`${path}.text: longer than ${max} characters`);
  }
  return problems;
}

function blockElement(value: unknown, path: string): string[] {
  if (!isObject(value)) return [`${path}: must be an object`];
  switch (value.type) {
    case "button": {
      const problems = textObject(value.text, `${path}.text`, 75, true);
      if (value.url !== undefined && (typeof value.url !== "string" || !/^https?:\/\//.test(value.url)))
        problems.push(`${path}.url: must be an http(s) URL`);
      if (value.style !== undefined && !["primary", "danger"].includes(value.style as string))
        problems.push(`${path}.style: must be primary or danger`);
      return problems;
    }
    case "image":
      return typeof value.image_url === "string" && typeof value.alt_text === "string"
        ? []
        : [`${path}: an image needs image_url and alt_text`];
    default:
      return [`${path}.type: ${JSON.stringify(value.type)} is not an element these messages use`];
  }
}

/** Problems of a Slack message body `{text, blocks}` (incoming webhook or chat.postMessage). */
export function blockKitProblems(body: unknown): string[] {
  if (!isObject(body)) return ["body: must be an object"];
  const problems: string[] = [];
  if (typeof body.text !== "string" || body.text.trim() === "")
    problems.push("text: the notification text must be a non-empty string");
  const blocks = body.blocks;
  if (!Array.isArray(blocks) || blocks.length === 0)
    return [...problems, "blocks: must be a non-empty array"];
  if (blocks.length > 50) problems.push("blocks: at most 50");
  blocks.forEach((block, i) => {
    const path = `blocks[${i}]`;
    if (!isObject(block)) {
      problems.push(`${path}: must be an object`);
      return;
    }
    if (block.block_id !== undefined && String(block.block_id).length > 255)
      problems.push(`${path}.block_id: longer than 255`);
    switch (block.type) {
      case "header":
        problems.push(...textObject(block.text, `${path}.text`, 150, true));
        break;
      case "section": {
        if (block.text === undefined && block.fields === undefined)
          problems.push(`${path}: a section needs text or fields`);
        if (block.text !== undefined) problems.push(...textObject(block.text, `${path}.text`, 3000));
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10)
            problems.push(`${path}.fields: 1 to 10 text objects`);
          else
            block.fields.forEach((f, j) => {
              problems.push(...textObject(f, `${path}.fields[${j}]`, 2000));
            });
        }
        break;
      }
      case "context":
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10)
          problems.push(`${path}.elements: 1 to 10 elements`);
        else
          block.elements.forEach((e, j) => {
            problems.push(
              ...(isObject(e) && e.type === "image"
                ? blockElement(e, `${path}.elements[${j}]`)
                : textObject(e, `${path}.elements[${j}]`, 3000)),
            );
          });
        break;
      case "actions":
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25)
          problems.push(`${path}.elements: 1 to 25 elements`);
        else
          block.elements.forEach((e, j) => {
            problems.push(...blockElement(e, `${path}.elements[${j}]`));
          });
        break;
      case "divider":
        break;
      default:
        problems.push(`${path}.type: ${JSON.stringify(block.type)} is not a block these messages use`);
    }
  });
  return problems;
}

function cardElement(value: unknown, path: string): string[] {
  if (!isObject(value)) return [`${path}: must be an object`];
  switch (value.type) {
    case "TextBlock":
      return typeof value.text === "string" && value.text !== ""
        ? []
        : [`${path}.text: a TextBlock needs a non-empty text`];
    case "FactSet":
      if (!Array.isArray(value.facts)) return [`${path}.facts: must be an array`];
      return value.facts.flatMap((f, i) =>
        isObject(f) && typeof f.title === "string" && typeof f.value === "string"
          ? []
          : [`${path}.facts[${i}]: needs a string title and value`],
      );
    case "Container":
      return Array.isArray(value.items)
        ? value.items.flatMap((e, i) => cardElement(e, `${path}.items[${i}]`))
        : [`${path}.items: must be an array`];
    default:
      return [`${path}.type: ${JSON.stringify(value.type)} is not an element these cards use`];
  }
}

/** Problems of an Adaptive Card (the `content` of a Teams attachment); Teams renders up to 1.5. */
export function adaptiveCardProblems(card: unknown): string[] {
  if (!isObject(card)) return ["card: must be an object"];
  const problems: string[] = [];
  if (card.type !== "AdaptiveCard") problems.push('type: must be "AdaptiveCard"');
  if (typeof card.version !== "string" || !/^1\.[0-5]$/.test(card.version))
    problems.push("version: must be 1.0 to 1.5 (what Teams renders)");
  if (!Array.isArray(card.body) || card.body.length === 0) problems.push("body: must be a non-empty array");
  else for (const [i, e] of card.body.entries()) problems.push(...cardElement(e, `body[${i}]`));
  if (card.actions !== undefined) {
    if (!Array.isArray(card.actions)) problems.push("actions: must be an array");
    else
      card.actions.forEach((a, i) => {
        if (!isObject(a) || a.type !== "Action.OpenUrl")
          problems.push(`actions[${i}].type: only Action.OpenUrl is used`);
        else if (typeof a.title !== "string" || typeof a.url !== "string" || !/^https?:\/\//.test(a.url))
          problems.push(`actions[${i}]: needs a title and an http(s) url`);
      });
  }
  return problems;
}

/** Problems of a Teams webhook body: one message with one Adaptive Card attachment. */
export function teamsMessageProblems(body: unknown): string[] {
  if (!isObject(body)) return ["body: must be an object"];
  const problems: string[] = [];
  if (body.type !== "message") problems.push('type: must be "message"');
  const attachments = body.attachments;
  if (!Array.isArray(attachments) || attachments.length !== 1)
    return [...problems, "attachments: exactly one"];
  const [attachment] = attachments as unknown[];
  if (!isObject(attachment)) return [...problems, "attachments[0]: must be an object"];
  if (attachment.contentType !== "application/vnd.microsoft.card.adaptive")
    problems.push("attachments[0].contentType: must be application/vnd.microsoft.card.adaptive");
  return [...problems, ...adaptiveCardProblems(attachment.content).map((p) => `attachments[0].content.${p}`)];
}
