import type { ConnectRouter } from "@connectrpc/connect";
import type { AppContext } from "../../app/context.ts";
import type { ServiceGroupName } from "../service-groups.ts";

/** The Connect services of one group (functions/api/service-groups.ts), registered on a router. */
export interface ServiceGroup {
  readonly name: ServiceGroupName;
  register(router: ConnectRouter, ctx: AppContext): void;
}
