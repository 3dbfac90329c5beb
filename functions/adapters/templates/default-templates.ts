import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type MessageKind, messageKinds, type TemplateVariants } from "../../domain/templates/index.ts";

/**
 * The default templates, read from the top-level `templates/` folder: one folder per kind of message
 * (`alert/`, `status-update/`, `bundle/`, `handoff/`), one file per part. The Lambda bundles carry
 * the same files next to the bundle (infra/constructs/function.ts copies the folder), so AWS and
 * `npm start` render from the same bytes.
 */
export const templateFiles = {
  slack: { blocks: "slack.blocks.json.hbs", text: "slack.text.hbs" },
  teams: { card: "teams.card.json.hbs" },
  email: { subject: "email.subject.hbs", html: "email.html.hbs", text: "email.text.hbs" },
  sms: { text: "sms.hbs" },
  voice: { text: "voice.hbs" },
  webhook: { body: "webhook.json.hbs" },
} as const;

/** `status_update` → `status-update`: the folder of a kind. */
export function kindFolder(kind: MessageKind): string {
  return kind.replaceAll("_", "-");
}

/**
 * Where the folder is: beside the module when bundled (the Lambda), else at the repository root
 * (three levels up from functions/adapters/templates/).
 */
export function defaultTemplatesDir(): string {
  const candidates = [
    path.join(import.meta.dirname, "templates"),
    path.resolve(import.meta.dirname, "../../../templates"),
  ];
  const found = candidates.find((dir) => existsSync(path.join(dir, "alert")));
  if (!found) throw new Error(`default templates not found (looked in ${candidates.join(", ")})`);
  return found;
}

/**
 * Every kind's default variants, all channels. A file's one trailing newline (what editors add) is
 * not part of the template.
 *
 * @throws when a file is missing: a release without its defaults must not start.
 */
export function loadDefaultTemplates(
  dir: string = defaultTemplatesDir(),
): Map<MessageKind, TemplateVariants> {
  const defaults = new Map<MessageKind, TemplateVariants>();
  for (const kind of messageKinds) {
    const variants: Record<string, Record<string, string>> = {};
    for (const [channel, parts] of Object.entries(templateFiles)) {
      variants[channel] = {};
      for (const [part, file] of Object.entries(parts)) {
        const source = readFileSync(path.join(dir, kindFolder(kind), file), "utf8");
        variants[channel][part] = source.endsWith("\n") ? source.slice(0, -1) : source;
      }
    }
    defaults.set(kind, variants as TemplateVariants);
  }
  return defaults;
}
