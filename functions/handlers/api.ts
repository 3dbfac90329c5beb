import { allServiceGroups } from "../api/routes.ts";
import type { AppContext } from "../app/context.ts";
import { type ApiHandler, createRpcApiHandler } from "./rpc-api.ts";

export type { ApiHandler } from "./rpc-api.ts";

/**
 * The whole HTTP API in one handler: every service group's Connect RPCs, `/healthz`, CORS. `npm start`
 * (local/dispatch.ts) and the tests serve it; on AWS each group has its own Lambda
 * (functions/handlers/api-core.ts, api-alerts.ts, api-contacts.ts, api-notifications.ts), built from
 * the same handler modules, behind one API Gateway that routes by service path.
 */
export function createApiHandler(ctx: AppContext): ApiHandler {
  return createRpcApiHandler(ctx, allServiceGroups);
}
