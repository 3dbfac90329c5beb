import type { ShiftUnit } from "./rotation.ts";

// What rotations, schedules and overrides may hold, so that every on-call answer and every
// escalation step stays bounded.

/** Participants in one rotation. */
export const MAX_PARTICIPANTS = 100;
/** Rules in one schedule. */
export const MAX_RULES = 50;
/** Longest shift per unit: about a year. */
export const MAX_SHIFT_COUNT: Readonly<Record<ShiftUnit, number>> = { hour: 366 * 24, day: 366, week: 52 };
/**
 * Overrides of one schedule that may overlap any one override's time range: each can put someone
 * more on call, and a step paging the schedule pages them all.
 */
export const MAX_OVERLAPPING_OVERRIDES = 50;
/** Overrides of one schedule that have not ended yet. */
export const MAX_UPCOMING_OVERRIDES = 1000;

/** Why an override is refused for the counts already on its schedule, or undefined when it fits. */
export function overrideCapProblem(counts: { overlapping: number; upcoming: number }): string | undefined {
  if (counts.overlapping >= MAX_OVERLAPPING_OVERRIDES) {
    return `the schedule already has ${counts.overlapping} overrides overlapping this range; at most ${MAX_OVERLAPPING_OVERRIDES} may overlap`;
  }
  if (counts.upcoming >= MAX_UPCOMING_OVERRIDES) {
    return `the schedule already has ${counts.upcoming} overrides that have not ended; at most ${MAX_UPCOMING_OVERRIDES}`;
  }
  return undefined;
}
