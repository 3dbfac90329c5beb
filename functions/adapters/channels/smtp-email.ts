import type { Transporter } from "nodemailer";
import type { DeliveryProvider, ProviderOutcome } from "../../domain/notifications/model.ts";
import { redactSecrets, type SecretResolver } from "../../domain/notifications/secrets.ts";
import { excerpt } from "./http-outcome.ts";

export interface SmtpEmailOptions {
  /** ONCALL_SMTP_URL: `smtp://user@host:587` (STARTTLS when offered) or `smtps://…:465`. */
  readonly url: string;
  /** ONCALL_EMAIL_FROM. */
  readonly from: string;
  /** A secret reference holding the SMTP password (ONCALL_SMTP_PASSWORD_REF), when the URL has none. */
  readonly passwordRef?: string | undefined;
  readonly secrets: SecretResolver;
  /** Bounds on connecting, the greeting and each socket wait. @default 10_000 */
  readonly timeoutMs?: number;
}

/** nodemailer error codes of a connection that failed or timed out: worth another attempt. */
const TRANSIENT_CODES = new Set([
  "ETIMEDOUT",
  "ECONNECTION",
  "ESOCKET",
  "EDNS",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPROTOCOL",
]);

/**
 * Email over SMTP with nodemailer (the embedded runtime's mail path): subject, HTML and text as a
 * multipart/alternative message. SMTP's own codes decide: 4xx retry, 5xx fail.
 */
export function createSmtpEmailProvider(options: SmtpEmailOptions): DeliveryProvider {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let transport: { password: string | undefined; transporter: Transporter } | undefined;

  /** One pooled transport, rebuilt when the password (a rotated secret) changes. */
  const transporterFor = async (password: string | undefined): Promise<Transporter> => {
    if (transport && transport.password === password) return transport.transporter;
    transport?.transporter.close();
    const nodemailer = await import("nodemailer");
    const url = new URL(options.url);
    const transporter = nodemailer.createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
      secure: url.protocol === "smtps:",
      ...(url.username
        ? {
            auth: {
              user: decodeURIComponent(url.username),
              pass: password ?? decodeURIComponent(url.password),
            },
          }
        : {}),
      pool: true,
      maxConnections: 2,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    transport = { password, transporter };
    return transporter;
  };

  return {
    kind: "email",
    async send(message, signal) {
      const destination = message.destination;
      if (destination.kind !== "email")
        throw new Error(`email provider got a ${destination.kind} destination`);
      const { subject = "", html = "", text = "" } = message.parts;
      if (subject.trim() === "" || (html.trim() === "" && text.trim() === "")) {
        return { status: "failed", reason: "the rendered email has no subject or no body" };
      }
      const secrets: string[] = [];
      try {
        const password = options.passwordRef ? await options.secrets.resolve(options.passwordRef) : undefined;
        if (password) secrets.push(password);
        const transporter = await transporterFor(password);
        if (signal.aborted) return { status: "retry", reason: "the send was aborted" };
        // nodemailer takes no AbortSignal: an abort stops waiting (the socket timeouts bound the rest).
        const aborted = new Promise<ProviderOutcome>((resolve) =>
          signal.addEventListener(
            "abort",
            () => resolve({ status: "retry", reason: "the send was aborted" }),
            {
              once: true,
            },
          ),
        );
        const sent = transporter
          .sendMail({
            from: options.from,
            to: [...destination.to],
            subject,
            ...(html ? { html } : {}),
            ...(text ? { text } : {}),
            headers: {
              "X-Oncall-Idempotency-Key": message.idempotencyKey,
              "X-Oncall-Message-Kind": message.kind,
            },
          })
          .then(
            (info): ProviderOutcome => {
              // Some recipients refused, others took it: sent (a retry would page the others twice).
              const rejected = (info.rejected ?? []).map(String);
              return {
                status: "sent",
                providerMessageId: String(info.messageId),
                ...(rejected.length > 0
                  ? { detail: `refused by the server for ${rejected.join(", ")}` }
                  : {}),
              };
            },
            (err: unknown) => outcomeOfSmtpError(err, secrets),
          );
        return await Promise.race([sent, aborted]);
      } catch (err) {
        if ((err as Error).name === "SecretUnavailableError") {
          const e = err as Error & { transient: boolean };
          return { status: e.transient ? "retry" : "failed", reason: e.message };
        }
        return outcomeOfSmtpError(err, secrets);
      }
    },
  };
}

function outcomeOfSmtpError(err: unknown, secrets: readonly string[]): ProviderOutcome {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const reason = `SMTP: ${excerpt(redactSecrets(e.message ?? String(err), secrets))}`;
  if (typeof e.responseCode === "number") {
    return e.responseCode >= 400 && e.responseCode < 500
      ? { status: "retry", reason }
      : { status: "failed", reason };
  }
  if (e.code && TRANSIENT_CODES.has(e.code)) return { status: "retry", reason };
  if (e.code === "EAUTH" || e.code === "EENVELOPE" || e.code === "EMESSAGE")
    return { status: "failed", reason };
  // Unknown: for a pager a second attempt beats a silent loss.
  return { status: "retry", reason };
}
