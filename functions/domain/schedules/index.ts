/**
 * Schedules domain: rotations, schedules with rules, overrides, and who is on call.
 * Pure: every function takes the time it needs as an argument. Semantics (DST, override order,
 * rotation edits) are documented in rotation.ts, schedule.ts and zone.ts.
 */

export type { OnCallUser, Shift, ShiftSource, UserShift } from "./on-call.ts";
/** Who is on call now, the shifts over a range, and one user's upcoming shifts. */
export { listShifts, onCallAt, upcomingShiftsForUser } from "./on-call.ts";
export type { Rotation, RotationAnchor, RotationShift, ShiftLength, ShiftUnit } from "./rotation.ts";
/** Listings over a range cover at most this many milliseconds (366 days). */
/** Rotation queries and edits that keep the handoff grid and everyone's place in the order. */
export {
  addParticipant,
  MAX_RANGE_MS,
  moveParticipant,
  removeParticipant,
  reorderParticipants,
  rotationShiftAt,
  rotationShifts,
  setCurrentParticipant,
  validateRotation,
} from "./rotation.ts";
export type {
  AddOverride,
  Override,
  RemoveOverride,
  ReplaceOverride,
  RuleTarget,
  Schedule,
  ScheduleRule,
  Weekday,
  WeekdayName,
} from "./schedule.ts";
/** Input validation for writes: throws ValidationError naming the field. */
export { validateOverrides, validateSchedule } from "./schedule.ts";
