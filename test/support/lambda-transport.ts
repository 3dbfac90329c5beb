import type { Transport } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport as createConnectProtocolTransport } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcWebProtocolTransport } from "@connectrpc/connect/protocol-grpc-web";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { ApiHandler } from "../../functions/handlers/api.ts";
import { createLocalLambdaContext } from "../../local/lambda-http-bridge.ts";

export type LambdaProtocol = "connect-json" | "connect-binary" | "grpc-web";

/**
 * A real connect-es client transport whose "network" is a direct Lambda invocation: each request
 * becomes the API Gateway v2 event API Gateway would send, with the body base64-encoded for
 * binary content types as API Gateway does. No HTTP server involved.
 */
export function createLambdaTransport(handler: ApiHandler, protocol: LambdaProtocol): Transport {
  const httpClient: UniversalClientFn = async (request) => {
    const url = new URL(request.url);
    const chunks: Uint8Array[] = [];
    if (request.body) for await (const chunk of request.body) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = { host: url.host };
    request.header.forEach((value, key) => {
      headers[key] = value;
    });
    const isText = /^application\/json/.test(headers["content-type"] ?? "");
    const event: APIGatewayProxyEventV2 = {
      version: "2.0",
      routeKey: "$default",
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      requestContext: {
        accountId: "123456789012",
        apiId: "test",
        domainName: url.host,
        domainPrefix: "test",
        http: {
          method: request.method,
          path: url.pathname,
          protocol: "HTTP/1.1",
          sourceIp: "203.0.113.1",
          userAgent: "test",
        },
        requestId: "test-request",
        routeKey: "$default",
        stage: "$default",
        time: new Date().toUTCString(),
        timeEpoch: Date.now(),
      },
      ...(body.length ? { body: body.toString(isText ? "utf8" : "base64") } : {}),
      isBase64Encoded: body.length > 0 && !isText,
    };
    const result = await handler(event, createLocalLambdaContext("oncall-api-test"));
    const responseBody = result.body
      ? Buffer.from(result.body, result.isBase64Encoded ? "base64" : "utf8")
      : Buffer.alloc(0);
    const header = new Headers();
    for (const [key, value] of Object.entries(result.headers ?? {})) header.set(key, String(value));
    return {
      status: result.statusCode ?? 200,
      header,
      trailer: new Headers(),
      body: (async function* () {
        yield new Uint8Array(responseBody);
      })(),
    };
  };
  const common = {
    baseUrl: "https://api.example.test",
    httpClient,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: 4 * 1024 * 1024,
    writeMaxBytes: 4 * 1024 * 1024,
  };
  return protocol === "grpc-web"
    ? createGrpcWebProtocolTransport({ ...common, useBinaryFormat: true })
    : createConnectProtocolTransport({ ...common, useBinaryFormat: protocol === "connect-binary" });
}
