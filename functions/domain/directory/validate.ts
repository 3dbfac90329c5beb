import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { IANAZone } from "luxon";
import { ValidationError } from "../errors.ts";
import type { ContactMethodType } from "./model.ts";
import { requireWebhookUrl, type UrlPolicy } from "./urls.ts";

export { requireWebhookUrl, type UrlPolicy } from "./urls.ts";

// What a directory accepts: user fields and contact method values by type, each refused with a
// ValidationError naming the field. Values come out normalised (E.164 numbers, trimmed emails), so
// the same number written two ways is one contact method.

export const MAX_USER_ID_LENGTH = 200;
export const MAX_USER_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_CONTACT_NAME_LENGTH = 200;
export const MAX_CONTACT_VALUE_LENGTH = 2000;
/** Contact methods one person may have: keeps a user's list (read on every page) bounded. */
export const MAX_CONTACT_METHODS_PER_USER = 20;

/** Ids an operator may choose for a new user (kneutral-api's are uuids; the demo's "demo-alice"). */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
/** Deliberately loose (RFC 5322 is not what people type): one @, a dot in the domain, no spaces. */
const EMAIL = /^[^\s@"<>(),;:\\[\]]+@[^\s@"<>(),;:\\[\]]+\.[^\s@"<>(),;:\\[\]]+$/;
/** Slack member ids: U… or W… then upper-case letters and digits. */
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,30}$/;
/** Teams: an Entra ID object id (uuid) or a Bot Framework id ("29:…"). */
const TEAMS_USER_ID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+:[A-Za-z0-9_-]{4,200})$/i;

export function requireNewUserId(value: string, field: string): string {
  if (value.length > MAX_USER_ID_LENGTH || !USER_ID.test(value)) {
    throw new ValidationError(
      field,
      `must be letters, digits, '.', '_', '@' or '-' (at most ${MAX_USER_ID_LENGTH}, starting with a letter or digit)`,
    );
  }
  return value;
}

export function requireEmail(value: string, field: string): string {
  const email = value.trim();
  if (!email) throw new ValidationError(field, "is required");
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) {
    throw new ValidationError(field, `must be an email address such as ada@example.com, got ${quote(email)}`);
  }
  // The domain part is case-insensitive; the local part is the mailbox's business.
  const at = email.lastIndexOf("@");
  return `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
}

/** An IANA zone name ("Europe/Berlin"); empty means UTC. */
export function requireTimeZone(value: string, field: string): string {
  const zone = value.trim();
  if (zone === "") return "UTC";
  if (zone.length > 64 || !IANAZone.isValidZone(zone)) {
    throw new ValidationError(field, `must be an IANA time zone such as Europe/Berlin, got ${quote(zone)}`);
  }
  return zone;
}

/** A Slack member id or empty. */
export function optionalSlackUserId(value: string, field: string): string {
  const id = value.trim();
  if (id !== "" && !SLACK_USER_ID.test(id)) {
    throw new ValidationError(field, `must be a Slack member id such as U024BE7LH, got ${quote(id)}`);
  }
  return id;
}

/** A Teams (Entra ID) user id or empty. */
export function optionalTeamsUserId(value: string, field: string): string {
  const id = value.trim();
  if (id !== "" && !TEAMS_USER_ID.test(id)) {
    throw new ValidationError(
      field,
      `must be an Entra ID object id (a uuid) or a Teams id "29:…", got ${quote(id)}`,
    );
  }
  return id;
}

/** A phone number with its country code, normalised to E.164 ("+49 151 2345-6789" → "+4915123456789"). */
export function requirePhoneNumber(value: string, field: string): string {
  const text = value.trim();
  if (!text) throw new ValidationError(field, "is required");
  if (!text.startsWith("+") && !text.startsWith("00")) {
    throw new ValidationError(field, `must start with its country code (+49…, +1…), got ${quote(text)}`);
  }
  const phone = parsePhoneNumberFromString(text.startsWith("00") ? `+${text.slice(2)}` : text);
  if (!phone?.isValid()) {
    throw new ValidationError(field, `is not a valid phone number: ${quote(text)}`);
  }
  return phone.number;
}

/**
 * A contact method's value for its type, normalised.
 *
 * @example normalizeContactValue("sms", "+1 (202) 555-0143", "value", { allowLoopbackHttp: false }) // "+12025550143"
 */
export function normalizeContactValue(
  type: ContactMethodType,
  value: string,
  field: string,
  urls: UrlPolicy,
): string {
  if (value.length > MAX_CONTACT_VALUE_LENGTH) {
    throw new ValidationError(
      field,
      `is ${value.length} characters long; at most ${MAX_CONTACT_VALUE_LENGTH} are allowed`,
    );
  }
  switch (type) {
    case "email":
      return requireEmail(value, field);
    case "sms":
    case "voice":
      return requirePhoneNumber(value, field);
    case "slack_dm": {
      const id = optionalSlackUserId(value, field);
      if (!id) throw new ValidationError(field, "is required: the Slack member id (U…)");
      return id;
    }
    case "teams": {
      const id = optionalTeamsUserId(value, field);
      if (!id) throw new ValidationError(field, "is required: the Teams user id");
      return id;
    }
    case "webhook":
      return requireWebhookUrl(value, field, urls);
  }
}

function quote(text: string): string {
  return JSON.stringify(text.slice(0, 64));
}
