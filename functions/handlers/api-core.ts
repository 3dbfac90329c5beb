import { coreGroup } from "../api/groups/core.ts";
import { createAwsContext } from "../app/aws-context.ts";
import { lazyAwsHandler } from "./middleware/observability.ts";
import { type ApiHandler, createRpcApiHandler } from "./rpc-api.ts";

/**
 * The API Lambda of the core services (functions/api/service-groups.ts) and of everything API Gateway
 * sends to `$default`: `/healthz`, CORS preflights, unknown paths (404). None of them reads the user
 * directory or routes alerts.
 * The AWS context (Data API client, secrets) is built on first use.
 */
export const handler: ApiHandler = lazyAwsHandler(async () =>
  createRpcApiHandler(await createAwsContext({ adminToken: true }), [coreGroup]),
);
