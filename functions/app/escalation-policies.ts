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
// on the policy as it will be saved. `prefix` is where the request keeps the policy's fields
// (`policy.` in UpdateEscalationPolicy), so errors name the request's own field.

export type PoliciesDeps = Pick<AppContext, "database" | "clock">;

export async function createEscalationPolicy(
  deps: PoliciesDeps,
  input: PolicyInput,
): Promise<EscalationPolicyRecord> {
  checkPolicy(input, "", "steps");
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
