import { describe, expect, it } from "vitest";
import { sampleContext } from "./context.ts";
import { TemplateValidationError } from "./errors.ts";
import { jsonErrorOffset } from "./json-position.ts";
import { type Channel, MAX_EACH_ITERATIONS, MAX_PART_SOURCE_BYTES, type TemplateVariants } from "./model.ts";
import { compileTemplate, renderChannels } from "./render.ts";
import { checkTemplate } from "./validate.ts";

// The renderer, table-driven: escaping per format with hostile values, the sandbox's refusals with
// their places, the budget, and fallbacks to the default variant.

const hostileValues = [
  'quote " and backslash \\ and \\"',
  "new\nline\r\tand tab",
  "</script><script>alert(1)</script>",
  "{{alert.summary}} {{{raw}}} {{> partial}}",
  '"}, "injected": true, "x": {"',
  "\u2028\u2029 and \u0000 control",
  "emoji 🔥 and lone surrogate \ud800",
  "<b>&amp;</b> ' ` =",
];

function hostileContext(value: string) {
  const base = sampleContext("alert");
  return {
    ...base,
    alert: {
      ...base.alert!,
      summary: value,
      details: value,
      labels: { [value]: value, team: value },
      annotations: { note: value },
    },
    service: { ...base.service!, name: value },
    recipient: { name: value, timeZone: "UTC" },
  };
}

const jsonTemplate: TemplateVariants = {
  webhook: {
    body: '{"summary": "{{alert.summary}}", "service": "{{service.name}}", "upper": "{{upper alert.details}}", "cut": "{{truncate alert.summary 10}}", "labels": {{json alert.labels}}, "each": [{{#each alert.labels}}"{{@key}}={{this}}"{{#unless @last}},{{/unless}}{{/each}}]}',
  },
  slack: {
    blocks:
      '{"blocks": [{"type": "section", "text": {"type": "plain_text", "text": "{{alert.summary}} {{label alert.labels "team"}}"}}]}',
    text: "{{alert.summary}}",
  },
  email: {
    subject: "{{alert.summary}}",
    html: '<p>{{alert.summary}}</p><a href="{{service.name}}">x</a>',
    text: "{{alert.summary}}",
  },
  sms: { text: "{{alert.summary}}" },
};

describe("escaping per format", () => {
  const template = compileTemplate("alert", jsonTemplate);
  it.each(hostileValues)("keeps %j as data in every format", (value) => {
    const [webhook, slack, email, sms] = renderChannels(template, template, hostileContext(value), [
      "webhook",
      "slack",
      "email",
      "sms",
    ]);
    // JSON: parses, and the values come back exactly.
    expect(webhook!.errors).toEqual([]);
    const body = JSON.parse(webhook!.parts[0]!.content);
    expect(body.summary).toBe(value);
    expect(body.service).toBe(value);
    expect(body.upper).toBe(value.toUpperCase());
    expect(body.labels).toEqual({ [value]: value, team: value });
    expect(body.each).toContain(`${value}=${value}`);
    expect(Object.keys(body)).toEqual(["summary", "service", "upper", "cut", "labels", "each"]);
    // No raw "<" in JSON output: it cannot close a <script> it is embedded in.
    expect(webhook!.parts[0]!.content).not.toMatch(/[<>]/);
    expect(slack!.errors).toEqual([]);
    expect(JSON.parse(slack!.parts[0]!.content).blocks[0].text.text).toBe(`${value} ${value}`);
    // HTML: escaped; text parts raw.
    const html = email!.parts.find((p) => p.name === "html")!.content;
    expect(html).not.toContain("<script>");
    expect(html.match(/"/g)).toHaveLength(2); // only the attribute's own quotes
    expect(email!.parts.find((p) => p.name === "text")!.content).toBe(value);
    expect(sms!.parts[0]!.content).toBe(value);
    // A subject is one line.
    expect(email!.parts.find((p) => p.name === "subject")!.content).not.toMatch(/[\r\n]/);
  });

  it("prints nothing for null and false-y values like Handlebars does", () => {
    const t = compileTemplate("alert", {
      webhook: { body: '{"a": "{{alert.acknowledgedAt}}", "b": "{{alert.duplicateCount}}"}' },
    });
    const context = {
      ...sampleContext("alert"),
      alert: { ...sampleContext("alert").alert!, duplicateCount: 0 },
    };
    const [r] = renderChannels(t, t, context, ["webhook"]);
    expect(JSON.parse(r!.parts[0]!.content)).toEqual({ a: "", b: "0" });
  });
});

describe("the sandbox refuses at compile, with the place", () => {
  const cases: [string, string, RegExp, number, number][] = [
    ["unknown helper", "Hi\n  {{shout alert.summary}}", /unknown helper "shout"/, 2, 5],
    [
      "unknown helper in a sub-expression",
      "{{upper (shout alert.summary)}}",
      /unknown helper "shout"/,
      1,
      10,
    ],
    ["unknown block helper", "{{#repeat 3}}x{{/repeat}}", /unknown helper "repeat"/, 1, 4],
    ["log is not in the set", '{{log "x"}}', /unknown helper "log"/, 1, 3],
    ["unknown variable", "{{alert.sumary}}", /unknown variable "alert.sumary": alert has no "sumary"/, 1, 3],
    [
      "unknown variable in each",
      "{{#each bundle.alerts}}\n{{summry}}{{/each}}",
      /unknown variable "summry"/,
      2,
      3,
    ],
    ["unknown data variable", "{{@secret}}", /unknown variable "@secret"/, 1, 3],
    ["constructor", "{{alert.constructor.name}}", /prototype access is not allowed/, 1, 3],
    ["__proto__", "{{#with alert}}{{__proto__}}{{/with}}", /prototype access is not allowed/, 1, 18],
    ["lookup constructor", '{{lookup alert "constructor"}}', /prototype access is not allowed/, 1, 16],
    ["partial", "x {{> header}}", /partials are not supported/, 1, 3],
    ["inline partial", '{{#*inline "p"}}x{{/inline}}', /decorators are not supported/, 1, 1],
    ["syntax", "line 1\n{{#if alert}}\n  {{alert.summary}\n{{/if}}", /syntax error/, 3, 18],
    ["unclosed block", "{{#if alert}}x{{/each}}", /syntax error: if doesn't match each/, 1, 4],
  ];
  it.each(cases)("%s", (_name, source, message, line, column) => {
    const { errors } = checkTemplate("alert", { sms: { text: source } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ part: "sms.text", line, column });
    expect(errors[0]!.message).toMatch(message);
    // and the save error names the field and the place
    expect(() => compileTemplate("alert", { sms: { text: source } })).toThrow(TemplateValidationError);
  });

  it("refuses a part over 64 KiB", () => {
    const source = "x".repeat(MAX_PART_SOURCE_BYTES + 1);
    let error: unknown;
    try {
      compileTemplate("alert", { voice: { text: source } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateValidationError);
    expect((error as TemplateValidationError).field).toBe("variants.voice.text");
    expect((error as Error).message).toMatch(/at most 65536 bytes/);
  });

  it("requires every part of a channel that is set", () => {
    const { errors } = checkTemplate("alert", { email: { subject: "s", html: "", text: "t" } });
    expect(errors).toEqual([
      expect.objectContaining({ part: "email.html", message: expect.stringMatching(/required/) }),
    ]);
  });

  it("accepts block params, @root, @index and label maps", () => {
    const { errors } = checkTemplate("bundle", {
      sms: {
        text: "{{#each bundle.alerts as |a i|}}{{i}} {{a.summary}} {{@index}} {{@root.service.name}} {{a.labels.team}} {{../kind}}{{/each}} {{bundle.alerts.length}}",
      },
    });
    expect(errors).toEqual([]);
  });
});

describe("JSON variants are checked against the sample context", () => {
  it("reports invalid JSON with its place in the output", () => {
    const { errors } = checkTemplate("alert", { webhook: { body: '{\n  "a": {{{alert.summary}}}\n}' } });
    expect(errors[0]).toMatchObject({ part: "webhook.body", line: 2, column: 8, inOutput: true });
    expect(errors[0]!.message).toMatch(/renders invalid JSON/);
  });

  it("reports a Slack message without blocks and a Teams card without its type", () => {
    const { errors } = checkTemplate("alert", {
      slack: { blocks: '{"text": "x"}', text: "x" },
      teams: { card: '{"type": "MessageCard"}' },
    });
    expect(errors.map((e) => [e.part, e.message.replace(/ \(with.*$/, "")])).toEqual([
      ["slack.blocks", 'must be a JSON object with a "blocks" array'],
      ["teams.card", 'must be a JSON object with "type": "AdaptiveCard"'],
    ]);
  });

  it("finds the offset of the first JSON error", () => {
    const cases: [string, number][] = [
      ['{"a": 1}', -1],
      ['{"a": 1,}', 8],
      ['{"a": x}', 6],
      ["[1, 2", 5],
      ['{"a": "\n"}', 7],
      ["1 2", 2],
    ];
    for (const [text, offset] of cases) expect([text, jsonErrorOffset(text)]).toEqual([text, offset]);
  });
});

describe("the render budget", () => {
  it("stops a template that loops too much", () => {
    const context = sampleContext("alert");
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, "v"]));
    const t = compileTemplate("alert", {
      sms: { text: "{{#each alert.labels}}{{#each @root.alert.labels}}{{this}}{{/each}}{{/each}}" },
    });
    const [r] = renderChannels(t, t, { ...context, alert: { ...context.alert!, labels: many } }, ["sms"]);
    expect(r!.errors[0]!.message).toMatch(new RegExp(`more than ${MAX_EACH_ITERATIONS} times`));
  });
});

describe("fallback and warnings", () => {
  const fallback = compileTemplate("alert", { sms: { text: "default {{alert.id}}" }, voice: { text: "v" } });
  it("takes a channel the template lacks from the default", () => {
    const t = compileTemplate("alert", { sms: { text: "own {{alert.id}}" } });
    const out = renderChannels(t, fallback, sampleContext("alert"), ["sms", "voice"]);
    expect(out.map((r) => [r.channel, r.fromDefault, r.parts[0]?.content])).toEqual([
      ["sms", false, "own 4217"],
      ["voice", true, "v"],
    ]);
  });

  const warningCases: [string, Channel, TemplateVariants, RegExp][] = [
    [
      "long GSM-7 SMS",
      "sms",
      { sms: { text: "{{#each bundle.alerts}}{{summary}} {{summary}} {{summary}}{{/each}}" } },
      /\(GSM-7\) is over 160: sent as 2 SMS segments/,
    ],
    [
      "UCS-2 SMS",
      "sms",
      { sms: { text: "{{severityEmoji alert.severity}} {{alert.summary}} {{alert.summary}}" } },
      /\(UCS-2\) is over 70: sent as 2 SMS segments/,
    ],
    [
      "too many Slack blocks",
      "slack",
      {
        slack: {
          blocks:
            '{"blocks": [{{#each bundle.alerts}}{{#each labels}}{"type":"divider"},{{/each}}{{/each}}{"type":"divider"}]}',
          text: "x",
        },
      },
      /51 blocks|blocks; Slack takes at most 50/,
    ],
    [
      "long email subject",
      "email",
      { email: { subject: "{{alert.details}}{{alert.details}}{{alert.details}}", html: "x", text: "x" } },
      /subject is \d+ characters; keep it under 255/,
    ],
  ];
  it.each(warningCases)("warns: %s", (_name, channel, variants, message) => {
    const kind = channel === "slack" || _name === "long GSM-7 SMS" ? "bundle" : "alert";
    const t = compileTemplate(kind, variants);
    const context = sampleContext(kind);
    const wide =
      channel === "slack"
        ? {
            ...context,
            bundle: {
              count: 2,
              alerts: context.bundle!.alerts.map((a) => ({
                ...a,
                labels: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`l${i}`, "x"])),
              })),
            },
          }
        : context;
    const [r] = renderChannels(t, t, wide, [channel]);
    expect(r!.errors).toEqual([]);
    expect(r!.warnings.map((w) => w.message).join("\n")).toMatch(message);
  });
});
