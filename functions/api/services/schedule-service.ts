import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  createRotation,
  deleteRotation,
  getRotation,
  listRotations,
  modifyRotation,
  type RotationCursor,
  type RotationFields,
  type RotationRecord,
} from "../../adapters/db/stores/rotations.ts";
import {
  createOverride,
  createSchedule,
  deleteOverride,
  deleteSchedule,
  getSchedule,
  listOverrides,
  listSchedules,
  type OnCallContext,
  type OverrideCursor,
  type OverrideRecord,
  type ScheduleCursor,
  type ScheduleInput,
  type ScheduleRecord,
  type ScheduleWriteOutcome,
  type StoredRule,
  updateSchedule,
} from "../../adapters/db/stores/schedules.ts";
import type { AppContext } from "../../app/context.ts";
import * as onCall from "../../app/on-call.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../../domain/errors.ts";
import {
  addParticipant,
  type ShiftLength as DomainShiftLength,
  type ShiftSource as DomainShiftSource,
  type Weekday as DomainWeekday,
  MAX_RANGE_MS,
  type Override,
  type Rotation,
  removeParticipant,
  reorderParticipants,
  rotationShiftAt,
  type ShiftUnit as ShiftUnitName,
  setCurrentParticipant,
  validateOverrides,
  validateRotation,
  validateSchedule,
} from "../../domain/schedules/index.ts";
import {
  MAX_OVERLAPPING_OVERRIDES,
  MAX_PARTICIPANTS,
  MAX_RULES,
  MAX_SHIFT_COUNT,
  MAX_UPCOMING_OVERRIDES,
  overrideCapProblem,
} from "../../domain/schedules/limits.ts";
import { DEFAULT_SHIFT_PAGE_SIZE, MAX_SHIFT_PAGE_SIZE } from "../../domain/schedules/shift-pages.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../domain/services/limits.ts";
import {
  OverrideKind,
  type Rotation as RotationMessage,
  RotationSchema,
  type Schedule as ScheduleMessage,
  type ScheduleOverride,
  ScheduleOverrideSchema,
  type ScheduleRule,
  ScheduleSchema,
  type ScheduleService,
  type ShiftLength,
  ShiftLengthSchema,
  type ShiftSource,
  ShiftSourceSchema,
  ShiftUnit,
  Weekday,
} from "../../gen/oncall/v1/schedules_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  isUuid,
  optionalDate,
  optionalText,
  pageSize,
  requireDate,
  requireText,
  requireUserId,
  requireUuid,
} from "../request-validation.ts";

const rotationUpdatable = ["name", "description", "time_zone", "shift_length", "start_time"] as const;
const scheduleUpdatable = ["name", "description", "time_zone", "rules"] as const;

/**
 * oncall.v1.ScheduleService: rotations, schedules, overrides, and who is on call. The on-call
 * answers are the pure domain's (functions/domain/schedules) over what the store loads in one round
 * trip; edits to a rotation's participants are the domain's edit functions applied at `clock.now()`
 * under a row lock.
 */
export function createScheduleService(ctx: AppContext): ServiceImpl<typeof ScheduleService> {
  const db = () => ctx.database.db;
  const now = () => ctx.clock.now();

  /** Applies a participant edit at now; the domain's `index`/`userId` fields become the request's. */
  async function editRotation(
    rotationId: string,
    edit: (current: RotationRecord, at: Date) => Rotation,
    rename: Record<string, string>,
  ): Promise<{ rotation: RotationMessage }> {
    const id = requireUuid(rotationId, "rotation_id");
    const at = now();
    const record = await modifyRotation(
      db(),
      id,
      (current) => {
        const next = withFieldNames(
          () => edit(current, at),
          (f) => rename[f] ?? f,
        );
        if (next.participants.length > MAX_PARTICIPANTS) {
          throw new ValidationError(
            "participants",
            `a rotation has at most ${MAX_PARTICIPANTS} participants`,
          );
        }
        return { ...current, participants: next.participants, anchor: next.anchor };
      },
      at,
    );
    if (!record) throw new NotFoundError("rotation", id);
    return { rotation: toRotationMessage(record, at) };
  }

  return {
    async createRotation(req) {
      const fields = rotationFields(
        {
          name: req.name,
          description: req.description,
          timeZone: req.timeZone,
          shiftLength: req.shiftLength,
          startTime: req.startTime,
          participants: req.participants,
        },
        "",
      );
      const record = await createRotation(db(), { ...fields, now: now() });
      return { rotation: toRotationMessage(record, now()) };
    },

    async getRotation(req) {
      const id = requireUuid(req.id, "id");
      const record = await getRotation(db(), id);
      if (!record) throw new NotFoundError("rotation", id);
      return { rotation: toRotationMessage(record, now()) };
    },

    async listRotations(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "rotations", { search }, isNameCursor);
      const page = await listRotations(db(), { search, limit, after });
      const at = now();
      return {
        rotations: page.rotations.map((r) => toRotationMessage(r, at)),
        nextPageToken: page.next ? encodePageToken("rotations", page.next, { search }) : "",
      };
    },

    async updateRotation(req) {
      const input = req.rotation;
      if (!input) throw new ValidationError("rotation", "is required");
      const id = requireUuid(input.id, "rotation.id");
      const paths = maskPaths(req.updateMask?.paths, rotationUpdatable);
      // The request's own fields first, so that a bad value is invalid_argument even for an unknown id.
      if (paths.has("name")) requireText(input.name, "rotation.name", MAX_NAME_LENGTH);
      if (paths.has("description"))
        optionalText(input.description, "rotation.description", MAX_DESCRIPTION_LENGTH);
      if (paths.has("time_zone")) checkSchedule({ timeZone: input.timeZone, rules: [] }, "rotation.");
      if (paths.has("shift_length")) shiftLengthOf(input.shiftLength, "rotation.shift_length");
      if (paths.has("start_time")) requireDate(input.startTime, "rotation.start_time");
      const at = now();
      const record = await modifyRotation(
        db(),
        id,
        (current) => {
          const next = rotationFields(
            {
              name: paths.has("name") ? input.name : current.name,
              description: paths.has("description") ? input.description : current.description,
              timeZone: paths.has("time_zone") ? input.timeZone : current.timeZone,
              shiftLength: paths.has("shift_length")
                ? input.shiftLength
                : toShiftLengthMessage(current.shiftLength),
              startTime: paths.has("start_time") ? input.startTime : timestampFromDate(current.start),
              participants: current.participants,
            },
            "rotation.",
          );
          const gridChanged =
            next.timeZone !== current.timeZone ||
            next.shiftLength.count !== current.shiftLength.count ||
            next.shiftLength.unit !== current.shiftLength.unit ||
            next.start.getTime() !== current.start.getTime();
          return gridChanged ? regrid(current, next, at) : { ...next, anchor: current.anchor };
        },
        at,
      );
      if (!record) throw new NotFoundError("rotation", id);
      return { rotation: toRotationMessage(record, at) };
    },

    async deleteRotation(req) {
      const id = requireUuid(req.id, "id");
      const result = await deleteRotation(db(), id);
      if (result.outcome === "not_found") throw new NotFoundError("rotation", id);
      if (result.outcome === "in_use") {
        throw new PreconditionError(
          `rotation ${id} is used by ${result.usedBy.join(", ")}; remove it from them first`,
        );
      }
      return {};
    },

    addRotationParticipant(req) {
      const userId = requireUserId(req.userId, "user_id");
      return editRotation(req.rotationId, (r, at) => addParticipant(r, userId, at, req.position), {
        userId: "user_id",
      });
    },

    removeRotationParticipant(req) {
      const expected = req.userId === "" ? undefined : requireUserId(req.userId, "user_id");
      return editRotation(
        req.rotationId,
        (r, at) => {
          const there = r.participants[req.participantIndex];
          if (expected !== undefined && there !== undefined && there !== expected) {
            throw new PreconditionError(
              `participant ${req.participantIndex} is ${JSON.stringify(there)}, not ${JSON.stringify(expected)}; reload the rotation`,
            );
          }
          return removeParticipant(r, req.participantIndex, at);
        },
        { index: "participant_index", participants: "participant_index" },
      );
    },

    reorderRotationParticipants(req) {
      return editRotation(req.rotationId, (r, at) => reorderParticipants(r, req.order, at), {});
    },

    setCurrentRotationParticipant(req) {
      return editRotation(req.rotationId, (r, at) => setCurrentParticipant(r, req.participantIndex, at), {
        index: "participant_index",
      });
    },

    async createSchedule(req) {
      const input = scheduleInput(req, "");
      const result = await createSchedule(db(), { ...input, now: now() });
      return { schedule: toScheduleMessage(scheduleOf(result, "", input, "")) };
    },

    async getSchedule(req) {
      const id = requireUuid(req.id, "id");
      const record = await getSchedule(db(), id);
      if (!record) throw new NotFoundError("schedule", id);
      return { schedule: toScheduleMessage(record) };
    },

    async listSchedules(req) {
      const search = optionalText(req.search, "search", MAX_NAME_LENGTH).trim();
      const limit = pageSize(req.pageSize);
      const after = decodePageToken(req.pageToken, "schedules", { search }, isNameCursor);
      const page = await listSchedules(db(), { search, limit, after });
      return {
        schedules: page.schedules.map(toScheduleMessage),
        nextPageToken: page.next ? encodePageToken("schedules", page.next, { search }) : "",
      };
    },

    async updateSchedule(req) {
      const input = req.schedule;
      if (!input) throw new ValidationError("schedule", "is required");
      const id = requireUuid(input.id, "schedule.id");
      const paths = maskPaths(req.updateMask?.paths, scheduleUpdatable);
      const patch: Partial<ScheduleInput> = {};
      if (paths.has("name")) patch.name = requireText(input.name, "schedule.name", MAX_NAME_LENGTH);
      if (paths.has("description")) {
        patch.description = optionalText(input.description, "schedule.description", MAX_DESCRIPTION_LENGTH);
      }
      if (paths.has("rules")) patch.rules = scheduleRules(input.rules, "schedule.");
      if (paths.has("time_zone")) patch.timeZone = input.timeZone;
      if (patch.timeZone !== undefined || patch.rules !== undefined) {
        // The zone alone is checked with no rules: the stored rules were valid in any zone.
        checkSchedule({ timeZone: patch.timeZone ?? "UTC", rules: patch.rules ?? [] }, "schedule.");
      }
      const result = await updateSchedule(db(), id, patch, now());
      return { schedule: toScheduleMessage(scheduleOf(result, id, patch, "schedule.")) };
    },

    async deleteSchedule(req) {
      const id = requireUuid(req.id, "id");
      const result = await deleteSchedule(db(), id);
      if (result.outcome === "not_found") throw new NotFoundError("schedule", id);
      if (result.outcome === "in_use") {
        throw new PreconditionError(
          `schedule ${id} is used by ${result.usedBy.join(", ")}; remove it from them first`,
        );
      }
      return {};
    },

    async createOverride(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const override = overrideOf(req);
      const result = await createOverride(db(), {
        scheduleId,
        override,
        now: now(),
        caps: { overlapping: MAX_OVERLAPPING_OVERRIDES, upcoming: MAX_UPCOMING_OVERRIDES },
      });
      if (result.outcome === "not_found") throw new NotFoundError("schedule", scheduleId);
      if (result.outcome === "refused") {
        throw new ValidationError("start_time", overrideCapProblem(result) ?? "too many overrides");
      }
      return { override: toOverrideMessage(result.override) };
    },

    async listOverrides(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const from = optionalDate(req.startTime, "start_time") ?? now();
      const to = optionalDate(req.endTime, "end_time");
      if (to && to <= from) throw new ValidationError("end_time", "must be after start_time");
      const limit = pageSize(req.pageSize);
      // The default start (now) moves between pages: the token binds the explicit filters only.
      const filters = {
        scheduleId,
        start: req.startTime ? from.getTime() : null,
        end: to?.getTime() ?? null,
      };
      const after = decodePageToken(req.pageToken, "overrides", filters, isOverrideCursor);
      const page = await listOverrides(db(), { scheduleId, from, to, limit, after });
      if (!page) throw new NotFoundError("schedule", scheduleId);
      return {
        overrides: page.overrides.map(toOverrideMessage),
        nextPageToken: page.next ? encodePageToken("overrides", page.next, filters) : "",
      };
    },

    async deleteOverride(req) {
      const id = requireUuid(req.id, "id");
      if (!(await deleteOverride(db(), id))) throw new NotFoundError("override", id);
      return {};
    },

    async getOnCall(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const at = optionalDate(req.at, "at") ?? now();
      const { users, context } = await onCall.getOnCall(ctx, scheduleId, at);
      return {
        at: timestampFromDate(at),
        users: users.map((u) => ({
          userId: u.userId,
          sources: u.sources.map((s) => toSourceMessage(s, context)),
        })),
      };
    },

    async listShifts(req) {
      const scheduleId = requireUuid(req.scheduleId, "schedule_id");
      const [start, end] = queryRange(req.startTime, req.endTime, undefined);
      const pageSize = shiftPageSize(req.pageSize);
      const filters = { scheduleId, start: start.getTime(), end: end.getTime() };
      const after = decodePageToken(req.pageToken, "shifts", filters, isTimeCursor);
      const from = pageStart(after, start, end);
      const page = await onCall.listShiftsPage(ctx, { scheduleId, from, to: end, pageSize });
      return {
        shifts: page.shifts.map((s) => ({
          userId: s.userId,
          startTime: timestampFromDate(s.start),
          endTime: timestampFromDate(s.end),
          source: toSourceMessage(s.source, page.context),
        })),
        nextPageToken: page.next ? encodePageToken("shifts", { t: page.next.getTime() }, filters) : "",
      };
    },

    async listUserShifts(req) {
      const userId = requireUserId(req.userId, "user_id");
      const [start, end] = queryRange(req.startTime, req.endTime, now());
      const pageSize = shiftPageSize(req.pageSize);
      // The default start (now) moves between pages: the token binds the explicit filters only.
      const filters = { userId, start: req.startTime ? start.getTime() : null, end: end.getTime() };
      const after = decodePageToken(req.pageToken, "user_shifts", filters, isTimeCursor);
      const from = pageStart(after, start, end);
      const page = await onCall.listUserShiftsPage(ctx, { userId, from, to: end, pageSize });
      return {
        shifts: page.shifts.map((s) => ({
          scheduleId: s.context.schedule.id,
          scheduleName: s.context.schedule.name,
          userId,
          startTime: timestampFromDate(s.start),
          endTime: timestampFromDate(s.end),
          sources: s.sources.map((source) => toSourceMessage(source, s.context)),
        })),
        nextPageToken: page.next ? encodePageToken("user_shifts", { t: page.next.getTime() }, filters) : "",
      };
    },
  };
}

/** `page_size` of a shift listing: 0 means the default; above the maximum is lowered to it. */
function shiftPageSize(value: number): number {
  if (value < 0) throw new ValidationError("page_size", "must not be negative");
  return value === 0 ? DEFAULT_SHIFT_PAGE_SIZE : Math.min(value, MAX_SHIFT_PAGE_SIZE);
}

/** Where a page of shifts starts: the range's start, or the token's time (inside the range). */
function pageStart(after: { t: number } | undefined, start: Date, end: Date): Date {
  if (!after) return start;
  if (after.t <= start.getTime() || after.t >= end.getTime()) {
    throw new ValidationError(
      "page_token",
      "is not a valid page token; pass next_page_token from the previous page unchanged",
    );
  }
  return new Date(after.t);
}

function isTimeCursor(value: unknown): value is { t: number } {
  return typeof value === "object" && value !== null && Number.isSafeInteger((value as { t?: unknown }).t);
}

// ---------------------------------------------------------------------------------------------
// Requests → domain values. Field names are the proto's, in snake_case, prefixed for wrapped
// messages (`rotation.time_zone` in UpdateRotation).

/**
 * Runs `fn` and renames the field of a ValidationError it throws with `rename` (domain names such
 * as `timeZone` → proto names such as `time_zone`), keeping the message.
 */
function withFieldNames<T>(fn: () => T, rename: (field: string) => string): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const detail = err.message.startsWith(`${err.field}: `)
      ? err.message.slice(err.field.length + 2)
      : err.message;
    throw new ValidationError(rename(err.field), detail);
  }
}

const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function maskPaths<T extends string>(paths: readonly string[] | undefined, updatable: readonly T[]): Set<T> {
  if (!paths?.length) return new Set(updatable);
  paths.forEach((path, i) => {
    if (!(updatable as readonly string[]).includes(path)) {
      throw new ValidationError(
        `update_mask.paths[${i}]`,
        `cannot update "${path}"; updatable fields are ${updatable.join(", ")}`,
      );
    }
  });
  return new Set(paths as T[]);
}

const unitNames: Record<number, ShiftUnitName> = {
  [ShiftUnit.HOUR]: "hour",
  [ShiftUnit.DAY]: "day",
  [ShiftUnit.WEEK]: "week",
};
const unitValues: Record<ShiftUnitName, ShiftUnit> = {
  hour: ShiftUnit.HOUR,
  day: ShiftUnit.DAY,
  week: ShiftUnit.WEEK,
};

function shiftLengthOf(value: ShiftLength | undefined, field: string): DomainShiftLength {
  if (!value) throw new ValidationError(field, "is required");
  const unit = unitNames[value.unit];
  if (!unit)
    throw new ValidationError(`${field}.unit`, "must be SHIFT_UNIT_HOUR, SHIFT_UNIT_DAY or SHIFT_UNIT_WEEK");
  if (value.count < 1 || value.count > MAX_SHIFT_COUNT[unit]) {
    throw new ValidationError(
      `${field}.count`,
      `must be a whole number of ${unit}s from 1 to ${MAX_SHIFT_COUNT[unit]}`,
    );
  }
  return { count: value.count, unit };
}

function toShiftLengthMessage(value: DomainShiftLength): ShiftLength {
  return create(ShiftLengthSchema, { count: value.count, unit: unitValues[value.unit] });
}

/** A rotation's fields from a request, validated by the domain (field names prefixed with `prefix`). */
function rotationFields(
  input: {
    name: string;
    description: string;
    timeZone: string;
    shiftLength: ShiftLength | undefined;
    startTime: Timestamp | undefined;
    participants: readonly string[];
  },
  prefix: string,
): RotationFields {
  if (input.participants.length > MAX_PARTICIPANTS) {
    throw new ValidationError(
      `${prefix}participants`,
      `a rotation has at most ${MAX_PARTICIPANTS} participants`,
    );
  }
  const fields: RotationFields = {
    name: requireText(input.name, `${prefix}name`, MAX_NAME_LENGTH),
    description: optionalText(input.description, `${prefix}description`, MAX_DESCRIPTION_LENGTH),
    timeZone: input.timeZone,
    shiftLength: shiftLengthOf(input.shiftLength, `${prefix}shift_length`),
    start: requireDate(input.startTime, `${prefix}start_time`),
    participants: input.participants.map((p, i) => requireUserId(p, `${prefix}participants[${i}]`)),
  };
  withFieldNames(
    () => validateRotation(fields),
    (f) => prefix + (f === "start" ? "start_time" : snakeCase(f)),
  );
  return fields;
}

/**
 * The rotation after its handoff grid changed: whoever is on call at `now` stays on from `now` until
 * the new grid's next handoff, then the order continues after them. A rotation whose new start is
 * still ahead (or that had no one on call) starts over with its first participant.
 */
function regrid(current: Rotation, next: RotationFields, now: Date): RotationFields {
  const { anchor: _, ...fields } = next;
  if (now < next.start) return fields;
  const on = rotationShiftAt(current, now);
  if (!on) return fields;
  const before = now > current.start ? rotationShiftAt(current, new Date(now.getTime() - 1)) : null;
  const anchor = before
    ? { index: on.index, at: now, previousIndex: before.index }
    : { index: on.index, at: now };
  return { ...fields, anchor };
}

// Proto weekdays are ISO (Monday = 1 … Sunday = 7); the domain's are 0 = Sunday … 6 = Saturday.
const toDomainWeekday = (w: number) => (w % 7) as DomainWeekday;
const toIsoWeekday = (d: DomainWeekday): Weekday => (d === 0 ? Weekday.SUNDAY : (d as Weekday));

function scheduleRules(rules: readonly ScheduleRule[], prefix: string): StoredRule[] {
  if (rules.length > MAX_RULES) {
    throw new ValidationError(`${prefix}rules`, `a schedule has at most ${MAX_RULES} rules`);
  }
  return rules.map((rule, i): StoredRule => {
    const f = `${prefix}rules[${i}]`;
    const kind = rule.target?.kind;
    let target: StoredRule["target"];
    if (kind?.case === "userId")
      target = { kind: "user", userId: requireUserId(kind.value, `${f}.target.user_id`) };
    else if (kind?.case === "rotationId") {
      target = { kind: "rotation", rotationId: requireUuid(kind.value, `${f}.target.rotation_id`) };
    } else throw new ValidationError(`${f}.target`, "choose user_id or rotation_id");
    const days = new Set<DomainWeekday>();
    rule.weekdays.forEach((w, j) => {
      if (!Number.isInteger(w) || w < Weekday.MONDAY || w > Weekday.SUNDAY) {
        throw new ValidationError(
          `${f}.weekdays[${j}]`,
          "must be a weekday, WEEKDAY_MONDAY … WEEKDAY_SUNDAY",
        );
      }
      days.add(toDomainWeekday(w));
    });
    return { target, weekdays: [...days].sort((a, b) => a - b), start: rule.start, end: rule.end };
  });
}

function checkSchedule(schedule: { timeZone: string; rules: readonly StoredRule[] }, prefix: string): void {
  withFieldNames(
    () => validateSchedule(schedule),
    (f) => prefix + snakeCase(f),
  );
}

function scheduleInput(
  req: { name: string; description: string; timeZone: string; rules: readonly ScheduleRule[] },
  prefix: string,
): ScheduleInput {
  const input: ScheduleInput = {
    name: requireText(req.name, `${prefix}name`, MAX_NAME_LENGTH),
    description: optionalText(req.description, `${prefix}description`, MAX_DESCRIPTION_LENGTH),
    timeZone: req.timeZone,
    rules: scheduleRules(req.rules, prefix),
  };
  checkSchedule(input, prefix);
  return input;
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

const overrideKindNames: Record<number, Override["kind"]> = {
  [OverrideKind.ADD]: "add",
  [OverrideKind.REMOVE]: "remove",
  [OverrideKind.REPLACE]: "replace",
};
const overrideKindValues: Record<Override["kind"], OverrideKind> = {
  add: OverrideKind.ADD,
  remove: OverrideKind.REMOVE,
  replace: OverrideKind.REPLACE,
};

function overrideOf(req: {
  kind: OverrideKind;
  userId: string;
  replacesUserId: string;
  startTime?: Timestamp | undefined;
  endTime?: Timestamp | undefined;
}): Override {
  const kind = overrideKindNames[req.kind];
  if (!kind)
    throw new ValidationError(
      "kind",
      "must be OVERRIDE_KIND_ADD, OVERRIDE_KIND_REMOVE or OVERRIDE_KIND_REPLACE",
    );
  const userId = requireUserId(req.userId, "user_id");
  const start = requireDate(req.startTime, "start_time");
  const end = requireDate(req.endTime, "end_time");
  if (end <= start) throw new ValidationError("end_time", "must be after start_time");
  let override: Override;
  if (kind === "replace") {
    const replacesUserId = requireUserId(req.replacesUserId, "replaces_user_id");
    override = { kind, userId, replacesUserId, start, end };
  } else {
    if (req.replacesUserId !== "") {
      throw new ValidationError("replaces_user_id", "is only for OVERRIDE_KIND_REPLACE; leave it empty");
    }
    override = { kind, userId, start, end };
  }
  withFieldNames(
    () => validateOverrides([override]),
    (f) => snakeCase(f.replace(/^overrides\[0\]\./, "")).replace(/^(start|end)$/, "$1_time"),
  );
  return override;
}

/** `[start, end)` of a listing: end after start, at most 366 days; `start` defaults to `defaultStart`. */
function queryRange(
  startTime: Timestamp | undefined,
  endTime: Timestamp | undefined,
  defaultStart: Date | undefined,
): [Date, Date] {
  const start = defaultStart
    ? (optionalDate(startTime, "start_time") ?? defaultStart)
    : requireDate(startTime, "start_time");
  const end = requireDate(endTime, "end_time");
  if (end <= start) throw new ValidationError("end_time", "must be after start_time");
  if (end.getTime() - start.getTime() > MAX_RANGE_MS) {
    throw new ValidationError("end_time", "the range may cover at most 366 days");
  }
  return [start, end];
}

function isNameCursor(value: unknown): value is RotationCursor & ScheduleCursor {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.id === "string" &&
    isUuid(v.id)
  );
}

function isOverrideCursor(value: unknown): value is OverrideCursor {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    Number.isSafeInteger(v.startMs) &&
    typeof v.id === "string" &&
    isUuid(v.id)
  );
}

// ---------------------------------------------------------------------------------------------
// Domain values → messages

export function toRotationMessage(record: RotationRecord, now: Date): RotationMessage {
  const current = rotationShiftAt(record, now);
  return create(RotationSchema, {
    id: record.id,
    name: record.name,
    description: record.description,
    timeZone: record.timeZone,
    shiftLength: toShiftLengthMessage(record.shiftLength),
    startTime: timestampFromDate(record.start),
    participants: [...record.participants],
    currentShift: current
      ? {
          participantIndex: current.index,
          userId: current.userId,
          startTime: timestampFromDate(current.start),
          endTime: timestampFromDate(current.end),
        }
      : undefined,
    createTime: timestampFromDate(record.createdAt),
    updateTime: timestampFromDate(record.updatedAt),
  });
}

export function toScheduleMessage(record: ScheduleRecord): ScheduleMessage {
  return create(ScheduleSchema, {
    id: record.id,
    name: record.name,
    description: record.description,
    timeZone: record.timeZone,
    rules: record.rules.map((r) => ({
      target: {
        kind:
          r.target.kind === "user"
            ? { case: "userId" as const, value: r.target.userId }
            : { case: "rotationId" as const, value: r.target.rotationId },
      },
      weekdays: r.weekdays.map(toIsoWeekday).sort((a, b) => a - b),
      start: r.start,
      end: r.end,
    })),
    createTime: timestampFromDate(record.createdAt),
    updateTime: timestampFromDate(record.updatedAt),
  });
}

export function toOverrideMessage(record: OverrideRecord): ScheduleOverride {
  return create(ScheduleOverrideSchema, {
    id: record.id,
    scheduleId: record.scheduleId,
    kind: overrideKindValues[record.kind],
    userId: record.userId,
    replacesUserId: record.kind === "replace" ? record.replacesUserId : "",
    startTime: timestampFromDate(record.start),
    endTime: timestampFromDate(record.end),
    createTime: timestampFromDate(record.createdAt),
  });
}

/** Why someone is on call, with rule positions and override ids as the API names them. */
function toSourceMessage(source: DomainShiftSource, context: OnCallContext): ShiftSource {
  if (source.kind === "rule") {
    const target = context.schedule.rules[source.ruleIndex]?.target;
    return create(ShiftSourceSchema, {
      kind: {
        case: "rule",
        value: {
          ruleIndex: source.ruleIndex,
          rotationId: target?.kind === "rotation" ? target.rotationId : "",
        },
      },
    });
  }
  return create(ShiftSourceSchema, {
    kind: {
      case: "override",
      value: {
        overrideId: context.overrides[source.overrideIndex]?.id ?? "",
        kind: overrideKindValues[source.overrideKind],
        replacesUserId: source.overrideKind === "replace" ? source.replacesUserId : "",
      },
    },
  });
}
