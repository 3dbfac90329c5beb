import type { ConnectRouterOptions } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { AppContext } from "../app/context.ts";
import { alertsGroup } from "./groups/alerts.ts";
import { contactsGroup } from "./groups/contacts.ts";
import { coreGroup } from "./groups/core.ts";
import type { ServiceGroup } from "./groups/group.ts";
import { notificationsGroup } from "./groups/notifications.ts";
import { createGroupRpcHandlers } from "./rpc.ts";

export {
  adminOnlyServices,
  adminWriteServices,
  createRouterOptions,
  createRpcInterceptors,
  publicProcedures,
} from "./rpc.ts";

/**
 * Every service group, in the order of functions/api/service-groups.ts. The embedded runtime and the
 * tests serve them all in one process; on AWS each group has its own Lambda (functions/handlers/api-*.ts).
 */
export const allServiceGroups: readonly ServiceGroup[] = [
  coreGroup,
  alertsGroup,
  contactsGroup,
  notificationsGroup,
];

/**
 * Every RPC's handler, built once (functions/api/rpc.ts `createGroupRpcHandlers` over every group).
 * The embedded runtime and the in-memory test transport serve exactly these.
 */
export function createRpcHandlers(
  ctx: AppContext,
  options: Partial<ConnectRouterOptions> = {},
): UniversalHandler[] {
  return createGroupRpcHandlers(ctx, allServiceGroups, options);
}
