import path from "node:path";

/** The repository root: CDK resolves every file it bundles or reads from here, whatever the cwd. */
export const repoRoot = path.resolve(import.meta.dirname, "..");

/** The file of a Lambda handler, by name: `handlerEntry("api")` → `functions/handlers/api.ts`. */
export function handlerEntry(name: string): string {
  return path.join(repoRoot, "functions", "handlers", `${name}.ts`);
}

/** An ASL file, by name: `stateMachineFile("escalation")` → `state-machines/escalation.asl.json`. */
export function stateMachineFile(name: string): string {
  return path.join(repoRoot, "state-machines", `${name}.asl.json`);
}
