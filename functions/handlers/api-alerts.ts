import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { alertsGroup } from "../api/groups/alerts.ts";
import { createAwsContext } from "../app/aws-context.ts";
import { createMaintenanceCheck } from "../app/maintenance.ts";
import { lazyAwsHandler } from "./middleware/observability.ts";
import { type ApiHandler, createRpcApiHandler } from "./rpc-api.ts";

/**
 * The API Lambda of alerts, routing rules and maintenance windows (functions/api/service-groups.ts).
 * It routes alerts (escalate, simulate, windows that end), hence the maintenance check.
 * The AWS context (Data API client, secrets) is built on first use.
 */
export const handler: ApiHandler = lazyAwsHandler(async () =>
  createRpcApiHandler(
    await createAwsContext({
      adminToken: true,
      connectRemoteDirectory,
      maintenanceCheck: createMaintenanceCheck,
    }),
    [alertsGroup],
  ),
);
