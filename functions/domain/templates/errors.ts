import { ValidationError } from "../errors.ts";
import type { TemplateProblem } from "./model.ts";

/** A template that cannot be saved; `problems` holds every problem with its place. */
export class TemplateValidationError extends ValidationError {
  readonly problems: readonly TemplateProblem[];
  constructor(problems: readonly TemplateProblem[], fieldPrefix = "variants") {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
    super(first.part ? `${fieldPrefix}.${first.part}` : fieldPrefix, `${describeProblem(first)}${more}`);
    this.problems = problems;
  }
}

/** A render that failed at run time (a helper's bad argument, the budget, the output limit). */
export class TemplateRenderError extends Error {
  override readonly name = "TemplateRenderError";
}

/** "line 3, column 5: unknown helper "foo"". */
export function describeProblem(p: TemplateProblem): string {
  const where =
    p.line > 0 ? `${p.inOutput ? "rendered output " : ""}line ${p.line}, column ${p.column}: ` : "";
  return `${where}${p.message}`;
}
