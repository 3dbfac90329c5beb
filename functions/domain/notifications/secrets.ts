/**
 * Secrets the providers need (Slack bot tokens, webhook signing secrets, the SMTP password) are
 * stored as references and resolved at send: an environment variable embedded, a Secrets Manager
 * secret on AWS. A value never enters a record, a template, an error or a log line; errors name the
 * reference only.
 */
export interface SecretResolver {
  /** The problem with a reference's form for this store (shown to whoever saves it), or undefined. */
  checkRef(ref: string): string | undefined;
  /** The secret's value; throws SecretUnavailableError. */
  resolve(ref: string): Promise<string>;
}

/** A secret that cannot be read. `transient`: the store failed (try again); else it is missing. */
export class SecretUnavailableError extends Error {
  override readonly name = "SecretUnavailableError";
  readonly ref: string;
  readonly transient: boolean;
  constructor(ref: string, problem: string, transient: boolean, options?: { cause?: unknown }) {
    super(`secret ${ref}: ${problem}`, options);
    this.ref = ref;
    this.transient = transient;
  }
}

/**
 * `text` with every given secret value replaced by `[redacted]`: the last guard on reasons and log
 * lines built from a provider's answer (which may echo what we sent).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Short values would redact ordinary words; no real token or signing secret is this short.
    if (secret.length >= 8) out = out.replaceAll(secret, "[redacted]");
  }
  return out;
}
