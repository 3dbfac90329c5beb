import type { ConnectRouter } from "@connectrpc/connect";
import { SystemService } from "../../gen/oncall/v1/system_pb.ts";
import type { AppContext } from "../app-context.ts";
import { createSystemService } from "./services/system-service.ts";

/** Procedures callable without a token. */
export const publicProcedures: ReadonlySet<string> = new Set([`/${SystemService.typeName}/GetVersion`]);

/** Registers every Connect service; the one list both runtimes and the in-memory tests use. */
export function registerServices(ctx: AppContext) {
  return (router: ConnectRouter) => {
    router.service(SystemService, createSystemService(ctx));
  };
}
