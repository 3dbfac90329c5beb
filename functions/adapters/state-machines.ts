import { readFile } from "node:fs/promises";
import path from "node:path";

// The ASL files of state-machines/ and their `${PascalName}` placeholders. Shared by the CDK app
// (DefinitionSubstitutions, checked at synth) and the embedded runtime (which substitutes local task
// resources before it hands the definition to aws-local-stepfunctions). No AWS SDK, no CDK here.

/** `state-machines/escalation.asl.json`, wherever the process runs from. */
export const escalationDefinitionFile = path.resolve(
  import.meta.dirname,
  "../../state-machines/escalation.asl.json",
);

/** The escalation ASL, as written. */
export function readEscalationDefinition(): Promise<string> {
  return readFile(escalationDefinitionFile, "utf8");
}

/** Matches `${Anything}` in an ASL text; placeholder names must be PascalCase. */
const placeholderPattern = /\$\{([^}]*)\}/g;
const pascalName = /^[A-Z][A-Za-z0-9]*$/;

/** The distinct `${Name}` placeholders of an ASL text, sorted. */
export function placeholdersIn(asl: string): string[] {
  return [...new Set(Array.from(asl.matchAll(placeholderPattern), (m) => m[1] ?? ""))].sort();
}

/**
 * Throws unless every placeholder of `asl` is a PascalCase name with a value in `substitutions`, and
 * every substitution is used: a typo on either side fails the synth (or the start) instead of the
 * first execution.
 */
export function checkSubstitutions(asl: string, substitutions: Record<string, string>): void {
  const used = placeholdersIn(asl);
  const problems = [
    ...used.filter((name) => !pascalName.test(name)).map((name) => `\${${name}} is not a PascalCase name`),
    ...used.filter((name) => !(name in substitutions)).map((name) => `\${${name}} has no substitution`),
    ...Object.keys(substitutions)
      .filter((name) => !used.includes(name))
      .map((name) => `substitution ${name} is not used`),
  ];
  if (problems.length > 0) throw new Error(`state machine placeholders: ${problems.join("; ")}`);
}

/** The ASL text with its placeholders replaced, as Step Functions will see it. */
export function applySubstitutions(asl: string, substitutions: Record<string, string>): string {
  checkSubstitutions(asl, substitutions);
  return asl.replace(placeholderPattern, (_, name: string) => substitutions[name] ?? "");
}

/** The placeholder names of the escalation's task resources (see state-machines/README.md). */
export const escalationTaskPlaceholders = {
  runStep: "RunEscalationStepFunctionArn",
  recordFailure: "RecordEscalationFailureFunctionArn",
} as const;
