import { createHash, timingSafeEqual } from "node:crypto";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

export type Scope = "read" | "write";

export interface Principal {
  /** "admin" or "api_key:<id>"; recorded as the actor of what the caller changes. */
  id: string;
  /** The admin token may do everything; API keys are limited by their scopes. */
  kind: "admin" | "api_key";
  scopes: readonly Scope[];
}

/** Where the authenticated principal travels from the interceptor to the service implementations. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });

export interface AuthOptions {
  /** Resolves a bearer token to its principal, or undefined when the token is unknown. */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Fully qualified procedures callable without a token, e.g. `/oncall.v1.SystemService/GetVersion`. */
  publicProcedures: ReadonlySet<string>;
  /** Services (type names, e.g. `oncall.v1.ApiKeyService`) that only the admin token may call. */
  adminOnlyServices?: ReadonlySet<string>;
  /** Services whose reads any valid token may call but whose writes only the admin token may. */
  adminWriteServices?: ReadonlySet<string>;
}

/**
 * Refuses every RPC without a valid `Authorization: Bearer <token>` with `unauthenticated`, then
 * authorizes: admin-only services need the admin token (admin-write services for their writes), and a method that is not declared
 * `idempotency_level = NO_SIDE_EFFECTS` in the proto needs the `write` scope (`permission_denied`
 * otherwise). The proto is thus the single list of which RPCs a read-only key may call.
 */
export function createAuthInterceptor(options: AuthOptions): Interceptor {
  return (next) => async (req) => {
    if (options.publicProcedures.has(`/${req.service.typeName}/${req.method.name}`)) return next(req);
    const token = bearerToken(req.header.get("authorization"));
    if (token === undefined) {
      throw new ConnectError("missing credentials: send Authorization: Bearer <token>", Code.Unauthenticated);
    }
    const principal = await options.authenticate(token);
    if (!principal) throw new ConnectError("invalid token", Code.Unauthenticated);
    if (principal.kind !== "admin" && options.adminOnlyServices?.has(req.service.typeName)) {
      throw new ConnectError(`only the admin token may call ${req.service.typeName}`, Code.PermissionDenied);
    }
    const writes = req.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
    if (principal.kind !== "admin" && writes && options.adminWriteServices?.has(req.service.typeName)) {
      throw new ConnectError(
        `only the admin token may call ${req.method.name}; API keys read ${req.service.typeName}`,
        Code.PermissionDenied,
      );
    }
    if (writes && !principal.scopes.includes("write")) {
      throw new ConnectError(
        `${req.method.name} changes state and needs the write scope; this key is read-only`,
        Code.PermissionDenied,
      );
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

export function bearerToken(header: string | null | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function secretsEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

export const adminPrincipal: Principal = { id: "admin", kind: "admin", scopes: ["read", "write"] };

/** The authenticator for the admin token alone. */
export function adminAuthenticator(
  adminToken: () => Promise<string | undefined>,
): AuthOptions["authenticate"] {
  return async (token) => {
    const expected = await adminToken();
    if (expected !== undefined && secretsEqual(token, expected)) return adminPrincipal;
    return undefined;
  };
}

/** An API key as its store found it. */
export interface ApiKeyIdentity {
  id: string;
  scope: "read" | "read_write";
}

/**
 * The admin token first (no I/O), then API keys through `findApiKey` — at most one database round
 * trip per request, which also records the key's use.
 *
 * @example
 * tokenAuthenticator({ adminToken: ctx.adminToken, findApiKey: (s) => authenticateApiKey(db, { secret: s, now }) })
 */
export function tokenAuthenticator(options: {
  adminToken: () => Promise<string | undefined>;
  findApiKey: (secret: string) => Promise<ApiKeyIdentity | undefined>;
}): AuthOptions["authenticate"] {
  const admin = adminAuthenticator(options.adminToken);
  return async (token) => {
    const principal = await admin(token);
    if (principal) return principal;
    const key = await options.findApiKey(token);
    if (!key) return undefined;
    return {
      id: `api_key:${key.id}`,
      kind: "api_key",
      scopes: key.scope === "read_write" ? ["read", "write"] : ["read"],
    };
  };
}
