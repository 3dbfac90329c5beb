import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { latestMigration as latestSchemaVersion } from "../../adapters/db/migrations/latest.ts";
import type { AppContext } from "../../app/context.ts";
import { CheckHealthResponseSchema, type SystemService } from "../../gen/oncall/v1/system_pb.ts";
import { principalKey } from "../auth.ts";

export function createSystemService(ctx: AppContext): ServiceImpl<typeof SystemService> {
  return {
    getVersion: () => ({ version: ctx.version, runtime: ctx.runtime, schemaVersion: latestSchemaVersion }),
    async checkHealth() {
      const checkedAt = timestampFromDate(ctx.clock.now());
      try {
        const latency = await ctx.database.ping();
        return create(CheckHealthResponseSchema, { databaseOk: true, checkedAt, databaseLatencyMs: latency });
      } catch {
        return create(CheckHealthResponseSchema, { databaseOk: false, checkedAt });
      }
    },
    whoAmI: (_req, context) => {
      const principal = context.values.get(principalKey);
      return { principal: principal?.id ?? "", scopes: [...(principal?.scopes ?? [])] };
    },
  };
}
