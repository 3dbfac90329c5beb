import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { logger } from "../adapters/observability.ts";
import { describeError, toConnectError } from "./errors.ts";

/** Turns whatever an RPC implementation throws into a Connect error; logs the unexpected ones. */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    const report = describeError(err);
    if (report.unexpected)
      logger.error("rpc failed", {
        procedure: `/${req.service.typeName}/${req.method.name}`,
        error: err as Error,
      });
    throw toConnectError(err);
  }
};
