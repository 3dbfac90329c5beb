import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import type { ScheduleService } from "../../gen/oncall/v1/schedules_pb.ts";
import { createOnCallRpcs } from "./schedules/on-call.ts";
import { createOverrideRpcs } from "./schedules/overrides.ts";
import { createRotationRpcs } from "./schedules/rotations.ts";
import { createScheduleRpcs } from "./schedules/schedules.ts";

/**
 * oncall.v1.ScheduleService: rotations, schedules, overrides, and who is on call, one file per part
 * (schedules/); each RPC maps the request in (schedules/mapping.ts), calls one use case
 * (app/schedules.ts, app/on-call.ts) and maps the answer out.
 */
export function createScheduleService(ctx: AppContext): ServiceImpl<typeof ScheduleService> {
  return {
    ...createRotationRpcs(ctx),
    ...createScheduleRpcs(ctx),
    ...createOverrideRpcs(ctx),
    ...createOnCallRpcs(ctx),
  };
}
