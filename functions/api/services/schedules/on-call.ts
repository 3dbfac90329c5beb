import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../../app/context.ts";
import * as onCall from "../../../app/on-call.ts";
import type { ScheduleService } from "../../../gen/oncall/v1/schedules_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalDate,
  requireUserId,
  requireUuid,
} from "../../request-validation.ts";
import { isTimeCursor, pageStart, queryRange, shiftPageSize, toSourceMessage } from "./mapping.ts";

type OnCallRpcs = Pick<ServiceImpl<typeof ScheduleService>, "getOnCall" | "listShifts" | "listUserShifts">;

/**
 * ScheduleService's on-call RPCs: who is on call at an instant, and shifts over a range in pages of
 * bounded work (app/on-call.ts).
 */
export function createOnCallRpcs(ctx: AppContext): OnCallRpcs {
  return {
    async getOnCall(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const at = optionalDate(req.at, "at") ?? ctx.clock.now();
      const { users, context } = await onCall.getOnCall(ctx, scheduleId, at);
      return {
        at: timestampFromDate(at),
        users: users.map((u) => ({
          userId: u.userId,
          sources: u.sources.map((s) => toSourceMessage(s, context)),
        })),
      };
    },

    async listShifts(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const [start, end] = queryRange(req.startTime, req.endTime, undefined);
      const pageSize = shiftPageSize(req.pageSize);
      const filters = { scheduleId, start: start.getTime(), end: end.getTime() };
      const after = decodePageToken(req.pageToken, "shifts", filters, isTimeCursor);
      const from = pageStart(after, start, end);
      const page = await onCall.listShiftsPage(ctx, { scheduleId, from, to: end, pageSize });
      return {
        shifts: page.shifts.map((s) => ({
          userId: s.userId,
          startTime: timestampFromDate(s.start),
          endTime: timestampFromDate(s.end),
          source: toSourceMessage(s.source, page.context),
        })),
        nextPageToken: page.next ? encodePageToken("shifts", { t: page.next.getTime() }, filters) : "",
      };
    },

    async listUserShifts(req) {
      const userId = requireUserId(req.userId, "user_id");
      const [start, end] = queryRange(req.startTime, req.endTime, ctx.clock.now());
      const pageSize = shiftPageSize(req.pageSize);
      // The default start (now) moves between pages: the token binds the explicit filters only.
      const filters = { userId, start: req.startTime ? start.getTime() : null, end: end.getTime() };
      const after = decodePageToken(req.pageToken, "user_shifts", filters, isTimeCursor);
      const from = pageStart(after, start, end);
      const page = await onCall.listUserShiftsPage(ctx, { userId, from, to: end, pageSize });
      return {
        shifts: page.shifts.map((s) => ({
          scheduleId: s.context.schedule.id,
          scheduleName: s.context.schedule.name,
          userId,
          startTime: timestampFromDate(s.start),
          endTime: timestampFromDate(s.end),
          sources: s.sources.map((source) => toSourceMessage(source, s.context)),
        })),
        nextPageToken: page.next ? encodePageToken("user_shifts", { t: page.next.getTime() }, filters) : "",
      };
    },
  };
}
