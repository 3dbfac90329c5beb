import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

export type Scope = "read" | "write";

export interface Principal {
  /** "admin", or later "api_key:<id>". */
  id: string;
  scopes: readonly Scope[];
}

/** Where the authenticated principal travels from the interceptor to the service implementations. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });

export interface AuthOptions {
  /** Resolves a bearer token to its principal, or undefined when the token is unknown. */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Fully qualified procedures callable without a token, e.g. `/oncall.v1.SystemService/GetVersion`. */
  publicProcedures: ReadonlySet<string>;
}

/** Refuses every RPC without a valid `Authorization: Bearer <token>` with `unauthenticated`. */
export function createAuthInterceptor(options: AuthOptions): Interceptor {
  return (next) => async (req) => {
    if (options.publicProcedures.has(`/${req.service.typeName}/${req.method.name}`)) return next(req);
    const token = bearerToken(req.header.get("authorization"));
    if (token === undefined) {
      throw new ConnectError("missing credentials: send Authorization: Bearer <token>", Code.Unauthenticated);
    }
    const principal = await options.authenticate(token);
    if (!principal) throw new ConnectError("invalid token", Code.Unauthenticated);
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

/** The authenticator for the admin token; API keys join it in the alerts issue. */
export function adminAuthenticator(adminToken: () => Promise<string | undefined>): AuthOptions["authenticate"] {
  return async (token) => {
    const expected = await adminToken();
    if (expected !== undefined && secretsEqual(token, expected)) return { id: "admin", scopes: ["read", "write"] };
    return undefined;
  };
}
