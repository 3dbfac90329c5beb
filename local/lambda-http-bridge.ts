import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";

export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway's own payload limit; the handler applies the contract's smaller one. */
export const apiGatewayMaxBodyBytes = 10 * 1024 * 1024;

/** Content types API Gateway passes as text; everything else arrives base64-encoded. */
const textualContentType = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
  readonly limit: number;
  constructor(limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Turns a Node HTTP request into the API Gateway HTTP API (payload v2) event that the Lambda
 * receives, so `npm start` runs byte-for-byte the same handler.
 */
export async function toApiGatewayEvent(
  req: IncomingMessage,
  sourceIp: string,
): Promise<APIGatewayProxyEventV2> {
  const body = await readBody(req, apiGatewayMaxBodyBytes);
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (key === "cookie") cookies.push(...String(value).split(/;\s*/));
    else headers[key] = Array.isArray(value) ? value.join(",") : value;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    queryStringParameters[key] =
      key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
  }
  // Bytes that are not valid UTF-8 travel base64-encoded, so the handler can refuse them precisely.
  const isText = textualContentType.test(headers["content-type"] ?? "") && isUtf8(body);
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(cookies.length ? { cookies } : {}),
    ...(url.search ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: (headers.host ?? "localhost").split(".")[0] ?? "localhost",
      http: {
        method: req.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: body.toString(isText ? "utf8" : "base64") } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/** Writes a Lambda proxy result to the Node response, as API Gateway does. */
export function writeApiGatewayResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(result.headers ?? {})) headers[key] = String(value);
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  const body = result.body ? Buffer.from(result.body, result.isBase64Encoded ? "base64" : "utf8") : undefined;
  if (body) headers["content-length"] = String(body.length);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}

/** A Lambda context for local invocations (Powertools reads the function name and request id). */
export function createLocalLambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Reads the body up to `limit`. Over it, rejects but leaves the request open (not destroyed, as
 * breaking out of `for await` would do): the server answers 413 and drains the rest.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.off("end", onEnd);
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}
