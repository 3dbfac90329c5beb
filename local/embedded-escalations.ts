import type { Kysely } from "kysely";
import type { Database } from "../functions/adapters/db/schema.ts";
import { findActiveEscalations } from "../functions/adapters/db/stores/escalations.ts";
import { logger } from "../functions/adapters/observability.ts";
import {
  escalationTaskPlaceholders,
  readEscalationDefinition,
} from "../functions/adapters/state-machines.ts";
import type { Clock } from "../functions/domain/clock.ts";
import { createEscalationFailureHandler } from "../functions/handlers/escalation-failure.ts";
import { createEscalationStepHandler } from "../functions/handlers/escalation-step.ts";
import { createLocalEscalationRunner, type LocalEscalationRunner } from "./local-escalation-runner.ts";

/**
 * The embedded runtime's escalations: state-machines/escalation.asl.json on the local runner, its task
 * resources mapped to the very handlers the task Lambdas wrap. `resume` starts an execution for every
 * active escalation in the database (after a restart or a crash); each first RunStep waits what is
 * left of its step's delay, or runs it at once if it is overdue.
 */
export async function createEmbeddedEscalations(deps: { db: Kysely<Database>; clock: Clock }): Promise<{
  runner: LocalEscalationRunner;
  resume(): Promise<number>;
}> {
  const runner = createLocalEscalationRunner({
    definition: await readEscalationDefinition(),
    tasks: {
      [escalationTaskPlaceholders.runStep]: createEscalationStepHandler(deps),
      [escalationTaskPlaceholders.recordFailure]: createEscalationFailureHandler(deps),
    },
  });
  return {
    runner,
    async resume() {
      const active = await findActiveEscalations(deps.db);
      await runner.resume(active);
      if (active.length > 0) logger.info("escalations resumed", { count: active.length });
      return active.length;
    },
  };
}
