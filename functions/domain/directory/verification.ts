import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { type ContactMethodType, VERIFIED_CONTACT_METHOD_TYPES } from "./model.ts";

// Verification codes, as GoAlert does it: 6 digits sent to the contact method, valid 15 minutes, 5
// attempts, a new code at most once a minute. Stored as a salted hash; compared in constant time.
// The decisions are pure (time passed in); the store runs them inside one compare-and-set.

export const CODE_DIGITS = 6;
export const CODE_TTL_MS = 15 * 60_000;
export const MAX_CODE_ATTEMPTS = 5;
export const RESEND_INTERVAL_MS = 60_000;
/** One test message a minute per contact method, so TestContactMethod cannot be used to spam a number. */
export const TEST_INTERVAL_MS = 60_000;

export function needsVerification(type: ContactMethodType): boolean {
  return VERIFIED_CONTACT_METHOD_TYPES.includes(type);
}

/** A fresh code: 6 uniformly random digits (leading zeros kept). */
export function newVerificationCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, "0");
}

/** `salt$sha256(salt + code)`, base64url. A 6-digit space is small: the attempt limit is what protects it. */
export function hashVerificationCode(code: string, salt = randomBytes(16).toString("base64url")): string {
  return `${salt}$${createHash("sha256").update(`${salt}:${code}`).digest("base64url")}`;
}

/** Whether `code` is the one `stored` was made from, in constant time. */
export function verificationCodeMatches(stored: string, code: string): boolean {
  const salt = stored.slice(0, stored.indexOf("$"));
  const expected = Buffer.from(stored);
  const actual = Buffer.from(hashVerificationCode(code, salt));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The code's state as read after its attempt was counted. */
export interface PendingCode {
  readonly codeHash: string;
  readonly expiresAt: Date;
  /** Attempts so far, including this one. */
  readonly attempts: number;
}

export type VerificationVerdict =
  | { readonly outcome: "verified" }
  | { readonly outcome: "wrong_code"; readonly attemptsLeft: number }
  | { readonly outcome: "expired" }
  | { readonly outcome: "too_many_attempts" }
  | { readonly outcome: "no_code" };

/** What one attempt comes to. An expired code or one past its attempts never verifies, even if right. */
export function judgeAttempt(pending: PendingCode | undefined, code: string, now: Date): VerificationVerdict {
  if (!pending) return { outcome: "no_code" };
  if (pending.attempts > MAX_CODE_ATTEMPTS) return { outcome: "too_many_attempts" };
  if (now.getTime() >= pending.expiresAt.getTime()) return { outcome: "expired" };
  if (verificationCodeMatches(pending.codeHash, code)) return { outcome: "verified" };
  return { outcome: "wrong_code", attemptsLeft: MAX_CODE_ATTEMPTS - pending.attempts };
}

/** Milliseconds until another message may be sent, 0 when it may now. */
export function waitBeforeResend(lastSentAt: Date | null | undefined, now: Date, intervalMs: number): number {
  if (!lastSentAt) return 0;
  return Math.max(0, lastSentAt.getTime() + intervalMs - now.getTime());
}

/** The text of a verification message. */
export function verificationText(code: string): string {
  return `Your oncall verification code is ${code}. It expires in ${CODE_TTL_MS / 60_000} minutes.`;
}
