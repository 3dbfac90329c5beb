import { Code, ConnectError } from "@connectrpc/connect";
import { useCallback, useEffect, useMemo } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { type Session, SessionProvider, useAuth, useWhoAmI } from "./auth.tsx";
import { AlertPage } from "./pages/alert.tsx";
import { AlertsPage } from "./pages/alerts.tsx";
import { ApiKeysPage } from "./pages/api-keys.tsx";
import { ChannelsPage } from "./pages/channels.tsx";
import { MaintenancePage } from "./pages/maintenance.tsx";
import { NowPage } from "./pages/now.tsx";
import { OutboxPage } from "./pages/outbox.tsx";
import { PoliciesPage, PolicyPage } from "./pages/policies.tsx";
import { RoutingPage } from "./pages/routing.tsx";
import { RotationPage, SchedulePage, SchedulesPage } from "./pages/schedules.tsx";
import { ServicePage, ServicesPage } from "./pages/services.tsx";
import { SignIn } from "./pages/sign-in.tsx";
import { UserPage, UsersPage } from "./pages/users.tsx";
import { ErrorNote, Loading } from "./ui.tsx";

export function App() {
  const auth = useAuth();
  const { token } = auth;
  const who = useWhoAmI(Boolean(token));
  const rejected = Boolean(who.error && ConnectError.from(who.error).code === Code.Unauthenticated);
  const signOut = useCallback(() => auth.signOut(), [auth.signOut]);

  useEffect(() => {
    if (rejected) auth.signOut(true);
  }, [rejected, auth.signOut]);

  const session = useMemo<Session | null>(() => {
    if (!who.data) return null;
    return {
      principal: who.data.principal,
      canWrite: who.data.scopes.includes("write"),
      isAdmin: who.data.principal === "admin",
      signOut,
    };
  }, [who.data, signOut]);

  if (!token || rejected) return <SignIn rejected={auth.rejected} />;
  if (who.error)
    return (
      <main className="center">
        <ErrorNote error={who.error} />
        <button type="button" onClick={() => who.refetch()}>
          Try again
        </button>
      </main>
    );
  if (!session)
    return (
      <main className="center">
        <Loading what="your session" />
      </main>
    );
  return (
    <SessionProvider session={session}>
      <Shell session={session} />
    </SessionProvider>
  );
}

const nav = [
  { href: "/", label: "Now" },
  { href: "/alerts", label: "Alerts" },
  { href: "/services", label: "Services" },
  { href: "/policies", label: "Escalation policies" },
  { href: "/schedules", label: "Schedules" },
  { href: "/users", label: "Users" },
  { href: "/routing", label: "Routing" },
  { href: "/maintenance", label: "Maintenance" },
  { href: "/channels", label: "Channels" },
  { href: "/outbox", label: "Outbox" },
];

function Shell({ session }: { session: Session }) {
  const [location] = useLocation();
  const items = session.isAdmin ? [...nav, { href: "/api-keys", label: "API keys" }] : nav;
  const current = (href: string) => (href === "/" ? location === "/" : location.startsWith(href));
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          oncall
        </Link>
        <nav aria-label="Main">
          <ul>
            {items.map((i) => (
              <li key={i.href}>
                <Link href={i.href} aria-current={current(i.href) ? "page" : undefined}>
                  {i.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span title="Signed in as">
            {session.principal}
            {session.canWrite ? "" : " (read-only)"}
          </span>
          <button type="button" className="link" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/" component={NowPage} />
          <Route path="/alerts" component={AlertsPage} />
          <Route path="/alerts/:id">{(p) => <AlertPage id={p.id} />}</Route>
          <Route path="/services" component={ServicesPage} />
          <Route path="/services/:id">{(p) => <ServicePage id={p.id} />}</Route>
          <Route path="/policies" component={PoliciesPage} />
          <Route path="/policies/:id">{(p) => <PolicyPage id={p.id} />}</Route>
          <Route path="/schedules" component={SchedulesPage} />
          <Route path="/schedules/:id">{(p) => <SchedulePage id={p.id} />}</Route>
          <Route path="/rotations/:id">{(p) => <RotationPage id={p.id} />}</Route>
          <Route path="/routing" component={RoutingPage} />
          <Route path="/maintenance" component={MaintenancePage} />
          <Route path="/channels" component={ChannelsPage} />
          <Route path="/outbox" component={OutboxPage} />
          <Route path="/users" component={UsersPage} />
          <Route path="/users/:id">{(p) => <UserPage id={p.id} />}</Route>
          <Route path="/api-keys" component={ApiKeysPage} />
          <Route>
            <h1>Page not found</h1>
            <p>
              There is nothing at this address. <Link href="/">Go to Now</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}
