import { type CompiledPart, checkAst, compilePart, parseSource } from "./compile.ts";
import type { RenderContext } from "./context.ts";
import { TemplateRenderError, TemplateValidationError } from "./errors.ts";
import { jsonErrorOffset } from "./json-position.ts";
import {
  emailSubjectWarnings,
  slackPlainText,
  slackShapeError,
  slackWarnings,
  teamsPlainText,
  teamsShapeError,
  teamsWarnings,
} from "./limits.ts";
import {
  type Channel,
  channelParts,
  channels,
  contentTypeOf,
  type MessageKind,
  type PartFormat,
  partKey,
  type TemplateProblem,
  type TemplateVariants,
} from "./model.ts";
import { countSmsSegments } from "./sms.ts";

interface CompiledChannelPart {
  readonly name: string;
  readonly format: PartFormat;
  readonly render: CompiledPart;
}

/** A template ready to render: its kind and the compiled parts of the channels it defines. */
export interface CompiledTemplate {
  readonly kind: MessageKind;
  readonly channels: ReadonlyMap<Channel, readonly CompiledChannelPart[]>;
}

/**
 * Compiles every part of every channel the variants define; all problems at once, with places.
 *
 * @throws TemplateValidationError listing syntax errors, unknown helpers or variables, prototype
 *   access, partials, oversized parts and channels with a missing part.
 */
export function compileTemplate(kind: MessageKind, variants: TemplateVariants): CompiledTemplate {
  const problems: TemplateProblem[] = [];
  const compiled = new Map<Channel, CompiledChannelPart[]>();
  for (const channel of channels) {
    const variant = variants[channel] as Readonly<Record<string, string>> | undefined;
    if (!variant) continue;
    const parts: CompiledChannelPart[] = [];
    for (const spec of channelParts[channel]) {
      const key = partKey(channel, spec.name);
      const source = variant[spec.name] ?? "";
      if (source.trim() === "") {
        problems.push({
          part: key,
          message: `is required when the ${channel} variant is set`,
          line: 0,
          column: 0,
        });
        continue;
      }
      const parsed = parseSource(source, key);
      if (!parsed.ast) {
        problems.push(...parsed.problems);
        continue;
      }
      const found = checkAst(parsed.ast, key);
      if (found.length > 0) {
        problems.push(...found);
        continue;
      }
      parts.push({ name: spec.name, format: spec.format, render: compilePart(parsed.ast, spec.format) });
    }
    compiled.set(channel, parts);
  }
  if (problems.length > 0) throw new TemplateValidationError(problems);
  return { kind, channels: compiled };
}

export interface RenderedPart {
  readonly name: string;
  readonly content: string;
  readonly contentType: string;
}

/** One channel's message, as the sender would send it, with what the editor should know. */
export interface RenderedChannel {
  readonly channel: Channel;
  readonly parts: readonly RenderedPart[];
  /** The variant came from the fallback (default) template. */
  readonly fromDefault: boolean;
  /** Slack and Teams: the text a reader sees. */
  readonly plainText: string;
  readonly warnings: readonly TemplateProblem[];
  /** Render failures; `parts` then holds what did render. */
  readonly errors: readonly TemplateProblem[];
  readonly sms?: { readonly segments: number; readonly encoding: "GSM-7" | "UCS-2" };
}

/**
 * Renders the channels asked for: from the template where it has the channel, else from the
 * fallback (the default template of the same kind). One channel's failure does not stop the others.
 *
 * @example renderChannels(compiled, defaults.get("alert"), context, ["slack", "sms"])
 */
export function renderChannels(
  template: CompiledTemplate,
  fallback: CompiledTemplate,
  context: RenderContext,
  wanted: readonly Channel[] = channels,
): RenderedChannel[] {
  return wanted.map((channel) => {
    const own = template.channels.get(channel);
    const parts = own ?? fallback.channels.get(channel) ?? [];
    return renderChannel(channel, parts, context, !own);
  });
}

function renderChannel(
  channel: Channel,
  parts: readonly CompiledChannelPart[],
  context: RenderContext,
  fromDefault: boolean,
): RenderedChannel {
  const rendered: RenderedPart[] = [];
  const warnings: TemplateProblem[] = [];
  const errors: TemplateProblem[] = [];
  let plainText = "";
  let sms: RenderedChannel["sms"];
  for (const part of parts) {
    const key = partKey(channel, part.name);
    let content: string;
    try {
      content = part.render(context);
    } catch (err) {
      if (!(err instanceof TemplateRenderError)) throw err;
      errors.push({ part: key, message: err.message, line: 0, column: 0 });
      continue;
    }
    if (channel === "email" && part.name === "subject") content = oneLine(content);
    rendered.push({ name: part.name, content, contentType: contentTypeOf[part.format] });
    if (part.format === "json") {
      const parsed = parseJson(content, key);
      if ("problem" in parsed) {
        errors.push(parsed.problem);
        continue;
      }
      const shapeError =
        channel === "slack"
          ? slackShapeError(parsed.value)
          : channel === "teams"
            ? teamsShapeError(parsed.value)
            : undefined;
      if (shapeError) errors.push({ part: key, message: shapeError, line: 0, column: 0, inOutput: true });
      if (channel === "slack") {
        warnings.push(...slackWarnings(parsed.value, key));
        plainText = slackPlainText(parsed.value);
      } else if (channel === "teams") {
        warnings.push(...teamsWarnings(content, key));
        plainText = teamsPlainText(parsed.value);
      }
    } else if (channel === "email" && part.name === "subject") {
      warnings.push(...emailSubjectWarnings(content, key));
    } else if (channel === "sms") {
      const count = countSmsSegments(content);
      sms = { segments: count.segments, encoding: count.encoding };
      if (count.units > count.singleLimit) {
        warnings.push({
          part: key,
          message: `${count.units} ${count.encoding === "GSM-7" ? "characters" : "UTF-16 units"} (${count.encoding}) is over ${count.singleLimit}: sent as ${count.segments} SMS segments`,
          line: 0,
          column: 0,
        });
      }
    }
  }
  return { channel, parts: rendered, fromDefault, plainText, warnings, errors, ...(sms ? { sms } : {}) };
}

/** A subject is one header line: line breaks become spaces (no header injection). */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** The parsed JSON, or the parse error with its line and column in the output. */
export function parseJson(text: string, part: string): { value: unknown } | { problem: TemplateProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const offset = jsonErrorOffset(text);
    const position = offset >= 0 ? offset : text.length;
    const before = text.slice(0, position).split("\n");
    return {
      problem: {
        part,
        message: `renders invalid JSON: ${message.replace(/, ".*" is not valid JSON$/s, "").replace(/ in JSON at position \d+.*$/s, "")}`,
        line: before.length,
        column: before.at(-1)!.length + 1,
        inOutput: true,
      },
    };
  }
}
