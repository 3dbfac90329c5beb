import { describe, expect, it } from "vitest";
import { readRoleSecrets } from "./migrate.ts";

const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const all = { oncall_ingest: arn("i"), oncall_api: arn("a"), oncall_tasks: arn("t") };

describe("readRoleSecrets (DATABASE_ROLE_SECRETS)", () => {
  it("reads one secret ARN per role of roles.ts", () => {
    expect(readRoleSecrets(JSON.stringify(all))).toEqual(all);
  });

  it.each([
    ["unset", undefined, /is required/],
    ["not JSON", "{", /is not JSON/],
    [
      "a role missing",
      JSON.stringify({ oncall_ingest: arn("i"), oncall_api: arn("a") }),
      /exactly the roles/,
    ],
    ["an unknown role", JSON.stringify({ ...all, postgres: arn("p") }), /exactly the roles/],
    ["not an ARN", JSON.stringify({ ...all, oncall_api: "secret" }), /oncall_api: not a Secrets Manager ARN/],
  ])("refuses %s, naming the variable", (_, raw, message) => {
    expect(() => readRoleSecrets(raw)).toThrow(message);
    expect(() => readRoleSecrets(raw)).toThrow(/DATABASE_ROLE_SECRETS/);
  });
});
