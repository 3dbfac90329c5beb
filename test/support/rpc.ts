import { ConnectError, type Transport } from "@connectrpc/connect";
import { createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { expect } from "vitest";
import { createRpcHandlers } from "../../functions/api/routes.ts";
import type { AppContext } from "../../functions/app/context.ts";
import { testAdminToken } from "./app-context.ts";

/** Every oncall.v1 service in memory, behind the same interceptors (auth, error mapping) as the Lambda. */
export function createInMemoryTransport(
  ctx: AppContext,
  options: { useBinaryFormat?: boolean } = {},
): Transport {
  // What createRouterTransport does, over the same handlers the API Lambda serves.
  return createTransport({
    httpClient: createUniversalHandlerClient(createRpcHandlers(ctx)),
    baseUrl: "https://in-memory",
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: Number.MAX_SAFE_INTEGER,
    writeMaxBytes: Number.MAX_SAFE_INTEGER,
    ...options,
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
