import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  createEscalationPolicy,
  deleteEscalationPolicy,
  type EscalationPolicyRecord,
  type EscalationStepRecord,
  type EscalationTarget,
  getEscalationPolicy,
  listEscalationPolicies,
  type PolicyCursor,
  type PolicyInput,
  type PolicyWriteOutcome,
  updateEscalationPolicy,
} from "../../adapters/db/stores/escalation-policies.ts";
import type { AppContext } from "../../app/context.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../../domain/errors.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../domain/services/limits.ts";
import {
  type EscalationPolicy,
  EscalationPolicySchema,
  type EscalationPolicyService,
  type EscalationStep,
  type EscalationTarget as TargetMessage,
} from "../../gen/oncall/v1/escalation_policies_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isUuid,
  optionalText,
  pageSize,
  requireText,
  requireUuid,
} from "../request-validation.ts";
import { requireRef, requireUserId } from "./schedule-service.ts";

/** Times the whole policy may run again after its last step. */
export const MAX_REPEAT_COUNT = 20;
/** Steps in one policy. */
export const MAX_STEPS = 20;
/** Targets in one step. */
export const MAX_TARGETS = 50;
/** Longest wait after a step: one week (Step Functions would allow a year; no pager needs it). */
export const MAX_DELAY_SECONDS = 7 * 24 * 3600;

const updatable = ["name", "description", "repeat_count", "steps"] as const;

/** oncall.v1.EscalationPolicyService: policies with their ordered steps, replaced as a whole list. */
export function createEscalationPolicyService(ctx: AppContext): ServiceImpl<typeof EscalationPolicyService> {
  const db = () => ctx.database.db;
  return {
    async createEscalationPolicy(req) {
      const input: PolicyInput = {
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        description: optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        repeatCount: repeatCount(req.repeatCount, "repeat_count"),
        steps: steps(req.steps, ""),
      };
      const result = await createEscalationPolicy(db(), { ...input, now: ctx.clock.now() });
      return { policy: toPolicyMessage(policyOf(result, "", input.steps, "")) };
    },

    async getEscalationPolicy(req) {
      const id = requireUuid(req.id, "id");
      const policy = await getEscalationPolicy(db(), id);
      if (!policy) throw new NotFoundError("escalation policy", id);
      return { policy: toPolicyMessage(policy) };
    },

    async listEscalationPolicies(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "escalation_policies", { search }, isPolicyCursor);
      const page = await listEscalationPolicies(db(), { search, limit, after });
      return {
        policies: page.policies.map(toPolicyMessage),
        nextPageToken: page.next ? encodePageToken("escalation_policies", page.next, { search }) : "",
      };
    },

    async updateEscalationPolicy(req) {
      const input = req.policy;
      if (!input) throw new ValidationError("policy", "is required");
      const id = requireUuid(input.id, "policy.id");
      const paths = req.updateMask?.paths.length ? req.updateMask.paths : updatable;
      const patch: Partial<PolicyInput> = {};
      paths.forEach((path, i) => {
        switch (path) {
          case "name":
            patch.name = requireText(input.name, "policy.name", MAX_NAME_LENGTH);
            break;
          case "description":
            patch.description = optionalText(input.description, "policy.description", MAX_DESCRIPTION_LENGTH);
            break;
          case "repeat_count":
            patch.repeatCount = repeatCount(input.repeatCount, "policy.repeat_count");
            break;
          case "steps":
            patch.steps = steps(input.steps, "policy.");
            break;
          default:
            throw new ValidationError(
              `update_mask.paths[${i}]`,
              `cannot update "${path}"; updatable fields are ${updatable.join(", ")}`,
            );
        }
      });
      const result = await updateEscalationPolicy(db(), id, patch, ctx.clock.now());
      return { policy: toPolicyMessage(policyOf(result, id, patch.steps, "policy.")) };
    },

    async deleteEscalationPolicy(req) {
      const id = requireUuid(req.id, "id");
      const result = await deleteEscalationPolicy(db(), id);
      if (result.outcome === "not_found") throw new NotFoundError("escalation policy", id);
      if (result.outcome === "in_use") {
        throw new PreconditionError(
          `escalation policy ${id} is escalating ${result.usedBy.join(", ")}; acknowledge or resolve first`,
        );
      }
      return {};
    },
  };
}

function repeatCount(value: number, field: string): number {
  if (value < 0 || value > MAX_REPEAT_COUNT)
    throw new ValidationError(field, `must be from 0 to ${MAX_REPEAT_COUNT}`);
  return value;
}

/** Steps from a request; every failure names the field, e.g. `steps[1].targets[0].schedule_id`. */
function steps(input: readonly EscalationStep[], prefix: string): EscalationStepRecord[] {
  if (input.length > MAX_STEPS)
    throw new ValidationError(`${prefix}steps`, `a policy has at most ${MAX_STEPS} steps`);
  return input.map((step, i) => {
    const f = `${prefix}steps[${i}]`;
    if (step.delaySeconds < 0 || step.delaySeconds > MAX_DELAY_SECONDS) {
      throw new ValidationError(`${f}.delay_seconds`, `must be from 0 to ${MAX_DELAY_SECONDS} seconds`);
    }
    if (step.targets.length === 0) {
      throw new ValidationError(
        `${f}.targets`,
        "a step needs at least one target (a user, schedule, rotation or channel)",
      );
    }
    if (step.targets.length > MAX_TARGETS) {
      throw new ValidationError(`${f}.targets`, `a step has at most ${MAX_TARGETS} targets`);
    }
    return {
      delaySeconds: step.delaySeconds,
      targets: step.targets.map((t, j) => target(t, `${f}.targets[${j}]`)),
    };
  });
}

function target(t: TargetMessage, field: string): EscalationTarget {
  switch (t.kind.case) {
    case "userId":
      return { kind: "user", id: requireUserId(t.kind.value, `${field}.user_id`) };
    case "scheduleId":
      return { kind: "schedule", id: requireUuid(t.kind.value, `${field}.schedule_id`) };
    case "rotationId":
      return { kind: "rotation", id: requireUuid(t.kind.value, `${field}.rotation_id`) };
    case "channelId":
      return { kind: "channel", id: requireRef(t.kind.value, `${field}.channel_id`, "channel") };
    default:
      throw new ValidationError(field, "choose user_id, schedule_id, rotation_id or channel_id");
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

function isPolicyCursor(value: unknown): value is PolicyCursor {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.id === "string" &&
    isUuid(v.id)
  );
}

const targetCase = {
  user: "userId",
  schedule: "scheduleId",
  rotation: "rotationId",
  channel: "channelId",
} as const;

export function toPolicyMessage(policy: EscalationPolicyRecord): EscalationPolicy {
  return create(EscalationPolicySchema, {
    id: policy.id,
    name: policy.name,
    description: policy.description,
    repeatCount: policy.repeatCount,
    steps: policy.steps.map((s) => ({
      delaySeconds: s.delaySeconds,
      targets: s.targets.map((t) => ({ kind: { case: targetCase[t.kind], value: t.id } })),
    })),
    createTime: timestampFromDate(policy.createdAt),
    updateTime: timestampFromDate(policy.updatedAt),
  });
}
