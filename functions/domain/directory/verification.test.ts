import { describe, expect, it } from "vitest";
import {
  CODE_TTL_MS,
  hashVerificationCode,
  judgeAttempt,
  newVerificationCode,
  verificationCodeMatches,
  waitBeforeResend,
} from "./verification.ts";

const now = new Date("2026-11-29T09:00:00Z");
const at = (ms: number) => new Date(now.getTime() + ms);

describe("verification codes", () => {
  it("makes 6-digit codes and salted hashes that only the code matches", () => {
    const codes = Array.from({ length: 200 }, newVerificationCode);
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(190);
    const a = hashVerificationCode("012345");
    const b = hashVerificationCode("012345");
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain("012345");
    expect(verificationCodeMatches(a, "012345")).toBe(true);
    expect(verificationCodeMatches(a, "012346")).toBe(false);
    expect(verificationCodeMatches(a, "12345")).toBe(false);
    expect(verificationCodeMatches("garbage", "012345")).toBe(false);
  });

  const stored = hashVerificationCode("424242");
  it.each([
    ["no code pending", undefined, "424242", 0, { outcome: "no_code" }],
    ["the right code", { attempts: 1 }, "424242", 0, { outcome: "verified" }],
    ["the right code on the 5th attempt", { attempts: 5 }, "424242", 0, { outcome: "verified" }],
    ["a 6th attempt, even right", { attempts: 6 }, "424242", 0, { outcome: "too_many_attempts" }],
    ["a wrong code", { attempts: 2 }, "000000", 0, { outcome: "wrong_code", attemptsLeft: 3 }],
    ["the last wrong code", { attempts: 5 }, "000000", 0, { outcome: "wrong_code", attemptsLeft: 0 }],
    [
      "the right code just before expiry",
      { attempts: 1 },
      "424242",
      CODE_TTL_MS - 1,
      { outcome: "verified" },
    ],
    ["the right code at expiry", { attempts: 1 }, "424242", CODE_TTL_MS, { outcome: "expired" }],
  ])("judges %s", (_name, pending, code, elapsed, verdict) => {
    const record = pending
      ? { codeHash: stored, expiresAt: at(CODE_TTL_MS), attempts: pending.attempts }
      : undefined;
    expect(judgeAttempt(record, code, at(elapsed))).toEqual(verdict);
  });

  it.each([
    [null, 0, 0],
    [now, 0, 60_000],
    [now, 59_000, 1_000],
    [now, 60_000, 0],
    [now, 3_600_000, 0],
  ])("waits before a resend (sent %s, %i ms later → %i ms)", (sentAt, elapsed, wait) => {
    expect(waitBeforeResend(sentAt, at(elapsed), 60_000)).toBe(wait);
  });
});
