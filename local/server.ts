import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { logger } from "../functions/adapters/observability.ts";
import {
  BodyTooLargeError,
  createLocalLambdaContext,
  type LambdaHttpHandler,
  toApiGatewayEvent,
  writeApiGatewayResult,
} from "./lambda-http-bridge.ts";
import type { StaticFiles } from "./static-files.ts";

export interface LocalServerOptions {
  port: number;
  host?: string;
  /** Must outlast senders' idle connection reuse (Alertmanager, Go's http.Client: up to 90 s idle). */
  keepAliveTimeoutMs?: number;
  /** The web console (console/dist/), served beside the API on the same origin. */
  staticFiles?: StaticFiles;
}

export interface LocalServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
}

/** The embedded runtime's HTTP entry: each request becomes an API Gateway v2 event for `handler`. */
export async function startLocalServer(
  handler: LambdaHttpHandler,
  options: LocalServerOptions,
): Promise<LocalServer> {
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  const server = createServer(async (req, res) => {
    if (options.staticFiles?.handle(req, res)) return;
    try {
      const event = await toApiGatewayEvent(req, req.socket.remoteAddress ?? "127.0.0.1");
      const result = await handler(event, createLocalLambdaContext("oncall-api"));
      writeApiGatewayResult(res, result);
    } catch (err) {
      const tooLarge = err instanceof BodyTooLargeError;
      if (!tooLarge) logger.error("local server: unhandled error", { error: err as Error });
      const status = tooLarge ? 413 : 500;
      const body = JSON.stringify({
        code: tooLarge ? "payload_too_large" : "internal",
        message: tooLarge ? err.message : "internal error",
      });
      if (!res.headersSent) {
        // A body we refused to read must not be parsed as the next request on this connection.
        res.writeHead(status, {
          "content-type": "application/json",
          connection: tooLarge ? "close" : "keep-alive",
        });
      }
      res.end(body);
    }
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.headersTimeout = keepAliveTimeout + 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new PortInUseError(`port ${options.port} is already in use: stop the other process or set PORT`)
          : err,
      );
    });
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
