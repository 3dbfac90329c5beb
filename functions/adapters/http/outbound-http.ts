import http from "node:http";
import https from "node:https";
import type { OutboundGuard } from "./outbound-guard.ts";

/**
 * The one HTTP client of the providers (Slack, Teams, webhooks): a POST with a bounded time and a
 * bounded answer, through the outbound guard's lookup (SSRF), no redirects followed (a 3xx is an
 * answer like any other: a webhook that moved is the operator's to fix, and following it would
 * skip the address check).
 */

export interface HttpAnswer {
  readonly status: number;
  /** Lower-case names, as node:http gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** At most `maxResponseBytes` of the body, as UTF-8. */
  readonly body: string;
}

/** No answer: the time ran out, the caller aborted, or the connection failed. */
export class OutboundHttpError extends Error {
  override readonly name = "OutboundHttpError";
  readonly kind: "timeout" | "aborted" | "network";
  constructor(kind: OutboundHttpError["kind"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export interface OutboundHttpOptions {
  readonly guard: OutboundGuard;
  /** Whole request, connect to last byte. @default 10_000 */
  readonly timeoutMs?: number;
  /** Bytes of an answer kept (the rest is dropped). @default 65_536 */
  readonly maxResponseBytes?: number;
}

export interface OutboundHttp {
  readonly guard: OutboundGuard;
  /** POSTs `body` to `url`; throws OutboundUrlRefusedError (guard) or OutboundHttpError (no answer). */
  post(
    url: URL,
    body: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<HttpAnswer>;
}

export function createOutboundHttp(options: OutboundHttpOptions): OutboundHttp {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 65_536;
  return {
    guard: options.guard,
    post(url, body, headers, signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = AbortSignal.any([signal, timeout]);
      const client = url.protocol === "https:" ? https : http;
      return new Promise<HttpAnswer>((resolve, reject) => {
        const fail = (err: unknown) => {
          if (timeout.aborted) {
            reject(
              new OutboundHttpError("timeout", `no answer from ${url.host} within ${timeoutMs} ms`, {
                cause: err,
              }),
            );
          } else if (signal.aborted) {
            reject(new OutboundHttpError("aborted", `the send to ${url.host} was aborted`, { cause: err }));
          } else if ((err as Error).name === "OutboundUrlRefusedError") {
            reject(err);
          } else {
            const code = (err as { code?: string }).code;
            reject(
              new OutboundHttpError("network", `cannot reach ${url.host}${code ? ` (${code})` : ""}`, {
                cause: err,
              }),
            );
          }
        };
        if (combined.aborted) return fail(combined.reason);
        const request = client.request(
          url,
          {
            method: "POST",
            headers: {
              "content-type": "application/json; charset=utf-8",
              "content-length": String(Buffer.byteLength(body)),
              "user-agent": "oncall",
              ...headers,
            },
            signal: combined,
            ...(options.guard.socketLookup ? { lookup: options.guard.socketLookup as never } : {}),
          },
          (response) => {
            const chunks: Buffer[] = [];
            let kept = 0;
            response.on("data", (chunk: Buffer) => {
              if (kept >= maxBytes) return;
              const part = chunk.subarray(0, maxBytes - kept);
              chunks.push(part);
              kept += part.length;
            });
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(chunks).toString("utf8"),
              }),
            );
            response.on("error", fail);
          },
        );
        request.on("error", fail);
        request.end(body);
      });
    },
  };
}
