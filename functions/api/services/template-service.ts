import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { loadDefaultTemplates } from "../../adapters/templates/default-templates.ts";
import type { AppContext } from "../../app/context.ts";
import {
  builtinKindOf,
  createTemplateUseCases,
  type TemplateCursor,
  type TemplateVersionRecord,
  type TemplateView,
} from "../../app/templates.ts";
import { ValidationError } from "../../domain/errors.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../domain/services/limits.ts";
import {
  type Channel as ChannelName,
  channels as channelNames,
  channelParts,
  type MessageKind as KindName,
  messageKinds,
  type RenderedChannel,
  type TemplateProblem,
  type TemplateVariants,
} from "../../domain/templates/index.ts";
import {
  Channel,
  ChannelRenderingSchema,
  MessageKind,
  type Template,
  TemplateProblemSchema,
  TemplateSchema,
  type TemplateService,
  TemplateVariantsSchema,
  type TemplateVersion,
  TemplateVersionSchema,
  type TemplateVariants as VariantsMessage,
} from "../../gen/oncall/v1/templates_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isUuid,
  optionalText,
  pageSize,
  principalOf,
  requireId,
  requireText,
  requireUuid,
} from "../request-validation.ts";

const MAX_CHANGE_NOTE_LENGTH = 1000;

const kindOf: Record<number, KindName> = {
  [MessageKind.ALERT]: "alert",
  [MessageKind.STATUS_UPDATE]: "status_update",
  [MessageKind.BUNDLE]: "bundle",
  [MessageKind.HANDOFF]: "handoff",
};
const kindEnum: Record<KindName, MessageKind> = {
  alert: MessageKind.ALERT,
  status_update: MessageKind.STATUS_UPDATE,
  bundle: MessageKind.BUNDLE,
  handoff: MessageKind.HANDOFF,
};
const channelOf: Record<number, ChannelName> = {
  [Channel.SLACK]: "slack",
  [Channel.TEAMS]: "teams",
  [Channel.EMAIL]: "email",
  [Channel.SMS]: "sms",
  [Channel.VOICE]: "voice",
  [Channel.WEBHOOK]: "webhook",
};
const channelEnum = Object.fromEntries(Object.entries(channelOf).map(([n, c]) => [c, Number(n)])) as Record<
  ChannelName,
  Channel
>;

/** oncall.v1.TemplateService: versioned per-channel templates, pins, validation and live preview. */
export function createTemplateService(ctx: AppContext): ServiceImpl<typeof TemplateService> {
  const templates = createTemplateUseCases({
    db: () => ctx.database.db,
    clock: ctx.clock,
    defaults: () => loadDefaultTemplates(),
  });
  return {
    async createTemplate(req, context) {
      const view = await templates.create({
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        description: optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        kind: requireKind(req.kind, "kind"),
        variants: variantsFrom(req.variants, "variants", true),
        changeNote: optionalText(req.changeNote, "change_note", MAX_CHANGE_NOTE_LENGTH),
        author: principalOf(context).id,
      });
      return { template: toTemplate(view.template), version: toVersion(view.version) };
    },

    async getTemplate(req) {
      const view = await templates.get(requireTemplateId(req.id, "id"), version(req.version, "version"));
      return { template: toTemplate(view.template), version: toVersion(view.version) };
    },

    async listTemplates(req) {
      const kind = req.kind === MessageKind.UNSPECIFIED ? undefined : requireKind(req.kind, "kind");
      const filters = { kind: kind ?? "" };
      const after = decodePageToken(req.pageToken, "templates", filters, isCursor);
      const page = await templates.list({ kind, limit: pageSize(req.pageSize), after });
      return {
        templates: page.templates.map(toTemplate),
        nextPageToken: page.next ? encodePageToken("templates", page.next, filters) : "",
      };
    },

    async listTemplateVersions(req) {
      const id = requireTemplateId(req.id, "id");
      const before = decodePageToken(req.pageToken, "template_versions", { id }, isVersionCursor);
      const page = await templates.listVersions(id, { limit: pageSize(req.pageSize), before });
      return {
        versions: page.versions.map(toVersion),
        nextPageToken: page.next ? encodePageToken("template_versions", page.next, { id }) : "",
      };
    },

    async updateTemplate(req, context) {
      const view = await templates.update({
        id: requireTemplateId(req.id, "id"),
        variants: req.variants ? variantsFrom(req.variants, "variants", true) : undefined,
        changeNote: optionalText(req.changeNote, "change_note", MAX_CHANGE_NOTE_LENGTH),
        publish: req.publish,
        name: req.name === undefined ? undefined : requireText(req.name, "name", MAX_NAME_LENGTH),
        description:
          req.description === undefined
            ? undefined
            : optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        author: principalOf(context).id,
      });
      return { template: toTemplate(view.template), version: toVersion(view.version) };
    },

    async publishTemplateVersion(req) {
      const id = requireTemplateId(req.id, "id");
      if (req.version < 1) throw new ValidationError("version", "is required (1 or more)");
      return { template: toTemplate(await templates.publish(id, req.version)) };
    },

    async deleteTemplate(req) {
      await templates.delete(requireTemplateId(req.id, "id"));
      return {};
    },

    async pinTemplate(req) {
      await templates.pin(
        requireUuid(req.serviceId, "service_id"),
        requireTemplateId(req.templateId, "template_id"),
      );
      return {};
    },

    async unpinTemplate(req) {
      await templates.unpin(requireUuid(req.serviceId, "service_id"), requireKind(req.kind, "kind"));
      return {};
    },

    async validateTemplate(req) {
      const check = templates.check(
        requireKind(req.kind, "kind"),
        variantsFrom(req.variants, "variants", false),
      );
      return {
        valid: check.errors.length === 0,
        errors: check.errors.map(toProblem),
        warnings: check.warnings.map(toProblem),
      };
    },

    async renderPreview(req) {
      const source = req.source;
      let input: Parameters<typeof templates.preview>[0]["source"];
      if (source.case === "template") {
        input = {
          kind: "saved",
          id: requireTemplateId(source.value.id, "template.id"),
          version: version(source.value.version, "template.version"),
        };
      } else if (source.case === "draft") {
        input = {
          kind: "draft",
          messageKind: requireKind(source.value.kind, "draft.kind"),
          variants: variantsFrom(source.value.variants, "draft.variants", false),
        };
      } else {
        throw new ValidationError("source", "choose template (id and version) or draft");
      }
      const result = await templates.preview({
        source: input,
        alertId: req.alertId === 0n ? undefined : requireId(req.alertId, "alert_id"),
        channels: wantedChannels(req.channels),
        timeZone: timeZone(req.timeZone),
      });
      return {
        templateId: result.templateId,
        version: result.version,
        kind: kindEnum[result.kind],
        renderings: result.renderings.map(toRendering),
      };
    },
  };
}

function requireKind(value: MessageKind, field: string): KindName {
  const kind = kindOf[value];
  if (!kind)
    throw new ValidationError(
      field,
      `is required: one of ${messageKinds.map((k) => `MESSAGE_KIND_${k.toUpperCase()}`).join(", ")}`,
    );
  return kind;
}

/** A saved template's uuid or a built-in id ("default-alert"…). */
function requireTemplateId(value: string, field: string): string {
  if (builtinKindOf(value)) return value;
  if (value === "") throw new ValidationError(field, "is required");
  if (!isUuid(value)) {
    throw new ValidationError(
      field,
      `must be a template uuid or a built-in id (default-alert, default-status-update, default-bundle, default-handoff)`,
    );
  }
  return value.toLowerCase();
}

function version(value: number, field: string): number {
  if (value < 0) throw new ValidationError(field, "must not be negative (0 means the live version)");
  return value;
}

function timeZone(value: string): string | undefined {
  if (value === "") return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
  } catch {
    throw new ValidationError(
      "time_zone",
      `must be an IANA time zone such as Europe/Berlin, got ${JSON.stringify(value.slice(0, 64))}`,
    );
  }
  return value;
}

function wantedChannels(values: readonly Channel[]): ChannelName[] {
  if (values.length === 0) return [...channelNames];
  const wanted = values.map((v, i) => {
    const channel = channelOf[v];
    if (!channel)
      throw new ValidationError(`channels[${i}]`, "must be a channel (CHANNEL_SLACK … CHANNEL_WEBHOOK)");
    return channel;
  });
  return [...new Set(wanted)];
}

/**
 * The domain variants of a message. The sources are not checked here (the domain reports every
 * problem with its place); only that a template defines at least one channel when `required`.
 */
function variantsFrom(
  message: VariantsMessage | undefined,
  field: string,
  required: boolean,
): TemplateVariants {
  const variants: Record<string, Record<string, string>> = {};
  for (const channel of channelNames) {
    const variant = message?.[channel] as Record<string, unknown> | undefined;
    if (!variant) continue;
    variants[channel] = Object.fromEntries(
      channelParts[channel].map((p) => [
        p.name,
        typeof variant[p.name] === "string" ? (variant[p.name] as string) : "",
      ]),
    );
  }
  if (required && Object.keys(variants).length === 0) {
    throw new ValidationError(field, "set at least one channel (slack, teams, email, sms, voice, webhook)");
  }
  return variants as TemplateVariants;
}

function toVariants(variants: TemplateVariants): VariantsMessage {
  return create(TemplateVariantsSchema, variants as Record<string, unknown>);
}

export function toTemplate(template: TemplateView["template"]): Template {
  return create(TemplateSchema, {
    id: template.id,
    name: template.name,
    description: template.description,
    kind: kindEnum[template.kind],
    liveVersion: template.liveVersion,
    latestVersion: template.latestVersion,
    builtin: template.builtin,
    pinnedServiceIds: [...template.pinnedServiceIds],
    ...(template.builtin
      ? {}
      : {
          createTime: timestampFromDate(template.createdAt),
          updateTime: timestampFromDate(template.updatedAt),
        }),
  });
}

function toVersion(version: TemplateVersionRecord): TemplateVersion {
  const builtin = builtinKindOf(version.templateId) !== undefined;
  return create(TemplateVersionSchema, {
    templateId: version.templateId,
    version: version.version,
    variants: toVariants(version.variants),
    author: version.author,
    changeNote: version.changeNote,
    ...(builtin ? {} : { createTime: timestampFromDate(version.createdAt) }),
  });
}

function toProblem(p: TemplateProblem) {
  return create(TemplateProblemSchema, {
    part: p.part,
    message: p.message,
    line: p.line,
    column: p.column,
    inOutput: p.inOutput ?? false,
  });
}

function toRendering(r: RenderedChannel) {
  return create(ChannelRenderingSchema, {
    channel: channelEnum[r.channel],
    parts: r.parts.map((p) => ({ name: p.name, content: p.content, contentType: p.contentType })),
    fromDefault: r.fromDefault,
    plainText: r.plainText,
    warnings: r.warnings.map(toProblem),
    errors: r.errors.map(toProblem),
    smsSegments: r.sms?.segments ?? 0,
    smsEncoding: r.sms?.encoding ?? "",
  });
}

function isCursor(value: unknown): value is TemplateCursor {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.id === "string" &&
    isUuid(v.id)
  );
}

function isVersionCursor(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}
