import { type FormEvent, useState } from "react";
import { useAuth } from "../auth.tsx";

export function SignIn({ rejected }: { rejected: boolean }) {
  const { signIn } = useAuth();
  const [token, setToken] = useState("");
  const [empty, setEmpty] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) return setEmpty(true);
    signIn(token.trim());
  };
  return (
    <main className="center sign-in">
      <h1>Sign in to oncall</h1>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="token">Token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => {
              setToken(e.target.value);
              setEmpty(false);
            }}
            aria-invalid={empty || rejected || undefined}
            aria-describedby="token-hint"
          />
          <small id="token-hint" className="muted">
            The admin token (printed by <code>npm start</code>) or an API key. It is kept for this browser tab
            only.
          </small>
          {empty ? <small className="field-error">Token: enter a token.</small> : null}
        </div>
        {rejected ? (
          <p className="error" role="alert">
            That token was not accepted: check it, or ask an admin for a new API key.
          </p>
        ) : null}
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
