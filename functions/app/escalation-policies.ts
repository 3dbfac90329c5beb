import type {
  EscalationPolicyRecord,
  EscalationStepRecord,
  PolicyCursor,
  PolicyInput,
  PolicyWriteOutcome,
} from "../adapters/db/stores/escalation-policies.ts";
import * as store from "../adapters/db/stores/escalation-policies.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import { checkPolicy } from "../domain/escalation/policy-rules.ts";
import type { AppContext } from "./context.ts";

export type {
  EscalationPolicyRecord,
  EscalationStepRecord,
  EscalationTarget,
  PolicyCursor,
  PolicyInput,
} from "../adapters/db/stores/escalation-policies.ts";

// Use cases of escalation policies. Inputs are checked field by field by the RPC layer; the rules
// that tie repeat_count and the steps together (domain/escalation/policy-rules.ts) are checked here,
// on the policy as it will be saved, and so are user targets against the directory (as routing
// rules' notify_user: a user it does not know would only show up at page time, as
// no_contact_method). `prefix` is where the request keeps the policy's fields (`policy.` in
// UpdateEscalationPolicy), so errors name the request's own field.

export type PoliciesDeps = Pick<AppContext, "database" | "clock" | "directory">;

export async function createEscalationPolicy(
  deps: PoliciesDeps,
  input: PolicyInput,
): Promise<EscalationPolicyRecord> {
  checkPolicy(input, "", "steps");
  await checkUserTargets(deps, input.steps, "");
  const result = await store.createEscalationPolicy(deps.database.db, { ...input, now: deps.clock.now() });
  return policyOf(result, "", input.steps, "");
}

export async function getEscalationPolicy(deps: PoliciesDeps, id: string): Promise<EscalationPolicyRecord> {
  const policy = await store.getEscalationPolicy(deps.database.db, id);
  if (!policy) throw new NotFoundError("escalation policy", id);
  return policy;
}

export function listEscalationPolicies(
  deps: PoliciesDeps,
  input: { search: string; limit: number; after?: PolicyCursor | undefined },
) {
  return store.listEscalationPolicies(deps.database.db, input);
}

/** Changes the patch's fields; the whole policy that results must keep the rules. */
export async function updateEscalationPolicy(
  deps: PoliciesDeps,
  id: string,
  patch: Partial<PolicyInput>,
): Promise<EscalationPolicyRecord> {
  const changed = patch.steps ? "steps" : "repeat_count";
  // Only the steps being written: users of the policy's other fields are not asked about again.
  if (patch.steps) await checkUserTargets(deps, patch.steps, "policy.");
  const result = await store.updateEscalationPolicy(
    deps.database.db,
    id,
    patch,
    deps.clock.now(),
    (policy) => {
      if (patch.steps || patch.repeatCount !== undefined) checkPolicy(policy, "policy.", changed);
    },
  );
  return policyOf(result, id, patch.steps, "policy.");
}

export async function deleteEscalationPolicy(deps: PoliciesDeps, id: string): Promise<void> {
  const result = await store.deleteEscalationPolicy(deps.database.db, id);
  if (result.outcome === "not_found") throw new NotFoundError("escalation policy", id);
  if (result.outcome === "in_use") {
    throw new PreconditionError(
      `escalation policy ${id} is used by ${result.usedBy.join(", ")}; acknowledge or resolve the alerts, or change the rules, first`,
    );
  }
}

/**
 * Refuses the first user target the directory does not know, naming its field
 * (`steps[1].targets[0].user_id`); one directory call for all of them, before anything is written.
 */
async function checkUserTargets(
  deps: PoliciesDeps,
  steps: readonly EscalationStepRecord[],
  prefix: string,
): Promise<void> {
  const ids = new Set(steps.flatMap((s) => s.targets.filter((t) => t.kind === "user").map((t) => t.id)));
  if (ids.size === 0) return;
  const known = new Set((await deps.directory.getUsers([...ids])).map((u) => u.id));
  for (const [i, step] of steps.entries()) {
    for (const [j, target] of step.targets.entries()) {
      if (target.kind === "user" && !known.has(target.id)) {
        throw new ValidationError(
          `${prefix}steps[${i}].targets[${j}].user_id`,
          `user ${target.id} is not in the directory`,
        );
      }
    }
  }
}

/** The written policy, or the error its outcome means. */
function policyOf(
  result: PolicyWriteOutcome,
  id: string,
  steps: readonly EscalationStepRecord[] | undefined,
  prefix: string,
): EscalationPolicyRecord {
  if (result.outcome === "not_found") throw new NotFoundError("escalation policy", id);
  if (result.outcome === "missing_target") {
    const t = steps?.[result.stepIndex]?.targets[result.targetIndex];
    throw new ValidationError(
      `${prefix}steps[${result.stepIndex}].targets[${result.targetIndex}].${t?.kind}_id`,
      `${t?.kind} ${t?.id} does not exist`,
    );
  }
  return result.policy;
}
