/**
 * Templates: one per kind of message, with a variant per channel. A variant is one or more parts
 * (Slack: Block Kit JSON and a fallback text; email: subject, HTML, text…), each a Handlebars source
 * rendered with the escaping of its format.
 */

export const messageKinds = ["alert", "status_update", "bundle", "handoff"] as const;
export type MessageKind = (typeof messageKinds)[number];

export const channels = ["slack", "teams", "email", "sms", "voice", "webhook"] as const;
export type Channel = (typeof channels)[number];

/** How a part's values are escaped: JSON string content, HTML, or not at all. */
export type PartFormat = "json" | "html" | "text";

export interface PartSpec {
  readonly name: string;
  readonly format: PartFormat;
}

/** The parts of each channel's variant, in the order they are shown and rendered. */
export const channelParts = {
  slack: [
    { name: "blocks", format: "json" },
    { name: "text", format: "text" },
  ],
  teams: [{ name: "card", format: "json" }],
  email: [
    { name: "subject", format: "text" },
    { name: "html", format: "html" },
    { name: "text", format: "text" },
  ],
  sms: [{ name: "text", format: "text" }],
  voice: [{ name: "text", format: "text" }],
  webhook: [{ name: "body", format: "json" }],
} as const satisfies Record<Channel, readonly PartSpec[]>;

export type PartName<C extends Channel> = (typeof channelParts)[C][number]["name"];

/** The Handlebars sources of one channel: every part of the channel. */
export type ChannelVariant<C extends Channel> = { readonly [P in PartName<C>]: string };

/** A template's sources; a channel left out falls back to the default template of the same kind. */
export type TemplateVariants = { readonly [C in Channel]?: ChannelVariant<C> };

/** "slack.blocks": how problems and request fields name a part. */
export function partKey(channel: Channel, part: string): string {
  return `${channel}.${part}`;
}

export const contentTypeOf: Record<PartFormat, string> = {
  json: "application/json",
  html: "text/html",
  text: "text/plain",
};

/** Largest source of one part, in UTF-8 bytes. */
export const MAX_PART_SOURCE_BYTES = 64 * 1024;
/** Largest rendered part, in characters: a message no channel would take, and a bound on the work. */
export const MAX_RENDERED_PART_CHARS = 256 * 1024;
/** `#each` iterations in one render of one part, all loops together: the render-time budget. */
export const MAX_EACH_ITERATIONS = 20_000;
/** Alerts listed in a bundle's context (the count says how many there are in all). */
export const MAX_BUNDLE_ALERTS = 50;

/** A problem in a template, with its place (1-based; 0 when unknown). */
export interface TemplateProblem {
  /** "slack.blocks", or "" for the whole template. */
  readonly part: string;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  /** The position is in the rendered output (invalid JSON), not in the source. */
  readonly inOutput?: boolean;
}
