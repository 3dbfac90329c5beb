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

interface InputFieldProps {
  label: string;
  /** The request field the server names in its errors (`name`, `condition.cel`, `config.email.addresses`). */
  name: string;
  value: string;
  onChange: (value: string) => void;
  error?: unknown;
  hint?: string;
  type?: "text" | "url" | "email" | "number" | "datetime-local" | "time" | "search";
  placeholder?: string;
  className?: string;
}

/** A text input in a Field: label, value, and the server's error for `name` under it. */
export function TextField({
  onChange,
  value,
  type = "text",
  placeholder,
  className,
  ...field
}: InputFieldProps) {
  return (
    <Field {...field}>
      {(p) => (
        <input
          {...p}
          type={type}
          value={value}
          placeholder={placeholder}
          className={className}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** A textarea in a Field. */
export function TextAreaField({
  onChange,
  value,
  rows = 3,
  className,
  placeholder,
  ...field
}: Omit<InputFieldProps, "type"> & { rows?: number }) {
  return (
    <Field {...field}>
      {(p) => (
        <textarea
          {...p}
          rows={rows}
          value={value}
          placeholder={placeholder}
          className={className}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** A select in a Field; option values are strings (map enums with String/Number at the edge). */
export function SelectField({
  onChange,
  value,
  options,
  ...field
}: Omit<InputFieldProps, "type" | "placeholder" | "className"> & {
  options: readonly { value: string; label: string }[];
}) {
  return (
    <Field {...field}>
      {(p) => (
        <select {...p} value={value} onChange={(e) => onChange(e.target.value)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A checkbox with its label on the right. */
export function CheckField({
  label,
  checked,
  onChange,
  hint,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label className="check-label" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
          {...(hint ? { "aria-describedby": `${id}-hint` } : {})}
        />
        {label}
      </label>
      {hint ? (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

/**
 * A group of checkboxes that picks some of `options` (ticked order), with the server's error for
 * `name` under it.
 */
export function CheckListField<T extends string | number>({
  legend,
  name,
  options,
  value,
  onChange,
  error,
}: {
  legend: string;
  name?: string;
  options: readonly { value: T; label: string }[];
  value: readonly T[];
  onChange: (picked: T[]) => void;
  error?: unknown;
}) {
  const id = useId();
  const message = name ? fieldError(error, name) : undefined;
  return (
    <fieldset className="days" {...(message ? { "aria-describedby": `${id}-error` } : {})}>
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.value} className="check-label">
          <input
            type="checkbox"
            checked={value.includes(o.value)}
            onChange={(e) =>
              onChange(e.target.checked ? [...value, o.value] : value.filter((x) => x !== o.value))
            }
          />
          {o.label}
        </label>
      ))}
      {message ? (
        <small id={`${id}-error`} className="field-error">
          {message}
        </small>
      ) : null}
    </fieldset>
  );
}

const weekdayOptions = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((label, i) => ({
  value: i + 1,
  label,
}));

/** Weekday checkboxes, 1 = Monday … 7 = Sunday (kept in order), with the server's error for `name`. */
export function WeekdaysField({
  legend,
  name,
  value,
  onChange,
  error,
}: {
  legend: string;
  name: string;
  value: readonly number[];
  onChange: (days: number[]) => void;
  error?: unknown;
}) {
  return (
    <CheckListField
      legend={legend}
      name={name}
      options={weekdayOptions}
      value={value}
      onChange={(days) => onChange(days.sort())}
      error={error}
    />
  );
}

/**
 * A detail page's head: the link back to its list, its name as the title, and Edit/Delete for
 * someone who may write (EditDeleteActions).
 */
export function DetailHeader({
  back,
  backLabel,
  title,
  ...actions
}: {
  back: string;
  backLabel: string;
  title: string;
} & Parameters<typeof EditDeleteActions>[0]) {
  return (
    <>
      <BackLink href={back}>{backLabel}</BackLink>
      <PageTitle actions={<EditDeleteActions {...actions} />}>{title}</PageTitle>
    </>
  );
}

/** A detail page whose thing could not be read: the link back and why. */
export function DetailMissing({
  back,
  backLabel,
  error,
}: {
  back: string;
  backLabel: string;
  error: unknown;
}) {
  return (
    <>
      <BackLink href={back}>{backLabel}</BackLink>
      <ErrorNote error={error ?? new Error("not found")} />
    </>
  );
}

/** A list row's Edit and Delete (after a confirm naming it), labelled with the row's name. */
export function RowEditDelete({
  name,
  what,
  onEdit,
  onDelete,
}: {
  name: string;
  /** e.g. "channel", for the confirm question. */
  what: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  return (
    <>
      <button type="button" aria-label={`Edit ${name}`} onClick={onEdit}>
        Edit
      </button>
      <ConfirmButton
        className="danger"
        label={`Delete ${name}`}
        question={`Delete ${what} “${name}”?`}
        onConfirm={onDelete}
      >
        Delete
      </ConfirmButton>
    </>
  );
}

/**
 * A form's foot: its error (unless a field shows it), the submit button, and Cancel when editing
 * can be abandoned.
 */
export function FormActions({
  error,
  fields,
  pending,
  submit,
  onCancel,
}: {
  error: unknown;
  /** The fields that show their own errors. */
  fields: string[];
  pending: boolean;
  submit: string;
  onCancel?: (() => void) | undefined;
}) {
  return (
    <>
      <FormError error={error} fields={fields} />
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {submit}
        </button>
        {onCancel ? (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </>
  );
}

/** A list table's header: plain columns, or `{ label, wide }` for those hidden on a phone. */
export function TableHead({
  columns,
}: {
  columns: readonly (string | { label: string; wide: true } | null)[];
}) {
  return (
    <thead>
      <tr>
        {columns.map((c) =>
          c === null ? null : typeof c === "string" ? (
            <th key={c} scope="col">
              {c}
            </th>
          ) : (
            <th key={c.label} scope="col" className="wide">
              {c.label}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A button that asks first (window.confirm) and then acts. */
export function ConfirmButton({
  question,
  onConfirm,
  children,
  className,
  disabled,
  label,
}: {
  question: string;
  onConfirm: () => void;
  children: ReactNode;
  className?: string;
  disabled?: boolean;
  label?: string;
}) {
  return (
    <button
      type="button"
      className={className}
      disabled={disabled}
      aria-label={label}
      onClick={() => window.confirm(question) && onConfirm()}
    >
      {children}
    </button>
  );
}

/**
 * A detail page's title actions for someone who may write: Edit, and Delete after a confirm naming
 * the thing. Nothing while the page is being edited or for a read-only key.
 */
export function EditDeleteActions({
  canWrite,
  editing,
  onEdit,
  what,
  onDelete,
}: {
  canWrite: boolean;
  editing: boolean;
  onEdit: () => void;
  /** e.g. `schedule “Primary”`, for the confirm question. */
  what: string;
  onDelete: () => void;
}) {
  if (!canWrite || editing) return null;
  return (
    <>
      <button type="button" onClick={onEdit}>
        Edit
      </button>
      <ConfirmButton className="danger" question={`Delete ${what}?`} onConfirm={onDelete}>
        Delete
      </ConfirmButton>
    </>
  );
}
