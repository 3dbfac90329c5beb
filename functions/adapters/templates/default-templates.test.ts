import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  type AlertView,
  type ContextShape,
  channels,
  checkTemplate,
  compileTemplate,
  contextShape,
  messageKinds,
  type RenderContext,
  renderChannels,
  sampleContext,
} from "../../domain/templates/index.ts";
import { defaultTemplatesDir, loadDefaultTemplates } from "./default-templates.ts";

// The default templates in templates/: every kind renders every channel with a full, a minimal, a
// unicode, a 2,000-character and a hostile alert, and the JSON channels parse to their shapes.

const defaults = loadDefaultTemplates();

function withAlert(context: RenderContext, change: Partial<AlertView>): RenderContext {
  const alert = context.alert ? { ...context.alert, ...change } : null;
  return {
    ...context,
    alert,
    bundle: context.bundle && {
      ...context.bundle,
      alerts: context.bundle.alerts.map((a) => ({ ...a, ...change })),
    },
  };
}

const hostile = 'q" \\ \n\t </script><b>{{alert.summary}}</b> "}, "x": 1, {"';

const variants: [string, (kind: (typeof messageKinds)[number]) => RenderContext][] = [
  ["full", (kind) => sampleContext(kind, "full")],
  ["minimal (no labels, empty details, no service)", (kind) => sampleContext(kind, "minimal")],
  [
    "unicode",
    (kind) =>
      withAlert(sampleContext(kind), {
        summary: "Überlast 🔥 на сервере — 東京 データベース",
        labels: { région: "東京", emoji: "🔥" },
        details: "ĉu ŝi? 🙂",
      }),
  ],
  [
    "2,000-character summary",
    (kind) => withAlert(sampleContext(kind), { summary: "s".repeat(2000), details: "d".repeat(70_000) }),
  ],
  [
    "hostile values",
    (kind) => {
      const c = withAlert(sampleContext(kind), {
        summary: hostile,
        details: hostile,
        labels: { [hostile]: hostile },
      });
      return {
        ...c,
        service: { id: "x", name: hostile, description: hostile },
        update: c.update && { ...c.update, actor: hostile, note: hostile },
        handoff: c.handoff && { ...c.handoff, onCall: hostile, scheduleName: hostile, previous: hostile },
      };
    },
  ],
];

describe.each(messageKinds)("default %s template", (kind) => {
  const template = compileTemplate(kind, defaults.get(kind)!);

  it("passes the save checks", () => {
    expect(checkTemplate(kind, defaults.get(kind)!).errors).toEqual([]);
  });

  it.each(variants)("renders every channel for the %s context", (_name, contextOf) => {
    const context = contextOf(kind);
    const out = renderChannels(template, template, context, channels);
    for (const r of out) {
      expect({ channel: r.channel, errors: r.errors }).toEqual({ channel: r.channel, errors: [] });
      for (const p of r.parts) expect(p.content.trim(), `${r.channel}.${p.name}`).not.toBe("");
    }
    const part = (channel: string, name: string) =>
      out.find((r) => r.channel === channel)!.parts.find((p) => p.name === name)!.content;
    const blocks = JSON.parse(part("slack", "blocks"));
    expect(Array.isArray(blocks.blocks)).toBe(true);
    for (const b of blocks.blocks) expect(typeof b.type).toBe("string");
    const card = JSON.parse(part("teams", "card"));
    expect(card.type).toBe("AdaptiveCard");
    expect(Array.isArray(card.body)).toBe(true);
    const webhook = JSON.parse(part("webhook", "body"));
    expect(webhook.kind).toBe(kind);
    expect(part("email", "html")).not.toContain("</script>");
    if (context.alert && kind !== "bundle" && context.alert.summary === hostile) {
      // the hostile summary comes back as the same data out of the JSON channels
      expect(JSON.stringify(blocks)).toContain(JSON.stringify(hostile.slice(0, 12)).slice(1, -1));
      expect(JSON.stringify(card)).toContain(JSON.stringify(hostile.slice(0, 12)).slice(1, -1));
      expect(webhook.alert.summary).toBe(hostile);
    }
    expect(out.find((r) => r.channel === "slack")!.plainText).not.toBe("");
    expect(out.find((r) => r.channel === "teams")!.plainText).not.toBe("");
  });
});

describe("templates/README.md", () => {
  const readme = readFileSync(path.join(defaultTemplatesDir(), "README.md"), "utf8");

  /** Every variable path of the context, e.g. alert.labels, bundle.alerts. */
  function paths(shape: ContextShape, prefix: string): string[] {
    if (typeof shape === "string") return [prefix];
    if ("list" in shape) return [prefix];
    return [
      ...(prefix ? [prefix] : []),
      ...Object.entries(shape.fields).flatMap(([k, s]) => paths(s, prefix ? `${prefix}.${k}` : k)),
    ];
  }

  it.each(paths(contextShape, "").filter((p) => !p.startsWith("bundle.alerts.")))(
    "documents %s",
    (variable) => {
      expect(readme).toContain(`\`${variable}\``);
    },
  );
});
