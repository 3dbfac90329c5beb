import { createHash } from "node:crypto";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { assertJsonLimits, checkLength, isRecord } from "../domain/alerts/validate.ts";
import { UnauthenticatedError, ValidationError } from "../domain/errors.ts";
import { type Principal, principalKey } from "./auth.ts";

/**
 * Request helpers shared by the oncall.v1 service implementations. Every failure is a
 * ValidationError naming the proto field in snake_case, e.g. `service_ids[2]`.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A uuid, checked before it reaches Postgres (which would answer a malformed one with an error
 * that is not the caller's field).
 */
export function requireUuid(value: string, field: string): string {
  if (value === "") throw new ValidationError(field, "is required");
  if (!isUuid(value))
    throw new ValidationError(field, `must be a uuid, got ${JSON.stringify(value.slice(0, 64))}`);
  return value.toLowerCase();
}

/** A uuid or null when empty. */
export function optionalUuid(value: string, field: string): string | null {
  return value === "" ? null : requireUuid(value, field);
}

/** A positive int64 id that a JS number holds exactly (ids come from `bigint generated always as identity`). */
export function requireId(value: bigint, field: string): number {
  if (value === 0n) throw new ValidationError(field, "is required");
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValidationError(field, `must be a positive id, got ${value}`);
  }
  return Number(value);
}

/** Trimmed, non-blank text of at most `maxLength` characters that Postgres can store. */
export function requireText(
  value: string,
  field: string,
  maxLength: number,
  missing = "is required",
): string {
  const text = value.trim();
  if (!text) throw new ValidationError(field, missing);
  return optionalText(text, field, maxLength);
}

/** Text of at most `maxLength` characters (may be empty), without NULs or lone surrogates. */
export function optionalText(value: string, field: string, maxLength: number): string {
  checkLength(value, field, maxLength);
  assertJsonLimits(value, field);
  return value;
}

/** A timestamp field as a Date, or undefined when unset. Years outside 1–9999 are refused. */
export function optionalDate(value: Timestamp | undefined, field: string): Date | undefined {
  if (!value) return undefined;
  const date = timestampDate(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new ValidationError(field, "must be a timestamp between years 1 and 9999");
  }
  return date;
}

/** Longest id accepted for a user or a channel (kneutral-api ids are far shorter). */
export const MAX_REF_LENGTH = 200;

/** A kneutral-api user id as given: non-empty, no whitespace or control characters, bounded. */
export function requireUserId(value: string, field: string): string {
  return requireRef(value, field, "user");
}

/** An opaque id (user, channel): non-empty, no whitespace or control characters, at most MAX_REF_LENGTH. */
export function requireRef(value: string, field: string, what: string): string {
  if (value === "") throw new ValidationError(field, "is required");
  if (value.length > MAX_REF_LENGTH || /[\s\p{Cc}]/u.test(value) || !value.isWellFormed()) {
    throw new ValidationError(
      field,
      `must be a ${what} id (at most ${MAX_REF_LENGTH} characters, no spaces)`,
    );
  }
  return value;
}

/** A required timestamp (years 1–9999). */
export function requireDate(value: Timestamp | undefined, field: string): Date {
  const date = optionalDate(value, field);
  if (!date) throw new ValidationError(field, "is required");
  return date;
}

export function optionalTimestamp(date: Date | null): Timestamp | undefined {
  return date ? timestampFromDate(date) : undefined;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** `page_size`: 0 means the default (50); above the maximum (500) is lowered to it, as AIP-158 asks. */
export function pageSize(value: number, field = "page_size"): number {
  if (value < 0) throw new ValidationError(field, "must not be negative");
  if (value === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(value, MAX_PAGE_SIZE);
}

const MAX_PAGE_TOKEN_LENGTH = 2048;

/**
 * An opaque page token: base64url of `{k: list, c: cursor, f: digest of the filters}`. The digest
 * binds the token to the filters it was issued for, so changing filters mid-way is an error rather
 * than a silently wrong page. Tokens are not secret: they only say where a list the caller may read
 * stopped.
 */
export function encodePageToken(list: string, cursor: unknown, filters: unknown): string {
  return Buffer.from(JSON.stringify({ k: list, c: cursor, f: filtersDigest(filters) }), "utf8").toString(
    "base64url",
  );
}

/**
 * The cursor in `token`, or undefined for an empty token (the first page).
 *
 * @throws ValidationError naming `page_token` when the token is not one this list issued, or was
 *   issued for other filters.
 */
export function decodePageToken<T>(
  token: string,
  list: string,
  filters: unknown,
  isCursor: (value: unknown) => value is T,
): T | undefined {
  if (token === "") return undefined;
  const invalid = () =>
    new ValidationError(
      "page_token",
      "is not a valid page token; pass next_page_token from the previous page unchanged",
    );
  if (token.length > MAX_PAGE_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!isRecord(parsed) || parsed.k !== list || !isCursor(parsed.c)) throw invalid();
  if (parsed.f !== filtersDigest(filters)) {
    throw new ValidationError(
      "page_token",
      "was issued for other filters; keep the filters unchanged while paging",
    );
  }
  return parsed.c;
}

/** A cursor of a list by name (services, rotations, schedules, policies): `{name, id}`. */
export function isNameCursor(value: unknown): value is { name: string; id: string } {
  return (
    isRecord(value) && typeof value.name === "string" && typeof value.id === "string" && isUuid(value.id)
  );
}

/** Callers build `filters` with a fixed key order (and sorted lists), so equal filters hash equal. */
function filtersDigest(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

/** The principal the auth interceptor put on the context; what state changes record as their actor. */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("no authenticated principal");
  return principal;
}
