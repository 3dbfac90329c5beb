import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import { databaseLatency, versionInfo } from "../../app/system.ts";
import { CheckHealthResponseSchema, type SystemService } from "../../gen/oncall/v1/system_pb.ts";
import { principalKey } from "../auth.ts";

export function createSystemService(ctx: AppContext): ServiceImpl<typeof SystemService> {
  return {
    getVersion: () => versionInfo(ctx),
    async checkHealth() {
      const checkedAt = timestampFromDate(ctx.clock.now());
      const latency = await databaseLatency(ctx);
      return latency === undefined
        ? create(CheckHealthResponseSchema, { databaseOk: false, checkedAt })
        : create(CheckHealthResponseSchema, { databaseOk: true, checkedAt, databaseLatencyMs: latency });
    },
    whoAmI: (_req, context) => {
      const principal = context.values.get(principalKey);
      return { principal: principal?.id ?? "", scopes: [...(principal?.scopes ?? [])] };
    },
  };
}
