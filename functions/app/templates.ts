import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import {
  appendTemplateVersion,
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplates,
  listTemplateVersions,
  liveTemplateVersion,
  loadAlertView,
  pinnedTemplate,
  pinTemplate,
  publishTemplateVersion,
  type TemplateCursor,
  type TemplateRecord,
  type TemplateVersionRecord,
  unpinTemplate,
} from "../adapters/db/stores/templates.ts";
import type { Clock } from "../domain/clock.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import {
  buildRenderContext,
  type Channel,
  type CompiledTemplate,
  checkTemplate,
  compileTemplate,
  type MessageKind,
  messageKinds,
  type RenderContext,
  type RenderedChannel,
  renderChannels,
  sampleContext,
  type TemplateCheck,
  type TemplateVariants,
  validateTemplate,
} from "../domain/templates/index.ts";

/** Store records the RPC layer maps to proto (it reaches the store only through this module). */
export type { TemplateCursor, TemplateVersionRecord };

/**
 * Template use cases: CRUD over immutable versions, pins, validation and preview, and what the
 * senders call to render a message (`templateFor` + `render`). Compiled templates are cached per
 * (template, version) for the life of the warm process: versions never change, so the cache needs
 * no invalidation (only the live pointer is read each time).
 */

/** Built-in templates: id "default-<kind>" (e.g. default-status-update), version 1, read-only. */
export const BUILTIN_PREFIX = "default-";
export const BUILTIN_VERSION = 1;
export const BUILTIN_AUTHOR = "oncall";

export function builtinTemplateId(kind: MessageKind): string {
  return `${BUILTIN_PREFIX}${kind.replaceAll("_", "-")}`;
}

export function builtinKindOf(id: string): MessageKind | undefined {
  return messageKinds.find((kind) => builtinTemplateId(kind) === id);
}

export interface TemplateView {
  readonly template: TemplateRecord & { readonly builtin: boolean };
  readonly version: TemplateVersionRecord;
}

export interface TemplatePorts {
  /** The database, read per call (the handle is built once per process). */
  readonly db: () => Kysely<Database>;
  readonly clock: Clock;
  /** The default variants of each kind (templates/); called once, on first use. */
  readonly defaults: () => ReadonlyMap<MessageKind, TemplateVariants>;
}

/** Cached compiled templates (saved versions) and drafts; least recently used out first. */
const MAX_CACHED_TEMPLATES = 500;
const MAX_CACHED_DRAFTS = 32;

class LruCache<V> {
  readonly #entries = new Map<string, V>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

export type TemplateSource =
  | { readonly kind: "saved"; readonly id: string; readonly version: number }
  | { readonly kind: "draft"; readonly messageKind: MessageKind; readonly variants: TemplateVariants };

export interface PreviewInput {
  readonly source: TemplateSource;
  /** A real alert; undefined: the sample of the kind. */
  readonly alertId?: number | undefined;
  readonly channels: readonly Channel[];
  readonly timeZone?: string | undefined;
}

export interface PreviewResult {
  readonly templateId: string;
  readonly version: number;
  readonly kind: MessageKind;
  readonly renderings: readonly RenderedChannel[];
}

export function createTemplateUseCases(ports: TemplatePorts) {
  // The defaults are read and compiled on first use, not when the services are registered: the API
  // Lambda's cold start does not pay for them unless it renders (~100 ms here for all four). Their
  // full save checks run in the tests (default-templates.test.ts).
  let defaultVariants: ReadonlyMap<MessageKind, TemplateVariants> | undefined;
  const variantsOf = (kind: MessageKind): TemplateVariants => {
    defaultVariants ??= ports.defaults();
    const variants = defaultVariants.get(kind);
    if (!variants) throw new Error(`no default template for ${kind}`);
    return variants;
  };
  const compiledDefaults = new Map<MessageKind, CompiledTemplate>();
  const defaultOf = (kind: MessageKind): CompiledTemplate => {
    let template = compiledDefaults.get(kind);
    if (!template) {
      template = compileTemplate(kind, variantsOf(kind));
      compiledDefaults.set(kind, template);
    }
    return template;
  };
  const compiled = new LruCache<CompiledTemplate>(MAX_CACHED_TEMPLATES);
  const drafts = new LruCache<CompiledTemplate>(MAX_CACHED_DRAFTS);

  const builtinView = (kind: MessageKind): TemplateView => {
    const epoch = new Date(0);
    return {
      template: {
        id: builtinTemplateId(kind),
        name: `Default ${kind.replaceAll("_", " ")}`,
        description: `The built-in ${kind.replaceAll("_", " ")} template (templates/${kind.replaceAll("_", "-")}/)`,
        kind,
        liveVersion: BUILTIN_VERSION,
        latestVersion: BUILTIN_VERSION,
        pinnedServiceIds: [],
        createdAt: epoch,
        updatedAt: epoch,
        builtin: true,
      },
      version: {
        templateId: builtinTemplateId(kind),
        version: BUILTIN_VERSION,
        variants: variantsOf(kind),
        author: BUILTIN_AUTHOR,
        changeNote: "",
        createdAt: epoch,
      },
    };
  };

  const refuseBuiltin = (id: string) => {
    if (builtinKindOf(id)) {
      throw new PreconditionError(
        `${id} is a built-in template and cannot be changed; create a template instead`,
      );
    }
  };

  /** The compiled saved version (cached; versions are immutable). */
  const compiledVersion = async (
    id: string,
    version: number,
    kind: MessageKind,
  ): Promise<CompiledTemplate> => {
    const key = `${id}@${version}`;
    const hit = compiled.get(key);
    if (hit) return hit;
    const row = await getTemplateVersion(ports.db(), id, version);
    if (!row) throw new NotFoundError("template version", key);
    const result = compileTemplate(kind, row.variants);
    compiled.set(key, result);
    return result;
  };

  const compiledDraft = (kind: MessageKind, variants: TemplateVariants): CompiledTemplate => {
    const key = createHash("sha256").update(kind).update(JSON.stringify(variants)).digest("base64url");
    const hit = drafts.get(key);
    if (hit) return hit;
    const result = compileTemplate(kind, variants);
    drafts.set(key, result);
    return result;
  };

  /** The template and version a source names, compiled. */
  const resolve = async (
    source: TemplateSource,
  ): Promise<{ id: string; version: number; kind: MessageKind; template: CompiledTemplate }> => {
    if (source.kind === "draft") {
      return {
        id: "",
        version: 0,
        kind: source.messageKind,
        template: compiledDraft(source.messageKind, source.variants),
      };
    }
    const builtin = builtinKindOf(source.id);
    if (builtin) {
      if (source.version !== 0 && source.version !== BUILTIN_VERSION) {
        throw new NotFoundError("template version", `${source.id}@${source.version}`);
      }
      return { id: source.id, version: BUILTIN_VERSION, kind: builtin, template: defaultOf(builtin) };
    }
    const live = await liveTemplateVersion(ports.db(), source.id);
    if (!live) throw new NotFoundError("template", source.id);
    const version = source.version || live.liveVersion;
    return {
      id: source.id,
      version,
      kind: live.kind,
      template: await compiledVersion(source.id, version, live.kind),
    };
  };

  const contextFor = async (kind: MessageKind, alertId: number | undefined, timeZone: string | undefined) => {
    const sample = sampleContext(kind);
    let context: RenderContext = sample;
    if (alertId !== undefined) {
      const found = await loadAlertView(ports.db(), alertId);
      if (!found) throw new NotFoundError("alert", String(alertId));
      context = buildRenderContext({
        kind,
        now: ports.clock.now(),
        alerts: [found.alert],
        service: found.service,
        escalation: { step: 1, pass: 1, notified: [] },
        recipient: sample.recipient,
        update: sample.update,
        handoff: sample.handoff,
      });
    }
    return timeZone ? { ...context, recipient: { ...context.recipient, timeZone } } : context;
  };

  return {
    /** Checks without saving: every problem with its place, and the sample's warnings. */
    check(kind: MessageKind, variants: TemplateVariants): TemplateCheck {
      return checkTemplate(kind, variants);
    },

    async create(input: {
      name: string;
      description: string;
      kind: MessageKind;
      variants: TemplateVariants;
      changeNote: string;
      author: string;
    }): Promise<TemplateView> {
      validateTemplate(input.kind, input.variants);
      const result = await createTemplate(ports.db(), { ...input, now: ports.clock.now() });
      return { template: { ...result.template, builtin: false }, version: result.version };
    },

    async get(id: string, version: number): Promise<TemplateView> {
      const builtin = builtinKindOf(id);
      if (builtin) {
        if (version !== 0 && version !== BUILTIN_VERSION)
          throw new NotFoundError("template version", `${id}@${version}`);
        return builtinView(builtin);
      }
      const template = await getTemplate(ports.db(), id);
      if (!template) throw new NotFoundError("template", id);
      const row = await getTemplateVersion(ports.db(), id, version || template.liveVersion);
      if (!row) throw new NotFoundError("template version", `${id}@${version}`);
      return { template: { ...template, builtin: false }, version: row };
    },

    /** The built-in templates (on the first page), then saved ones by name. */
    async list(input: { kind?: MessageKind | undefined; limit: number; after?: TemplateCursor | undefined }) {
      const builtins = input.after
        ? []
        : messageKinds.filter((k) => !input.kind || k === input.kind).map((k) => builtinView(k).template);
      // The built-ins count against the first page's size (at least one saved template per page).
      const page = await listTemplates(ports.db(), {
        ...input,
        limit: Math.max(1, input.limit - builtins.length),
      });
      return {
        templates: [...builtins, ...page.templates.map((t) => ({ ...t, builtin: false }))],
        next: page.next,
      };
    },

    async listVersions(id: string, input: { limit: number; before?: number | undefined }) {
      const builtin = builtinKindOf(id);
      if (builtin) return { versions: input.before ? [] : [builtinView(builtin).version], next: undefined };
      const page = await listTemplateVersions(ports.db(), id, input);
      if (page.versions.length === 0 && !input.before && !(await getTemplate(ports.db(), id))) {
        throw new NotFoundError("template", id);
      }
      return page;
    },

    /** Appends a version (when variants are given); publishes it on request. */
    async update(input: {
      id: string;
      variants?: TemplateVariants | undefined;
      changeNote: string;
      publish: boolean;
      name?: string | undefined;
      description?: string | undefined;
      author: string;
    }): Promise<TemplateView> {
      refuseBuiltin(input.id);
      if (input.variants) {
        const live = await liveTemplateVersion(ports.db(), input.id);
        if (!live) throw new NotFoundError("template", input.id);
        validateTemplate(live.kind, input.variants);
      }
      const result = await appendTemplateVersion(ports.db(), input.id, {
        version: input.variants && {
          variants: input.variants,
          author: input.author,
          changeNote: input.changeNote,
        },
        publish: input.publish,
        name: input.name,
        description: input.description,
        now: ports.clock.now(),
      });
      if (result.outcome === "not_found") throw new NotFoundError("template", input.id);
      return { template: { ...result.template, builtin: false }, version: result.version };
    },

    async publish(id: string, version: number) {
      refuseBuiltin(id);
      const result = await publishTemplateVersion(ports.db(), id, version, ports.clock.now());
      if (result.outcome === "not_found") throw new NotFoundError("template", id);
      if (result.outcome === "no_such_version") {
        throw new ValidationError("version", `must be from 1 to ${result.latestVersion}`);
      }
      return { ...result.template, builtin: false };
    },

    async delete(id: string): Promise<void> {
      refuseBuiltin(id);
      const result = await deleteTemplate(ports.db(), id);
      if (result.outcome === "not_found") throw new NotFoundError("template", id);
      if (result.outcome === "pinned") {
        throw new PreconditionError(
          `template ${id} is pinned by service(s) ${result.serviceIds.join(", ")}; unpin it first`,
        );
      }
      if (result.outcome === "in_use") {
        throw new PreconditionError(
          `template ${id} is used by ${result.usedBy.join(", ")}; change those rules' notify_channel actions first`,
        );
      }
    },

    async pin(serviceId: string, templateId: string): Promise<void> {
      if (builtinKindOf(templateId)) {
        throw new ValidationError(
          "template_id",
          "a built-in template is what a service uses when it pins none; unpin instead",
        );
      }
      const result = await pinTemplate(ports.db(), serviceId, templateId, ports.clock.now());
      if (result.outcome === "template_not_found") throw new NotFoundError("template", templateId);
      if (result.outcome === "service_not_found") throw new NotFoundError("service", serviceId);
    },

    async unpin(serviceId: string, kind: MessageKind): Promise<boolean> {
      return unpinTemplate(ports.db(), serviceId, kind);
    },

    /** Renders what the senders would send, for the editor. */
    async preview(input: PreviewInput): Promise<PreviewResult> {
      const { id, version, kind, template } = await resolve(input.source);
      const context = await contextFor(kind, input.alertId, input.timeZone);
      return {
        templateId: id,
        version,
        kind,
        renderings: renderChannels(template, defaultOf(kind), context, input.channels),
      };
    },

    /**
     * What a delivery renders for a service and kind: the pinned template's live version, else the
     * default. The delivery records `templateId` and `version`.
     */
    async templateFor(
      serviceId: string | undefined,
      kind: MessageKind,
    ): Promise<{ templateId: string; version: number; template: CompiledTemplate }> {
      const pin = serviceId ? await pinnedTemplate(ports.db(), serviceId, kind) : undefined;
      if (!pin)
        return { templateId: builtinTemplateId(kind), version: BUILTIN_VERSION, template: defaultOf(kind) };
      return {
        templateId: pin.templateId,
        version: pin.liveVersion,
        template: await compiledVersion(pin.templateId, pin.liveVersion, kind),
      };
    },

    /** A saved or built-in template by id and version (0: the live one), compiled: SendNotification's. */
    async templateById(
      id: string,
      version: number,
    ): Promise<{ templateId: string; version: number; template: CompiledTemplate }> {
      const found = await resolve({ kind: "saved", id, version });
      return { templateId: found.id, version: found.version, template: found.template };
    },

    /** Renders channels of a compiled template (missing channels from the kind's default). */
    render(
      template: CompiledTemplate,
      context: RenderContext,
      channels: readonly Channel[],
    ): RenderedChannel[] {
      return renderChannels(template, defaultOf(template.kind), context, channels);
    },
  };
}

export type TemplateUseCases = ReturnType<typeof createTemplateUseCases>;
