import type { ReactNode } from "react";
import { useId } from "react";
import { Link } from "wouter";
import { describe, type ErrorSentence, sameField } from "./errors.ts";

/** An error as a sentence (never a stack), announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {describe(error).sentence}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-title">
      <h1>{children}</h1>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

/** Whether a server error names this field, for aria-invalid and the message under the input. */
export function fieldError(err: unknown, name: string): string | undefined {
  if (!err) return undefined;
  const d: ErrorSentence = describe(err);
  return sameField(d.field, name) ? d.sentence : undefined;
}

interface FieldProps {
  label: string;
  name: string;
  error?: unknown;
  hint?: string;
  children: (props: {
    id: string;
    name: string;
    "aria-invalid"?: boolean;
    "aria-describedby"?: string;
  }) => ReactNode;
}

/** A labelled input whose server-side error (by field name) shows right under it. */
export function Field({ label, name, error, hint, children }: FieldProps) {
  const id = useId();
  const message = fieldError(error, name);
  const describedBy = [hint ? `${id}-hint` : "", message ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        ...(message ? { "aria-invalid": true } : {}),
        ...(describedBy ? { "aria-describedby": describedBy } : {}),
      })}
      {hint ? (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      ) : null}
      {message ? (
        <small id={`${id}-error`} className="field-error">
          {message}
        </small>
      ) : null}
    </div>
  );
}

/** The form-level error, unless a field already shows it. */
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null;
  const d = describe(error);
  if (fields.some((f) => sameField(d.field, f))) {
    return (
      <p className="error" role="alert">
        Check the form: {d.sentence}
      </p>
    );
  }
  return <ErrorNote error={error} />;
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

export function BackLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className="back">
      ← {children}
    </Link>
  );
}
