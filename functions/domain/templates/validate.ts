import { sampleContext } from "./context.ts";
import { TemplateValidationError } from "./errors.ts";
import type { MessageKind, TemplateProblem, TemplateVariants } from "./model.ts";
import { type CompiledTemplate, compileTemplate, renderChannels } from "./render.ts";

export interface TemplateCheck {
  /** Problems that make the template unsavable. */
  readonly errors: readonly TemplateProblem[];
  /** Limits the sample rendering goes over (the sender still sends). */
  readonly warnings: readonly TemplateProblem[];
  /** The compiled template when there are no errors. */
  readonly compiled?: CompiledTemplate;
}

/**
 * Everything a save checks: the sources compile in the sandbox, and every channel the template
 * defines renders for the full and the minimal sample context of its kind, its JSON parts to valid
 * JSON of the channel's shape. Problems are collected, not thrown.
 */
export function checkTemplate(kind: MessageKind, variants: TemplateVariants): TemplateCheck {
  let compiled: CompiledTemplate;
  try {
    compiled = compileTemplate(kind, variants);
  } catch (err) {
    if (err instanceof TemplateValidationError) return { errors: err.problems, warnings: [] };
    throw err;
  }
  const own = [...compiled.channels.keys()];
  const errors: TemplateProblem[] = [];
  const warnings: TemplateProblem[] = [];
  for (const sample of ["full", "minimal"] as const) {
    for (const rendering of renderChannels(compiled, compiled, sampleContext(kind, sample), own)) {
      for (const e of rendering.errors)
        errors.push({ ...e, message: `${e.message} (with the ${sample} sample)` });
      if (sample === "full") warnings.push(...rendering.warnings);
    }
  }
  return errors.length > 0 ? { errors: dedupe(errors), warnings } : { errors, warnings, compiled };
}

/** The compiled template, or a TemplateValidationError (invalid_argument naming the first problem). */
export function validateTemplate(kind: MessageKind, variants: TemplateVariants): CompiledTemplate {
  const check = checkTemplate(kind, variants);
  if (!check.compiled) throw new TemplateValidationError(check.errors);
  return check.compiled;
}

function dedupe(problems: TemplateProblem[]): TemplateProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.part}|${p.line}|${p.column}|${p.message.replace(/ \(with the \w+ sample\)$/, "")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
