/**
 * Business calendars as users save them: a name that CEL's `inBusinessHours("name")` uses, a zone,
 * weekly windows and holidays. Pure checks; the store keeps them and every change bumps the rule
 * set's version (rules and maintenance scopes that name a calendar are compiled with it).
 */
import { ValidationError } from "../errors.ts";
import type { BusinessCalendar } from "./model.ts";
import { compileCalendar } from "./time-windows.ts";

export const MAX_CALENDARS = 100;
export const MAX_CALENDAR_NAME_LENGTH = 64;
export const MAX_CALENDAR_DESCRIPTION_LENGTH = 1024;
/** Letters, digits, ".", "_" and "-": a name that reads the same in a CEL string literal. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface CalendarDraft extends BusinessCalendar {
  readonly description: string;
}

export interface StoredCalendar extends CalendarDraft {
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedBy: string;
  readonly updatedAt: Date;
}

/** Checks name, description, zone, windows and holidays (errors name `prefix` + field); holidays come back sorted, once each. */
export function checkCalendar(draft: CalendarDraft, prefix: string): CalendarDraft {
  const name = draft.name;
  if (name === "") throw new ValidationError(`${prefix}name`, "is required");
  if (name.length > MAX_CALENDAR_NAME_LENGTH) {
    throw new ValidationError(`${prefix}name`, `is longer than ${MAX_CALENDAR_NAME_LENGTH} characters`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationError(
      `${prefix}name`,
      `may hold letters, digits, ".", "_" and "-" (starting with a letter or digit), got ${JSON.stringify(name)}`,
    );
  }
  if (draft.description.length > MAX_CALENDAR_DESCRIPTION_LENGTH) {
    throw new ValidationError(
      `${prefix}description`,
      `is longer than ${MAX_CALENDAR_DESCRIPTION_LENGTH} characters`,
    );
  }
  // Zone, windows (weekdays, HH:MM) and holidays (YYYY-MM-DD), each error naming its field.
  compileCalendar(draft, prefix.replace(/\.$/, ""));
  return { ...draft, holidays: [...new Set(draft.holidays)].sort() };
}
