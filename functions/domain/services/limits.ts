import { ValidationError } from "../errors.ts";

// Limits of services and keys, in one place for the RPC layer and the use cases.

/** Length of a name (service, key, rotation, schedule, policy). */
export const MAX_NAME_LENGTH = 200;
/** Length of a description (markdown). */
export const MAX_DESCRIPTION_LENGTH = 4096;
/** Requests per minute a key may be given; far above any sane sender, well inside int32. */
export const MAX_RATE_LIMIT_PER_MINUTE = 1_000_000;
/** How long a rotated key's old secret keeps working unless the caller says otherwise: a day. */
export const DEFAULT_KEY_ROTATION_OVERLAP_SECONDS = 24 * 3600;
/** The longest overlap a rotation may ask for: a week. */
export const MAX_KEY_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600;

/** A key's own rate limit: null (the deployment default) for 0, else 1…MAX_RATE_LIMIT_PER_MINUTE. */
export function keyRateLimit(value: number, field: string): number | null {
  if (value === 0) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_RATE_LIMIT_PER_MINUTE) {
    throw new ValidationError(
      field,
      `must be between 1 and ${MAX_RATE_LIMIT_PER_MINUTE}, or 0 for the default`,
    );
  }
  return value;
}

/** Seconds a rotated secret keeps working: the default when unset, 0 (at once) up to a week. */
export function rotationOverlapSeconds(value: number | undefined, field: string): number {
  if (value === undefined) return DEFAULT_KEY_ROTATION_OVERLAP_SECONDS;
  if (!Number.isInteger(value) || value < 0 || value > MAX_KEY_ROTATION_OVERLAP_SECONDS) {
    throw new ValidationError(
      field,
      `must be from 0 (the old secret stops at once) to ${MAX_KEY_ROTATION_OVERLAP_SECONDS} seconds (7 days)`,
    );
  }
  return value;
}
