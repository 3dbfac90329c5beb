import {
  BadRequestException,
  DatabaseErrorException,
  StatementTimeoutException,
} from "@aws-sdk/client-rds-data";
import { describe, expect, it } from "vitest";
import { toStatementError } from "./data-api-dialect.ts";
import { DatabaseTimeoutError, isDatabaseUnavailable, isSchemaMissing } from "./errors.ts";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });
const dataApi = (message: string) => toStatementError(new DatabaseErrorException({ message, $metadata: {} }));
const named = (name: string, message = "x") => Object.assign(new Error(message), { name });

describe("isDatabaseUnavailable", () => {
  it.each<[string, unknown]>([
    ["connection refused", pgError("ECONNREFUSED")],
    ["a host that does not resolve", pgError("ENOTFOUND")],
    ["a network that is unreachable", pgError("EHOSTUNREACH")],
    ["class 08 (connection failure)", pgError("08006")],
    ["57P01 (terminated by an administrator: the database dropped with force)", pgError("57P01")],
    ["57P03 (cannot connect now)", pgError("57P03")],
    ["57014 (our statement_timeout)", pgError("57014")],
    ["53300 (too many connections)", pgError("53300")],
    ["3D000 (the database does not exist)", pgError("3D000")],
    ["42P01 (our table is missing: recreated empty)", pgError("42P01")],
    ["pg's connect timeout", new Error("timeout exceeded when trying to connect")],
    ["a connection lost mid-statement", new Error("Connection terminated unexpectedly")],
    ["our client-side statement timeout", new DatabaseTimeoutError("statement took longer than 3500 ms")],
    ["AbortSignal.timeout()", named("TimeoutError")],
    ["wrapped in a cause", new Error("outer", { cause: pgError("3D000") })],
    ["Data API: database dropped", dataApi('ERROR: database "oncall" does not exist; SQLState: 3D000')],
    ["Data API: schema missing", dataApi('ERROR: relation "alerts" does not exist; SQLState: 42P01')],
    [
      "Data API: statement canceled",
      dataApi("ERROR: canceling statement due to statement timeout; SQLState: 57014"),
    ],
    ["Data API: cluster resuming", named("DatabaseResumingException")],
    ["Data API: cluster unavailable", named("DatabaseUnavailableException")],
    [
      "Data API: its statement timeout",
      new StatementTimeoutException({ message: "x", $metadata: {}, dbConnectionId: 1 }),
    ],
    [
      "Data API: communications link failure",
      new BadRequestException({
        message: "Communications link failure\n\nThe last packet sent...",
        $metadata: {},
      }),
    ],
  ])("%s", (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each<[string, unknown]>([
    ["a unique violation", pgError("23505")],
    ["a syntax error", pgError("42601")],
    [
      "a bad request about the statement",
      new BadRequestException({ message: "Parameter p1 is invalid", $metadata: {} }),
    ],
    ["any other error", new Error("boom")],
    ["not an error", "ECONNREFUSED"],
  ])("not %s", (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});

describe("isSchemaMissing", () => {
  it("tells a missing table from other failures, through the Data API too", () => {
    expect(isSchemaMissing(pgError("42P01"))).toBe(true);
    expect(isSchemaMissing(dataApi('ERROR: relation "alerts" does not exist; SQLState: 42P01'))).toBe(true);
    expect(isSchemaMissing(pgError("3D000"))).toBe(false);
    expect(isSchemaMissing(new Error("boom"))).toBe(false);
  });
});
