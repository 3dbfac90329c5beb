import type { RotationCursor, RotationFields, RotationRecord } from "../adapters/db/stores/rotations.ts";
import * as rotations from "../adapters/db/stores/rotations.ts";
import type {
  OverrideCursor,
  OverrideRecord,
  ScheduleCursor,
  ScheduleInput,
  ScheduleRecord,
  ScheduleWriteOutcome,
} from "../adapters/db/stores/schedules.ts";
import * as schedules from "../adapters/db/stores/schedules.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import type { Override, Rotation } from "../domain/schedules/index.ts";
import {
  MAX_OVERLAPPING_OVERRIDES,
  MAX_PARTICIPANTS,
  MAX_UPCOMING_OVERRIDES,
  overrideCapProblem,
} from "../domain/schedules/limits.ts";
import { changeRotation } from "../domain/schedules/regrid.ts";
import type { AppContext } from "./context.ts";

export type { RotationCursor, RotationFields, RotationRecord } from "../adapters/db/stores/rotations.ts";
export type {
  OnCallContext,
  OverrideCursor,
  OverrideRecord,
  ScheduleCursor,
  ScheduleInput,
  ScheduleRecord,
  StoredRule,
} from "../adapters/db/stores/schedules.ts";

// Use cases of rotations, schedules and overrides. Inputs are checked field by field by the RPC
// layer; edits of a rotation run the domain's edit functions at `clock.now()` under a row lock.
// `prefix` is where the request keeps the fields (`schedule.` in UpdateSchedule), so that an
// outcome naming a field names the request's own.

export type SchedulesDeps = Pick<AppContext, "database" | "clock">;

// Rotations ------------------------------------------------------------------------------------

export function createRotation(deps: SchedulesDeps, fields: RotationFields): Promise<RotationRecord> {
  return rotations.createRotation(deps.database.db, { ...fields, now: deps.clock.now() });
}

export async function getRotation(deps: SchedulesDeps, id: string): Promise<RotationRecord> {
  const record = await rotations.getRotation(deps.database.db, id);
  if (!record) throw new NotFoundError("rotation", id);
  return record;
}

export function listRotations(
  deps: SchedulesDeps,
  input: { search: string; limit: number; after?: RotationCursor | undefined },
) {
  return rotations.listRotations(deps.database.db, input);
}

/**
 * Changes a rotation's settings: `change` builds the new fields from the current ones (checking
 * them); a new handoff grid keeps whoever is on call now on call (domain/schedules/regrid.ts).
 */
export async function updateRotation(
  deps: SchedulesDeps,
  id: string,
  change: (current: RotationRecord) => RotationFields,
): Promise<{ rotation: RotationRecord; at: Date }> {
  const at = deps.clock.now();
  const record = await rotations.modifyRotation(
    deps.database.db,
    id,
    (current) => changeRotation(current, change(current), at),
    at,
  );
  if (!record) throw new NotFoundError("rotation", id);
  return { rotation: record, at };
}

/** Applies a participant edit (a domain edit function) at now, under the rotation's row lock. */
export async function editRotationParticipants(
  deps: SchedulesDeps,
  id: string,
  edit: (current: RotationRecord, at: Date) => Rotation,
): Promise<{ rotation: RotationRecord; at: Date }> {
  const at = deps.clock.now();
  const record = await rotations.modifyRotation(
    deps.database.db,
    id,
    (current) => {
      const next = edit(current, at);
      if (next.participants.length > MAX_PARTICIPANTS) {
        throw new ValidationError("participants", `a rotation has at most ${MAX_PARTICIPANTS} participants`);
      }
      return { ...current, participants: next.participants, anchor: next.anchor };
    },
    at,
  );
  if (!record) throw new NotFoundError("rotation", id);
  return { rotation: record, at };
}

export async function deleteRotation(deps: SchedulesDeps, id: string): Promise<void> {
  const result = await rotations.deleteRotation(deps.database.db, id);
  if (result.outcome === "not_found") throw new NotFoundError("rotation", id);
  if (result.outcome === "in_use") {
    throw new PreconditionError(
      `rotation ${id} is used by ${result.usedBy.join(", ")}; remove it from them first`,
    );
  }
}

// Schedules ------------------------------------------------------------------------------------

export async function createSchedule(deps: SchedulesDeps, input: ScheduleInput): Promise<ScheduleRecord> {
  const result = await schedules.createSchedule(deps.database.db, { ...input, now: deps.clock.now() });
  return scheduleOf(result, "", input, "");
}

export async function getSchedule(deps: SchedulesDeps, id: string): Promise<ScheduleRecord> {
  const record = await schedules.getSchedule(deps.database.db, id);
  if (!record) throw new NotFoundError("schedule", id);
  return record;
}

export function listSchedules(
  deps: SchedulesDeps,
  input: { search: string; limit: number; after?: ScheduleCursor | undefined },
) {
  return schedules.listSchedules(deps.database.db, input);
}

export async function updateSchedule(
  deps: SchedulesDeps,
  id: string,
  patch: Partial<ScheduleInput>,
): Promise<ScheduleRecord> {
  const result = await schedules.updateSchedule(deps.database.db, id, patch, deps.clock.now());
  return scheduleOf(result, id, patch, "schedule.");
}

export async function deleteSchedule(deps: SchedulesDeps, id: string): Promise<void> {
  const result = await schedules.deleteSchedule(deps.database.db, id);
  if (result.outcome === "not_found") throw new NotFoundError("schedule", id);
  if (result.outcome === "in_use") {
    throw new PreconditionError(
      `schedule ${id} is used by ${result.usedBy.join(", ")}; remove it from them first`,
    );
  }
}

/** The written schedule, or the error its outcome means. */
function scheduleOf(
  result: ScheduleWriteOutcome,
  id: string,
  input: Partial<ScheduleInput>,
  prefix: string,
): ScheduleRecord {
  if (result.outcome === "not_found") throw new NotFoundError("schedule", id);
  if (result.outcome === "missing_rotation") {
    const target = input.rules?.[result.ruleIndex]?.target;
    const rotationId = target?.kind === "rotation" ? target.rotationId : "";
    throw new ValidationError(
      `${prefix}rules[${result.ruleIndex}].target.rotation_id`,
      `rotation ${rotationId} does not exist`,
    );
  }
  return result.schedule;
}

// Overrides ------------------------------------------------------------------------------------

/**
 * Adds an override unless its schedule already holds as many as the caps allow
 * (domain/schedules/limits.ts): refused with the reason, on `start_time` (the range it asks for).
 */
export async function createOverride(
  deps: SchedulesDeps,
  scheduleId: string,
  override: Override,
): Promise<OverrideRecord> {
  const result = await schedules.createOverride(deps.database.db, {
    scheduleId,
    override,
    now: deps.clock.now(),
    caps: { overlapping: MAX_OVERLAPPING_OVERRIDES, upcoming: MAX_UPCOMING_OVERRIDES },
  });
  if (result.outcome === "not_found") throw new NotFoundError("schedule", scheduleId);
  if (result.outcome === "refused") {
    throw new ValidationError(
      "start_time",
      overrideCapProblem(result) ?? "too many overrides on this schedule",
    );
  }
  return result.override;
}

export async function listOverrides(
  deps: SchedulesDeps,
  input: {
    scheduleId: string;
    from: Date;
    to?: Date | undefined;
    limit: number;
    after?: OverrideCursor | undefined;
  },
): Promise<{ overrides: OverrideRecord[]; next: OverrideCursor | undefined }> {
  const page = await schedules.listOverrides(deps.database.db, input);
  if (!page) throw new NotFoundError("schedule", input.scheduleId);
  return page;
}

export async function deleteOverride(deps: SchedulesDeps, id: string): Promise<void> {
  if (!(await schedules.deleteOverride(deps.database.db, id))) throw new NotFoundError("override", id);
}
