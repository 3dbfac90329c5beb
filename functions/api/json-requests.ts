import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";

/**
 * A Connect JSON request that names an unknown field or enum value. The router refuses such a
 * request too (`jsonOptions.ignoreUnknownFields: false`), but protobuf-es names only the enum type
 * of a bad enum value, not the field: this finds the path first (`statuses[0]`), in snake_case
 * as every other validation error.
 */
export function findUnknownJson(schema: DescMessage, json: unknown, prefix = ""): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) return `${prefix}${key}: unknown field`;
    const problem = checkField(field, value, `${prefix}${field.name}`);
    if (problem) return problem;
  }
  return undefined;
}

function checkField(field: DescField, value: unknown, path: string): string | undefined {
  if (value === null) return undefined;
  switch (field.fieldKind) {
    case "enum":
      return checkEnum(field.enum, value, path);
    case "message":
      return checkMessage(field.message, value, path);
    case "list":
      if (!Array.isArray(value)) return undefined;
      for (const [i, item] of value.entries()) {
        const problem =
          field.listKind === "enum"
            ? checkEnum(field.enum, item, `${path}[${i}]`)
            : field.listKind === "message"
              ? checkMessage(field.message, item, `${path}[${i}]`)
              : undefined;
        if (problem) return problem;
      }
      return undefined;
    case "map":
      if (typeof value !== "object" || Array.isArray(value)) return undefined;
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const problem =
          field.mapKind === "enum"
            ? checkEnum(field.enum, item, `${path}[${JSON.stringify(key)}]`)
            : field.mapKind === "message"
              ? checkMessage(field.message, item, `${path}[${JSON.stringify(key)}]`)
              : undefined;
        if (problem) return problem;
      }
      return undefined;
    default:
      return undefined;
  }
}

function checkEnum(desc: DescEnum, value: unknown, path: string): string | undefined {
  if (typeof value !== "string" || desc.values.some((v) => v.name === value)) return undefined;
  const names = desc.values.filter((v) => v.number !== 0).map((v) => v.name);
  return `${path}: unknown value ${JSON.stringify(value.slice(0, 64))}; expected one of ${names.join(", ")}`;
}

/** Well-known types have their own JSON forms (timestamps as strings, masks as "a,b"): not walked. */
function checkMessage(desc: DescMessage, value: unknown, path: string): string | undefined {
  if (desc.typeName.startsWith("google.protobuf.")) return undefined;
  return findUnknownJson(desc, value, `${path}.`);
}

/**
 * Wraps a router's handler so that a Connect unary JSON request naming an unknown field or enum
 * value is answered `invalid_argument` with the field's path before the service sees it. Other
 * requests (binary, gRPC-web, compressed) pass through unchanged; the router still refuses
 * their unknown JSON, without the path.
 */
export function withJsonFieldErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (request: UniversalServerRequest) => {
    const contentType = request.header.get("content-type") ?? "";
    if (
      request.method !== "POST" ||
      !/^application\/json\b/.test(contentType) ||
      request.header.has("content-encoding") ||
      !request.body ||
      !(Symbol.asyncIterator in Object(request.body))
    ) {
      return handler(request);
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of request.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    let problem: string | undefined;
    try {
      problem = findUnknownJson(handler.method.input, JSON.parse(bytes.toString("utf8")));
    } catch {
      problem = undefined; // not JSON: the router answers that in its own words
    }
    if (problem) {
      const error = new ConnectError(problem, Code.InvalidArgument);
      return {
        status: codeToHttpStatus(error.code),
        header: new Headers({ "content-type": "application/json" }),
        body: (async function* () {
          yield errorToJsonBytes(error, {});
        })(),
      };
    }
    return handler({
      ...request,
      body: (async function* () {
        yield new Uint8Array(bytes);
      })(),
    });
  };
  return Object.assign(wrapped, {
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}
