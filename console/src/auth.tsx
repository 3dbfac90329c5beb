import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { SystemService } from "../../functions/gen/oncall/v1/system_pb.ts";
import { tokenStore } from "./transport.ts";

export interface Session {
  principal: string;
  /** May change state (the admin token or a read-write key). */
  canWrite: boolean;
  /** The admin token: API keys are its alone. */
  isAdmin: boolean;
  signOut(): void;
}

interface AuthState {
  token: string | null;
  /** Set when the server refused the token: the sign-in page says so. */
  rejected: boolean;
  signIn(token: string): void;
  signOut(rejected?: boolean): void;
}

const AuthContext = createContext<AuthState | null>(null);
const SessionContext = createContext<Session | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState(tokenStore.get);
  const [rejected, setRejected] = useState(false);
  const queryClient = useQueryClient();
  const signIn = useCallback((t: string) => {
    tokenStore.set(t);
    setRejected(false);
    setToken(t);
  }, []);
  const signOut = useCallback(
    (wasRejected = false) => {
      tokenStore.clear();
      setRejected(wasRejected);
      setToken(null);
      queryClient.clear();
    },
    [queryClient],
  );
  const value = useMemo(() => ({ token, rejected, signIn, signOut }), [token, rejected, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** Who the token belongs to; the UI hides what it cannot do (the API still enforces it). */
export function useWhoAmI(enabled: boolean) {
  return useQuery(SystemService.method.whoAmI, {}, { enabled, retry: false, staleTime: 60_000 });
}

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}
