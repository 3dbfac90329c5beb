import { type ConnectRouterOptions, createConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { authenticateApiKey } from "../app/api-keys.ts";
import type { AppContext } from "../app/context.ts";
import { createAuthInterceptor, tokenAuthenticator } from "./auth.ts";
import { errorInterceptor } from "./error-interceptor.ts";
import type { ServiceGroup } from "./groups/group.ts";
import { withJsonFieldErrors } from "./json-requests.ts";

// The RPC plumbing every service group shares, without importing any service: a group's Lambda
// imports this and its own group (functions/api/groups/), nothing of the others. Service names are
// written out so that no generated file is pulled in for them; routes.test.ts checks them.

/** Procedures callable without a token. */
export const publicProcedures: ReadonlySet<string> = new Set(["/oncall.v1.SystemService/GetVersion"]);

/** Services only the admin token may call (API keys cannot mint API keys). */
export const adminOnlyServices: ReadonlySet<string> = new Set(["oncall.v1.ApiKeyService"]);

/** Services that API keys may read but only the admin token may change (people and their phones). */
export const adminWriteServices: ReadonlySet<string> = new Set([
  "kneutral.directory.v1.UserDirectoryService",
]);

/**
 * The interceptors of every RPC, outermost first: errors become Connect codes, then the bearer
 * token is authenticated (admin token or API key) and authorized. The API Lambdas and the in-memory
 * tests use this same list.
 */
export function createRpcInterceptors(ctx: AppContext): Interceptor[] {
  const authenticate = tokenAuthenticator({
    adminToken: ctx.adminToken,
    findApiKey: (secret) => authenticateApiKey(ctx, secret),
  });
  return [
    errorInterceptor,
    createAuthInterceptor({ authenticate, publicProcedures, adminOnlyServices, adminWriteServices }),
  ];
}

/**
 * Router options both runtimes and the in-memory tests share. JSON requests with an unknown field or
 * enum name are refused (`invalid_argument`) instead of being read as if the field were absent: a
 * misspelt filter would otherwise match everything. Clients that need forward compatibility with
 * newer servers use the binary format, where unknown fields are kept.
 */
export function createRouterOptions(ctx: AppContext): ConnectRouterOptions {
  return {
    interceptors: createRpcInterceptors(ctx),
    jsonOptions: { ignoreUnknownFields: false },
  };
}

/**
 * The handlers of the given groups' RPCs, built once: the router with `createRouterOptions`, each
 * handler wrapped so that an unknown JSON field or enum value is answered with its path
 * (`statuses[0]`).
 */
export function createGroupRpcHandlers(
  ctx: AppContext,
  groups: readonly ServiceGroup[],
  options: Partial<ConnectRouterOptions> = {},
): UniversalHandler[] {
  const router = createConnectRouter({ ...createRouterOptions(ctx), ...options });
  for (const group of groups) group.register(router, ctx);
  return router.handlers.map(withJsonFieldErrors);
}
