import { connectRemoteDirectory } from "../adapters/directory/remote-directory.ts";
import { contactsGroup } from "../api/groups/contacts.ts";
import { createAwsContext } from "../app/aws-context.ts";
import { lazyAwsHandler } from "./middleware/observability.ts";
import { type ApiHandler, createRpcApiHandler } from "./rpc-api.ts";

/**
 * The API Lambda of the user directory and the channels (functions/api/service-groups.ts): people,
 * contact methods, verification codes and test messages, sent through the providers.
 * The AWS context (Data API client, secrets) is built on first use.
 */
export const handler: ApiHandler = lazyAwsHandler(async () =>
  createRpcApiHandler(await createAwsContext({ adminToken: true, connectRemoteDirectory }), [contactsGroup]),
);
