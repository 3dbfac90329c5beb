import { ConnectError, createRouterTransport, type Transport } from "@connectrpc/connect";
import { expect } from "vitest";
import { createRpcInterceptors, registerServices } from "../../functions/api/routes.ts";
import type { AppContext } from "../../functions/app/context.ts";
import { testAdminToken } from "./app-context.ts";

/** Every oncall.v1 service in memory, behind the same interceptors (auth, error mapping) as the Lambda. */
export function createInMemoryTransport(ctx: AppContext): Transport {
  return createRouterTransport(registerServices(ctx), {
    router: { interceptors: createRpcInterceptors(ctx) },
  });
}

/** Call options with the admin token, or with any bearer token. */
export const admin = { headers: { authorization: `Bearer ${testAdminToken}` } };
export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** The ConnectError a call fails with; the test fails if the call succeeds or throws anything else. */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(ConnectError);
  return outcome as ConnectError;
}
