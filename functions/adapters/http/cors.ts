import { cors } from "@connectrpc/connect";

/**
 * CORS for browser clients (gRPC-web and Connect). Tokens travel in the Authorization header,
 * never in cookies, so credentials are not allowed and `*` is a safe default.
 */
export function corsHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  if (!origin) return {};
  const allowed = allowedOrigins.includes("*") || allowedOrigins.includes(origin);
  if (!allowed) return {};
  return {
    "access-control-allow-origin": allowedOrigins.includes("*") ? "*" : origin,
    "access-control-expose-headers": cors.exposedHeaders.join(", "),
    vary: "origin",
  };
}

export function preflightHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  const base = corsHeaders(origin, allowedOrigins);
  if (!base["access-control-allow-origin"]) return {};
  return {
    ...base,
    "access-control-allow-methods": cors.allowedMethods.join(", "),
    "access-control-allow-headers": [...cors.allowedHeaders, "Authorization"].join(", "),
    "access-control-max-age": "7200",
  };
}
