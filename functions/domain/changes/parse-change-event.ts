import type { AlertLink } from "../alerts/alert-input.ts";
import { MAX_DETAILS_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_SUMMARY_LENGTH } from "../alerts/limits.ts";
import { pagerDutyLinks } from "../alerts/parse-pagerduty.ts";
import {
  assertJsonLimits,
  BODY,
  optionalString,
  optionalTimestamp,
  requireRecord,
  requireString,
} from "../alerts/validate.ts";
import { ValidationError } from "../errors.ts";

/** A change on a service (a deploy, a config change): recorded on its timeline, pages nobody. */
export interface ChangeEvent {
  summary: string;
  source: string | undefined;
  /** `payload.timestamp`, else when we received it. */
  happenedAt: Date;
  customDetails: unknown;
  links: AlertLink[];
}

/**
 * Parses a PagerDuty Change Events API body (`POST /v2/change/enqueue`), validated as PagerDuty
 * does: `routing_key` and `payload.summary` (at most 1,024 characters) are required;
 * `payload.timestamp`, `payload.source`, `payload.custom_details` and `links` (`href` required,
 * `text`) are optional.
 *
 * @example parseChangeEvent({ routing_key, payload: { summary: "Deployed v42" } }, now).summary
 * @throws ValidationError naming the field (`payload.summary`, `links[0].href`...).
 */
export function parseChangeEvent(body: unknown, now: Date): ChangeEvent {
  assertJsonLimits(body);
  const root = requireRecord(body, BODY);
  const payload = requireRecord(root.payload, "payload");
  const summary = requireString(payload.summary, "payload.summary", MAX_SUMMARY_LENGTH);
  if (!summary.trim()) throw new ValidationError("payload.summary", "must not be empty");
  const source =
    optionalString(payload.source, "payload.source", MAX_LABEL_VALUE_LENGTH)?.trim() || undefined;
  const happenedAt = optionalTimestamp(payload.timestamp, "payload.timestamp") ?? now;
  const customDetails = payload.custom_details ?? null;
  if (customDetails !== null && JSON.stringify(customDetails).length > MAX_DETAILS_LENGTH) {
    throw new ValidationError("payload.custom_details", `exceeds ${MAX_DETAILS_LENGTH} characters as JSON`);
  }
  return { summary, source, happenedAt, customDetails, links: pagerDutyLinks(root.links) };
}
