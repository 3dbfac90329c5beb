import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../../app/context.ts";
import * as useCases from "../../../app/schedules.ts";
import { ValidationError } from "../../../domain/errors.ts";
import type { ScheduleService } from "../../../gen/oncall/v1/schedules_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalDate,
  pageSize,
  requireUuid,
} from "../../request-validation.ts";
import { isOverrideCursor, overrideOf, toOverrideMessage } from "./mapping.ts";

type OverrideRpcs = Pick<
  ServiceImpl<typeof ScheduleService>,
  "createOverride" | "listOverrides" | "deleteOverride"
>;

/** ScheduleService's override RPCs: someone added, removed or replaced over a time range. */
export function createOverrideRpcs(ctx: AppContext): OverrideRpcs {
  return {
    async createOverride(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      return { override: toOverrideMessage(await useCases.createOverride(ctx, scheduleId, overrideOf(req))) };
    },

    async listOverrides(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const from = optionalDate(req.startTime, "start_time") ?? ctx.clock.now();
      const to = optionalDate(req.endTime, "end_time");
      if (to && to <= from) throw new ValidationError("end_time", "must be after start_time");
      const limit = pageSize(req.pageSize);
      // The default start (now) moves between pages: the token binds the explicit filters only.
      const filters = {
        scheduleId,
        start: req.startTime ? from.getTime() : null,
        end: to?.getTime() ?? null,
      };
      const after = decodePageToken(req.pageToken, "overrides", filters, isOverrideCursor);
      const page = await useCases.listOverrides(ctx, { scheduleId, from, to, limit, after });
      return {
        overrides: page.overrides.map(toOverrideMessage),
        nextPageToken: page.next ? encodePageToken("overrides", page.next, filters) : "",
      };
    },

    async deleteOverride(req) {
      await useCases.deleteOverride(ctx, requireUuid(req.id, "id"));
      return {};
    },
  };
}
