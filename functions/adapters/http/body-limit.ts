import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { PayloadTooLargeError } from "../../domain/errors.ts";

/** Largest request body any route reads (the contract's 1 MiB); larger ones get 413 before parsing. */
export const maxRequestBytes = 1024 * 1024;

export function assertBodyWithinLimit(event: APIGatewayProxyEventV2): void {
  if (!event.body) return;
  const size = event.isBase64Encoded
    ? Buffer.byteLength(event.body, "base64")
    : Buffer.byteLength(event.body, "utf8");
  if (size > maxRequestBytes) throw new PayloadTooLargeError(`request body exceeds ${maxRequestBytes} bytes`);
}
