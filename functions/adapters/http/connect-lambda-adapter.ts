import type { ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export interface ConnectLambdaAdapterOptions {
  /** The router's handlers (`createConnectRouter(options)` then `router.handlers`), built once. */
  handlers: readonly UniversalHandler[];
  /** Per-request values for the service implementations (principal, request id...). */
  contextValues?(event: APIGatewayProxyEventV2): ContextValues;
}

export interface ConnectLambdaAdapter {
  /** Whether a request path belongs to a registered RPC. */
  handles(path: string): boolean;
  /** Serves one API Gateway HTTP API (payload v2) event; 404 when no RPC has that path. */
  handle(event: APIGatewayProxyEventV2, signal?: AbortSignal): Promise<APIGatewayProxyStructuredResultV2>;
}

/**
 * Serves Connect (JSON and binary) and gRPC-web from API Gateway HTTP API events.
 * The router is built once by the caller; each event is converted to a universal request, handed
 * to the handler indexed by its path, and the universal response is converted back. Build the
 * router with `grpc: false`: plain gRPC needs HTTP/2 trailers, which API Gateway does not pass
 * through.
 *
 * @example
 * const router = createConnectRouter({ grpc: false });
 * router.service(SystemService, impl);
 * const rpc = createConnectLambdaAdapter({ handlers: router.handlers });
 * export const handler = (event) => rpc.handle(event);
 */
export function createConnectLambdaAdapter(options: ConnectLambdaAdapterOptions): ConnectLambdaAdapter {
  const byPath = new Map<string, UniversalHandler>(options.handlers.map((h) => [h.requestPath, h]));

  return {
    handles: (path) => byPath.has(path),
    async handle(event, signal) {
      const handler = byPath.get(event.rawPath);
      if (!handler) return { statusCode: 404, headers: { "content-type": "text/plain" }, body: "not found" };
      const response = await handler(
        toUniversalRequest(event, signal ?? new AbortController().signal, options),
      );
      const body = response.body ? await collect(response.body) : new Uint8Array(0);
      const headers: Record<string, string> = {};
      response.header?.forEach((value, key) => {
        headers[key] = value;
      });
      const text = isTextual(headers["content-type"]);
      return {
        statusCode: response.status,
        headers,
        body: text ? Buffer.from(body).toString("utf8") : Buffer.from(body).toString("base64"),
        isBase64Encoded: !text,
      };
    },
  };
}

function toUniversalRequest(
  event: APIGatewayProxyEventV2,
  signal: AbortSignal,
  options: ConnectLambdaAdapterOptions,
): UniversalServerRequest {
  const header = new Headers();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) header.set(key, value);
  }
  const bytes = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8")
    : new Uint8Array(0);
  const host = header.get("host") ?? event.requestContext.domainName ?? "localhost";
  const query = event.rawQueryString ? `?${event.rawQueryString}` : "";
  return {
    httpVersion: event.requestContext.http.protocol?.replace(/^HTTP\//, "") ?? "1.1",
    url: `https://${host}${event.rawPath}${query}`,
    method: event.requestContext.http.method,
    header,
    body: (async function* () {
      yield new Uint8Array(bytes);
    })(),
    signal,
    ...(options.contextValues ? { contextValues: options.contextValues(event) } : {}),
  };
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

/** JSON answers travel as text; protobuf and gRPC-web frames as base64. */
function isTextual(contentType: string | undefined): boolean {
  return contentType !== undefined && /^(application\/json|text\/)/.test(contentType);
}
