import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { maxRequestBytes } from "../functions/adapters/http/body-limit.ts";
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

/** HOST cannot be listened on (not an address of this machine, or a name that does not resolve). */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/**
 * After a 413, what the client still sends is read and thrown away up to this much, so that the
 * socket is not closed under a client that is still writing (the kernel would answer its bytes with
 * a reset, and the client would see "connection reset" instead of the 413). Beyond it: closed.
 */
const maxDrainBytes = 64 * 1024 * 1024;

function tooLargeBody(limit: number): string {
  return JSON.stringify({ code: "payload_too_large", message: `request body exceeds ${limit} bytes` });
}

/**
 * A 413 that the client can read while it is still sending. The answer goes out at once, but the
 * response is only ended once the rest of the body has been read and discarded (bounded): Node
 * closes a `Connection: close` socket when the response ends, and closing it under a client that
 * is still writing resets the connection before the client has read the 413.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = tooLargeBody(limit);
  res.writeHead(413, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.write(body);
  if (req.complete) {
    res.end();
    return;
  }
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxDrainBytes) req.socket.destroy();
  });
  req.once("end", () => res.end());
  req.once("close", () => res.end());
  req.on("error", () => {});
  req.resume();
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
      if (err instanceof BodyTooLargeError) {
        refuseTooLarge(req, res, err.limit);
        return;
      }
      logger.error("local server: unhandled error", { error: err as Error });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "internal", message: "internal error" }));
    }
  });
  // `Expect: 100-continue`: a body that will be refused is refused before the client sends it.
  // (Without this listener Node answers 100 at once, the client starts sending 12 MiB, and the 413
  // races the upload.) The client has sent nothing: closing the connection afterwards is safe.
  server.on("checkContinue", (req, res) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxRequestBytes) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" });
      res.end(tooLargeBody(maxRequestBytes));
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.headersTimeout = keepAliveTimeout + 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const host = options.host ?? "127.0.0.1";
      if (err.code === "EADDRINUSE") {
        reject(
          new PortInUseError(`port ${options.port} is already in use: stop the other process or set PORT`),
        );
      } else if (err.code === "EACCES") {
        reject(
          new ListenError(
            `PORT: not allowed to listen on port ${options.port} (EACCES): choose a port above 1023`,
          ),
        );
      } else {
        reject(
          new ListenError(
            `HOST: cannot listen on ${host} (${err.code ?? err.message}): set HOST to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`,
            { cause: err },
          ),
        );
      }
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
