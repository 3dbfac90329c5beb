import { servedByIngest } from "../functions/adapters/http/ingest-routes.ts";
import type { AppContext } from "../functions/app/context.ts";
import { createApiHandler } from "../functions/handlers/api.ts";
import { createIngestHandler } from "../functions/handlers/ingest.ts";
import type { LambdaHttpHandler } from "./lambda-http-bridge.ts";

/**
 * What API Gateway's routes do in AWS: webhook paths to the ingest Lambda, everything else to
 * the API Lambda. Both are the very handlers the Lambdas export.
 */
export function createLocalDispatch(ctx: AppContext): LambdaHttpHandler {
  const api = createApiHandler(ctx);
  const ingest = createIngestHandler(ctx);
  return (event, context) => (servedByIngest(event.rawPath) ? ingest : api)(event, context);
}
