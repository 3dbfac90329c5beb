import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { UnsupportedMediaTypeError, ValidationError } from "../../domain/errors.ts";

export interface DecodedBody {
  /** Parsed JSON, form fields (URLSearchParams), or undefined for an empty body. */
  body: unknown;
  query: URLSearchParams;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Turns a webhook request body into a value for the parsers: strict UTF-8, JSON (or form fields
 * where `allowForm`), with 400/415 answers that say what is wrong. A form-typed body that is
 * really JSON (`curl -d '{...}'` sends it as a form) is read as JSON.
 */
export function decodeWebhookBody(
  event: APIGatewayProxyEventV2,
  options: { allowForm: boolean },
): DecodedBody {
  const query = new URLSearchParams(event.rawQueryString ?? "");
  if (!event.body) return { body: undefined, query };
  // A text body arrives already decoded; only base64 bytes still need a strict UTF-8 check.
  let text = event.body;
  if (event.isBase64Encoded) {
    try {
      text = strictUtf8.decode(Buffer.from(event.body, "base64"));
    } catch {
      throw new ValidationError("body", "is not valid UTF-8");
    }
  }
  const mediaType = (event.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const looksLikeJson = /^\s*[[{]/.test(text);

  if (mediaType === "application/x-www-form-urlencoded" && options.allowForm && !looksLikeJson) {
    return { body: new URLSearchParams(text), query };
  }
  const jsonType =
    mediaType === "" || mediaType === "application/json" || /^application\/[\w.+-]*\+json$/.test(mediaType);
  if (!jsonType && !(mediaType === "application/x-www-form-urlencoded" && looksLikeJson)) {
    throw new UnsupportedMediaTypeError(
      `content-type ${mediaType} is not accepted: send application/json${options.allowForm ? " or application/x-www-form-urlencoded" : ""}`,
    );
  }
  try {
    return { body: JSON.parse(text), query };
  } catch (err) {
    throw new ValidationError("body", `is not valid JSON (${(err as Error).message})`);
  }
}
