import type { Kysely } from "kysely";
import type { Database } from "../functions/adapters/db/schema.ts";
import { findActiveExecutionsAfter } from "../functions/adapters/db/stores/escalations.ts";
import { logger } from "../functions/adapters/observability.ts";
import {
  escalationTaskPlaceholders,
  readEscalationDefinition,
} from "../functions/adapters/state-machines.ts";
import type { EscalationTaskDeps } from "../functions/app/escalation-ports.ts";
import { createEscalationFailureHandler } from "../functions/handlers/escalation-failure.ts";
import { createEscalationStepHandler } from "../functions/handlers/escalation-step.ts";
import { createLocalEscalationRunner, type LocalEscalationRunner } from "./local-escalation-runner.ts";

/**
 * The embedded runtime's escalations: state-machines/escalation.asl.json on the local runner, its task
 * resources mapped to the very handlers the task Lambdas wrap. `resume` starts every execution that
 * has an active escalation in the database (after a restart or a crash: one per cohort); each first
 * RunStep waits what is left of its cohort's next step, or runs it at once if it is overdue.
 */
export async function createEmbeddedEscalations(deps: EscalationTaskDeps): Promise<{
  runner: LocalEscalationRunner;
  resume(): Promise<number>;
}> {
  const runner = createLocalEscalationRunner({
    definition: await readEscalationDefinition(),
    // The committed state-machines/escalation.asl.json, validated by local-escalation-runner.test.ts:
    // validating it again at every start would cost ~0.7 s (see `validate`).
    validate: false,
    tasks: {
      [escalationTaskPlaceholders.runStep]: createEscalationStepHandler(deps),
      [escalationTaskPlaceholders.recordFailure]: createEscalationFailureHandler(deps),
    },
  });
  return {
    runner,
    async resume() {
      const count = await resumeActiveEscalations(deps.db, runner);
      if (count > 0) logger.info("escalations resumed", { executions: count });
      return count;
    },
  };
}

/** Execution names read per query when resuming. */
const resumePageSize = 1_000;

/**
 * Starts every execution that has an active escalation (its name, once per cohort), reading them in
 * keyset pages (any number, in bounded memory per query). Returns how many were resumed.
 */
export async function resumeActiveEscalations(
  db: Kysely<Database>,
  runner: Pick<LocalEscalationRunner, "resume">,
  pageSize = resumePageSize,
): Promise<number> {
  let count = 0;
  let afterName = "";
  for (;;) {
    const page = await findActiveExecutionsAfter(db, { afterName, limit: pageSize });
    if (page.length === 0) return count;
    await runner.resume(page);
    count += page.length;
    afterName = page[page.length - 1]!;
    if (page.length < pageSize) return count;
  }
}
