import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import type {
  ContactMethodRecord,
  NewUser,
  UserCursor,
  UserPatch,
  UserRecord,
} from "../adapters/db/stores/directory.ts";
import * as store from "../adapters/db/stores/directory.ts";
import type { Clock } from "../domain/clock.ts";
import type { ContactMethod, ContactMethodType } from "../domain/directory/model.ts";
import { MAX_CONTACT_METHODS_PER_USER } from "../domain/directory/validate.ts";
import {
  CODE_TTL_MS,
  hashVerificationCode,
  judgeAttempt,
  MAX_CODE_ATTEMPTS,
  needsVerification,
  newVerificationCode,
  RESEND_INTERVAL_MS,
  TEST_INTERVAL_MS,
  verificationText,
  waitBeforeResend,
} from "../domain/directory/verification.ts";
import {
  AlreadyExistsError,
  DomainError,
  NotFoundError,
  PreconditionError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from "../domain/errors.ts";
import type { ProviderOutcome } from "../domain/notifications/model.ts";

export type {
  ContactMethodRecord,
  UserCursor,
  UserPatch,
  UserRecord,
} from "../adapters/db/stores/directory.ts";

// Use cases of the embedded user directory: users, their contact methods, verification codes and
// test messages. Inputs are validated values (the RPC layer checks each field, the domain holds the
// rules); outcomes that are the caller's fault become domain errors here.

/** A message the directory itself sends to a contact method (not an alert: those are deliveries). */
export interface ContactMessage {
  readonly kind: "verification" | "test";
  readonly subject: string;
  readonly text: string;
}

/**
 * How the directory reaches a contact method for its own messages. The composition roots wire it to
 * the delivery providers (adapters/channels/); tests record what it was given.
 */
export interface ContactMessageSender {
  /** Sends once; never throws for a provider's answer (returns it). */
  send(contactMethod: ContactMethod, message: ContactMessage, signal: AbortSignal): Promise<ProviderOutcome>;
}

/** How long one verification or test message may take before the RPC gives up (unavailable). */
export const CONTACT_SEND_TIMEOUT_MS = 10_000;

export interface DirectoryDeps {
  db(): Kysely<Database>;
  clock: Clock;
  sender: ContactMessageSender;
  /** Source of new codes; tests pass their own to know the code without reading the message. */
  newCode?: () => string;
}

export interface CreatedContactMethod {
  contactMethod: ContactMethodRecord;
  /** A code was sent (types that need one). */
  verificationCodeSent: boolean;
  /** Why the code could not be sent; the contact method exists anyway and a resend may follow. */
  verificationError?: string;
}

export function createDirectoryUseCases(deps: DirectoryDeps) {
  const newCode = deps.newCode ?? newVerificationCode;

  async function contactMethodOrThrow(id: string): Promise<ContactMethodRecord> {
    const found = await store.getContactMethod(deps.db(), id);
    if (!found) throw new NotFoundError("contact method", id);
    return found;
  }

  /** Sends, bounded by CONTACT_SEND_TIMEOUT_MS; a provider refusal or timeout becomes a domain error. */
  async function send(contactMethod: ContactMethod, message: ContactMessage): Promise<void> {
    const signal = AbortSignal.timeout(CONTACT_SEND_TIMEOUT_MS);
    let outcome: ProviderOutcome;
    try {
      outcome = await deps.sender.send(contactMethod, message, signal);
    } catch (err) {
      if (err instanceof DomainError) throw err;
      throw new UnavailableError(`could not send the ${message.kind} message: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (outcome.status === "retry") {
      throw new UnavailableError(
        `could not send the ${message.kind} message now (${outcome.reason}); try again`,
      );
    }
    if (outcome.status === "failed") {
      throw new PreconditionError(`could not send the ${message.kind} message: ${outcome.reason}`);
    }
  }

  /** Stores a new code and sends it; a code that could not be sent is discarded (no wait for a retry). */
  async function sendCode(contactMethod: ContactMethodRecord): Promise<Date> {
    if (!needsVerification(contactMethod.type)) {
      throw new PreconditionError(`a ${contactMethod.type} contact method needs no verification`);
    }
    const code = newCode();
    const codeHash = hashVerificationCode(code);
    const now = deps.clock.now();
    const stored = await store.storeVerificationCode(deps.db(), {
      contactMethodId: contactMethod.id,
      codeHash,
      now,
      ttlMs: CODE_TTL_MS,
      resendIntervalMs: RESEND_INTERVAL_MS,
    });
    switch (stored.outcome) {
      case "not_found":
        throw new NotFoundError("contact method", contactMethod.id);
      case "already_verified":
        throw new PreconditionError(`contact method ${contactMethod.id} is already verified`);
      case "too_soon": {
        const waitMs = waitBeforeResend(stored.lastSentAt, now, RESEND_INTERVAL_MS);
        throw new RateLimitedError(
          `a code was sent less than a minute ago; wait ${Math.ceil(waitMs / 1000)} s before asking for another`,
          Math.max(1, Math.ceil(waitMs / 1000)),
        );
      }
      case "stored":
        break;
    }
    try {
      await send(contactMethod, {
        kind: "verification",
        subject: "Your oncall verification code",
        text: verificationText(code),
      });
    } catch (err) {
      await store.discardVerificationCode(deps.db(), contactMethod.id, codeHash);
      throw err;
    }
    return stored.expiresAt;
  }

  return {
    getUsers(ids: readonly string[]): Promise<UserRecord[]> {
      return store.getUsers(deps.db(), ids);
    },

    searchUsers(input: { query: string; limit: number; after?: UserCursor | undefined }) {
      return store.searchUsers(deps.db(), input);
    },

    async listContactMethods(userId: string): Promise<ContactMethodRecord[]> {
      const methods = await store.listContactMethods(deps.db(), userId);
      if (!methods) throw new NotFoundError("user", userId);
      return methods;
    },

    /** `id` empty: a generated uuid. */
    async createUser(input: NewUser): Promise<UserRecord> {
      const id = input.id || randomUUID();
      const created = await store.insertUser(deps.db(), { ...input, id }, deps.clock.now());
      if (!created) throw new AlreadyExistsError(`a user with id ${JSON.stringify(id)} already exists`);
      return created;
    },

    async updateUser(id: string, patch: UserPatch): Promise<UserRecord> {
      const updated = await store.updateUser(deps.db(), id, patch, deps.clock.now());
      if (!updated) throw new NotFoundError("user", id);
      return updated;
    },

    async deleteUser(id: string): Promise<void> {
      if (!(await store.deleteUser(deps.db(), id))) throw new NotFoundError("user", id);
    },

    /**
     * Adds a contact method. Types that need verification start disabled and get a code at once;
     * a code that could not be sent is reported, not thrown (the contact method is kept).
     */
    async createContactMethod(input: {
      userId: string;
      type: ContactMethodType;
      name: string;
      value: string;
    }): Promise<CreatedContactMethod> {
      const verify = needsVerification(input.type);
      const created = await store.insertContactMethod(
        deps.db(),
        { ...input, verified: !verify, disabled: verify },
        deps.clock.now(),
        MAX_CONTACT_METHODS_PER_USER,
      );
      if (created.outcome === "user_not_found") throw new NotFoundError("user", input.userId);
      if (created.outcome === "too_many") {
        throw new PreconditionError(
          `user ${input.userId} has ${MAX_CONTACT_METHODS_PER_USER} contact methods, the most allowed; delete one first`,
        );
      }
      if (created.outcome === "duplicate") {
        throw new AlreadyExistsError(`user ${input.userId} already has this ${input.type} contact method`);
      }
      if (!verify) return { contactMethod: created.contactMethod, verificationCodeSent: false };
      try {
        await sendCode(created.contactMethod);
        return { contactMethod: created.contactMethod, verificationCodeSent: true };
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return {
          contactMethod: created.contactMethod,
          verificationCodeSent: false,
          verificationError: err.message,
        };
      }
    },

    async updateContactMethod(
      id: string,
      patch: { name?: string; enabled?: boolean },
    ): Promise<ContactMethodRecord> {
      const result = await store.updateContactMethod(
        deps.db(),
        id,
        {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.enabled !== undefined ? { disabled: !patch.enabled } : {}),
        },
        deps.clock.now(),
      );
      if (result.outcome === "not_found") throw new NotFoundError("contact method", id);
      if (result.outcome === "unverified") {
        throw new PreconditionError(
          `contact method ${id} is not verified; verify it (VerifyContactMethod) before enabling it`,
        );
      }
      return result.contactMethod;
    },

    async deleteContactMethod(id: string): Promise<void> {
      if (!(await store.deleteContactMethod(deps.db(), id))) throw new NotFoundError("contact method", id);
    },

    /** Sends a new code; returns when it expires. */
    async sendVerification(id: string): Promise<Date> {
      return sendCode(await contactMethodOrThrow(id));
    },

    /** Checks a code; verified and enabled when right. */
    async verify(id: string, code: string): Promise<ContactMethodRecord> {
      const existing = await contactMethodOrThrow(id);
      if (existing.verified) return existing;
      const pending = await store.countVerificationAttempt(deps.db(), id, MAX_CODE_ATTEMPTS);
      const verdict = judgeAttempt(pending, code, deps.clock.now());
      switch (verdict.outcome) {
        case "no_code":
          throw new PreconditionError(`no code is pending for contact method ${id}; send one first`);
        case "expired":
          throw new PreconditionError("the code has expired; send a new one");
        case "too_many_attempts":
          throw new PreconditionError(`the code was tried ${MAX_CODE_ATTEMPTS} times; send a new one`);
        case "wrong_code":
          throw new ValidationError(
            "code",
            `is not the code sent; ${verdict.attemptsLeft} attempt${verdict.attemptsLeft === 1 ? "" : "s"} left`,
          );
        case "verified": {
          if (!pending) throw new Error("a verified verdict without a pending code");
          const verified = await store.markVerified(deps.db(), {
            contactMethodId: id,
            codeHash: pending.codeHash,
            now: deps.clock.now(),
          });
          // The code was replaced or used by a concurrent request between the two statements.
          if (!verified) throw new PreconditionError("the code was replaced meanwhile; use the newest code");
          return verified;
        }
      }
    },

    /** Sends a test message to a verified contact method, at most once a minute. */
    async test(id: string): Promise<void> {
      const existing = await contactMethodOrThrow(id);
      if (!existing.verified) {
        throw new PreconditionError(`contact method ${id} is not verified; verify it before testing it`);
      }
      const now = deps.clock.now();
      const claim = await store.claimTestMessage(deps.db(), {
        contactMethodId: id,
        now,
        intervalMs: TEST_INTERVAL_MS,
      });
      if (claim.outcome === "not_found") throw new NotFoundError("contact method", id);
      if (claim.outcome === "too_soon") {
        const waitS = Math.max(
          1,
          Math.ceil(waitBeforeResend(claim.lastTestAt, now, TEST_INTERVAL_MS) / 1000),
        );
        throw new RateLimitedError(`a test message was sent less than a minute ago; wait ${waitS} s`, waitS);
      }
      try {
        await send(claim.contactMethod, {
          kind: "test",
          subject: "oncall test message",
          text: `This is a test message from oncall to your ${claim.contactMethod.type} contact method "${claim.contactMethod.name}". If you got it, you can be paged here.`,
        });
      } catch (err) {
        await store.releaseTestMessage(deps.db(), id, now);
        throw err;
      }
    },
  };
}

export type DirectoryUseCases = ReturnType<typeof createDirectoryUseCases>;
