import { ValidationError } from "../errors.ts";

/** The longest delay a rule may have: a day (GoAlert caps at 9000 minutes; a page a day late is no page). */
export const MAX_RULE_DELAY_MINUTES = 1440;
/** Rules one user may have (bounds a planning step and a page of ListNotificationRules). */
export const MAX_RULES_PER_USER = 50;

/** A rule's delay, checked: a whole number of minutes from 0 to a day. */
export function checkDelayMinutes(value: number, field = "delay_minutes"): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError(field, "must be a whole number of minutes, 0 or more");
  }
  if (value > MAX_RULE_DELAY_MINUTES) {
    throw new ValidationError(field, `must be at most ${MAX_RULE_DELAY_MINUTES} (a day)`);
  }
  return value;
}
