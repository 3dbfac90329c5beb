import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../../app/context.ts";
import type { ScheduleInput } from "../../../app/schedules.ts";
import * as useCases from "../../../app/schedules.ts";
import { ValidationError } from "../../../domain/errors.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../../domain/services/limits.ts";
import type { ScheduleService } from "../../../gen/oncall/v1/schedules_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isNameCursor,
  optionalText,
  pageSize,
  requireText,
  requireUuid,
} from "../../request-validation.ts";
import { readUpdateMask } from "../../update-mask.ts";
import { checkSchedule, scheduleInput, scheduleRules, toScheduleMessage } from "./mapping.ts";

type ScheduleRpcs = Pick<
  ServiceImpl<typeof ScheduleService>,
  "createSchedule" | "getSchedule" | "listSchedules" | "updateSchedule" | "deleteSchedule"
>;

const updatable = ["name", "description", "time_zone", "rules"] as const;

/** ScheduleService's schedule RPCs: a zone and rules naming users or rotations. */
export function createScheduleRpcs(ctx: AppContext): ScheduleRpcs {
  return {
    async createSchedule(req) {
      return { schedule: toScheduleMessage(await useCases.createSchedule(ctx, scheduleInput(req, ""))) };
    },

    async getSchedule(req) {
      return { schedule: toScheduleMessage(await useCases.getSchedule(ctx, requireUuid(req.id, "id"))) };
    },

    async listSchedules(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "schedules", { search }, isNameCursor);
      const page = await useCases.listSchedules(ctx, { search, limit, after });
      return {
        schedules: page.schedules.map(toScheduleMessage),
        nextPageToken: page.next ? encodePageToken("schedules", page.next, { search }) : "",
      };
    },

    async updateSchedule(req) {
      const input = req.schedule;
      if (!input) throw new ValidationError("schedule", "is required");
      const id = requireUuid(input.id, "schedule.id");
      const mask = readUpdateMask(req.updateMask, updatable);
      const patch: Partial<ScheduleInput> = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "schedule.name", MAX_NAME_LENGTH, mask.required);
      if (mask.has("description")) {
        patch.description = optionalText(input.description, "schedule.description", MAX_DESCRIPTION_LENGTH);
      }
      if (mask.has("rules")) patch.rules = scheduleRules(input.rules, "schedule.");
      if (mask.has("time_zone")) patch.timeZone = input.timeZone;
      if (patch.timeZone !== undefined || patch.rules !== undefined) {
        // The zone alone is checked with no rules: the stored rules were valid in any zone.
        checkSchedule({ timeZone: patch.timeZone ?? "UTC", rules: patch.rules ?? [] }, "schedule.");
      }
      return { schedule: toScheduleMessage(await useCases.updateSchedule(ctx, id, patch)) };
    },

    async deleteSchedule(req) {
      await useCases.deleteSchedule(ctx, requireUuid(req.id, "id"));
      return {};
    },
  };
}
