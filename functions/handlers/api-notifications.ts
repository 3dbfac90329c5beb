import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { notificationsGroup } from "../api/groups/notifications.ts";
import { createAwsContext } from "../app/aws-context.ts";
import { lazyAwsHandler } from "./middleware/observability.ts";
import { type ApiHandler, createRpcApiHandler } from "./rpc-api.ts";

/**
 * The API Lambda of notifications, their deliveries and the message templates
 * (functions/api/service-groups.ts).
 * The AWS context (Data API client, secrets) is built on first use.
 */
export const handler: ApiHandler = lazyAwsHandler(async () =>
  createRpcApiHandler(await createAwsContext({ adminToken: true, connectRemoteDirectory }), [
    notificationsGroup,
  ]),
);
