import { loadDefaultTemplates } from "./functions/adapters/templates/default-templates.ts";
import {
  checkTemplate,
  compileTemplate,
  renderChannels,
  sampleContext,
} from "./functions/domain/templates/index.ts";

const d = loadDefaultTemplates();
for (const [kind, v] of d) {
  const c = checkTemplate(kind, v);
  console.log(kind, JSON.stringify(c.errors), JSON.stringify(c.warnings));
}
const t = compileTemplate("alert", d.get("alert")!);
for (const r of renderChannels(t, t, sampleContext("alert")))
  console.log(
    r.channel,
    r.plainText ? "PLAIN:\n" + r.plainText : "",
    r.parts.map((p) => p.name + ":\n" + p.content).join("\n"),
    r.sms ?? "",
  );
