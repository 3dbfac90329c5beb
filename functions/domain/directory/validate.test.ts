import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { normalizeContactValue, requireEmail, requireNewUserId, requireTimeZone } from "./validate.ts";

const embedded = { allowLoopbackHttp: true };
const aws = { allowLoopbackHttp: false };

describe("directory validation", () => {
  it.each([
    ["sms", "+44 20 7946 0958", embedded, "+442079460958"],
    ["voice", "+33 6 12 34 56 78", aws, "+33612345678"],
    ["email", "ops@Example.org", aws, "ops@example.org"],
    ["webhook", "https://example.com/hook", aws, "https://example.com/hook"],
    ["webhook", "https://172.32.0.1/hook", aws, "https://172.32.0.1/hook"],
    ["webhook", "https://[2001:db8::1]/hook", aws, "https://[2001:db8::1]/hook"],
    ["webhook", "http://localhost:8081/x", embedded, "http://localhost:8081/x"],
    ["webhook", "http://[::1]:8081/x", embedded, "http://[::1]:8081/x"],
    ["teams", "29:1abcDEF_ghijk", aws, "29:1abcDEF_ghijk"],
  ] as const)("accepts %s %j", (type, value, policy, normalised) => {
    expect(normalizeContactValue(type, value, "value", policy)).toBe(normalised);
  });

  it.each([
    ["sms", "+1 555 555 5555", embedded],
    ["sms", "", embedded],
    ["email", "two@@example.com", embedded],
    ["email", "no-domain@localhost", embedded],
    ["webhook", "http://localhost:8081/x", aws],
    ["webhook", "http://10.0.0.1/x", embedded],
    ["webhook", "not a url", embedded],
    ["webhook", "https://10.1.2.3/x", aws],
    ["webhook", "https://169.254.169.254/latest/meta-data", aws],
    ["webhook", "https://[::1]/x", aws],
    ["webhook", "https://[fd00::1]/x", aws],
    ["webhook", "https://[::ffff:127.0.0.1]/x", aws],
    ["webhook", "https://localhost/x", aws],
    ["webhook", "https://192.168.1.10:8443/x", aws],
    ["slack_dm", "", embedded],
    ["teams", "ada", embedded],
  ] as const)("refuses %s %j naming the field", (type, value, policy) => {
    const error = (() => {
      try {
        normalizeContactValue(type, value, "contact.value", policy);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("contact.value");
  });

  it("checks user fields", () => {
    expect(requireTimeZone("", "tz")).toBe("UTC");
    expect(requireTimeZone("Asia/Kolkata", "tz")).toBe("Asia/Kolkata");
    expect(() => requireTimeZone("CEST+2", "tz")).toThrow(/^tz: must be an IANA time zone/);
    expect(requireEmail(" x@EXAMPLE.com", "email")).toBe("x@example.com");
    expect(requireNewUserId("demo-alice", "user_id")).toBe("demo-alice");
    expect(() => requireNewUserId("-x", "user_id")).toThrow(/^user_id:/);
    expect(() => requireNewUserId("a/b", "user_id")).toThrow(/^user_id:/);
  });
});
