import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import type {
  EscalationPolicyRecord,
  EscalationStepRecord,
  EscalationTarget,
  PolicyInput,
} from "../../app/escalation-policies.ts";
import * as useCases from "../../app/escalation-policies.ts";
import { ValidationError } from "../../domain/errors.ts";
import { checkRepeatCount, checkSteps } from "../../domain/escalation/policy-rules.ts";
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
  isNameCursor,
  optionalText,
  pageSize,
  requireText,
  requireUserId,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

const updatable = ["name", "description", "repeat_count", "steps"] as const;

/** oncall.v1.EscalationPolicyService: policies with their ordered steps, replaced as a whole list. */
export function createEscalationPolicyService(ctx: AppContext): ServiceImpl<typeof EscalationPolicyService> {
  return {
    async createEscalationPolicy(req) {
      const input: PolicyInput = {
        name: requireText(req.name, "name", MAX_NAME_LENGTH),
        description: optionalText(req.description, "description", MAX_DESCRIPTION_LENGTH),
        repeatCount: checkRepeatCount(req.repeatCount, "repeat_count"),
        steps: steps(req.steps, ""),
      };
      return { policy: toPolicyMessage(await useCases.createEscalationPolicy(ctx, input)) };
    },

    async getEscalationPolicy(req) {
      return { policy: toPolicyMessage(await useCases.getEscalationPolicy(ctx, requireUuid(req.id, "id"))) };
    },

    async listEscalationPolicies(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "escalation_policies", { search }, isNameCursor);
      const page = await useCases.listEscalationPolicies(ctx, { search, limit, after });
      return {
        policies: page.policies.map(toPolicyMessage),
        nextPageToken: page.next ? encodePageToken("escalation_policies", page.next, { search }) : "",
      };
    },

    async updateEscalationPolicy(req) {
      const input = req.policy;
      if (!input) throw new ValidationError("policy", "is required");
      const id = requireUuid(input.id, "policy.id");
      const mask = readUpdateMask(req.updateMask, updatable);
      const patch: Partial<PolicyInput> = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "policy.name", MAX_NAME_LENGTH, mask.required);
      if (mask.has("description")) {
        patch.description = optionalText(input.description, "policy.description", MAX_DESCRIPTION_LENGTH);
      }
      if (mask.has("repeat_count"))
        patch.repeatCount = checkRepeatCount(input.repeatCount, "policy.repeat_count");
      if (mask.has("steps")) patch.steps = steps(input.steps, "policy.");
      return { policy: toPolicyMessage(await useCases.updateEscalationPolicy(ctx, id, patch)) };
    },

    async deleteEscalationPolicy(req) {
      await useCases.deleteEscalationPolicy(ctx, requireUuid(req.id, "id"));
      return {};
    },
  };
}

/** Steps from a request; every failure names the field, e.g. `steps[1].targets[0].schedule_id`. */
function steps(input: readonly EscalationStep[], prefix: string): EscalationStepRecord[] {
  checkSteps(input, prefix);
  return input.map((step, i) => ({
    delaySeconds: step.delaySeconds,
    targets: step.targets.map((t, j) => target(t, `${prefix}steps[${i}].targets[${j}]`)),
  }));
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
      return { kind: "channel", id: requireUuid(t.kind.value, `${field}.channel_id`) };
    default:
      throw new ValidationError(field, "choose user_id, schedule_id, rotation_id or channel_id");
  }
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
