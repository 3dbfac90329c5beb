import { describe, expect, it } from "vitest";
import type { ValidationError } from "../errors.ts";
import {
  DEFAULT_KEY_ROTATION_OVERLAP_SECONDS,
  keyRateLimit,
  MAX_KEY_ROTATION_OVERLAP_SECONDS,
  MAX_RATE_LIMIT_PER_MINUTE,
  rotationOverlapSeconds,
} from "./limits.ts";

describe("keyRateLimit", () => {
  it.each([
    [0, null],
    [1, 1],
    [MAX_RATE_LIMIT_PER_MINUTE, MAX_RATE_LIMIT_PER_MINUTE],
  ])("%d → %s", (value, expected) => {
    expect(keyRateLimit(value, "rate_limit_per_minute")).toBe(expected);
  });

  it.each([-1, MAX_RATE_LIMIT_PER_MINUTE + 1])("refuses %d naming the field", (value) => {
    expect(() => keyRateLimit(value, "rate_limit_per_minute")).toThrow(
      expect.objectContaining({ field: "rate_limit_per_minute" }) as ValidationError,
    );
  });
});

describe("rotationOverlapSeconds", () => {
  it.each([
    [undefined, DEFAULT_KEY_ROTATION_OVERLAP_SECONDS],
    [0, 0],
    [3600, 3600],
    [MAX_KEY_ROTATION_OVERLAP_SECONDS, MAX_KEY_ROTATION_OVERLAP_SECONDS],
  ])("%s → %d", (value, expected) => {
    expect(rotationOverlapSeconds(value, "overlap_seconds")).toBe(expected);
  });

  it.each([-1, MAX_KEY_ROTATION_OVERLAP_SECONDS + 1])("refuses %d naming the field", (value) => {
    expect(() => rotationOverlapSeconds(value, "overlap_seconds")).toThrow(
      expect.objectContaining({ field: "overlap_seconds" }) as ValidationError,
    );
  });
});
