import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  OnCallContext,
  OverrideCursor,
  OverrideRecord,
  RotationFields,
  RotationRecord,
  ScheduleInput,
  ScheduleRecord,
  StoredRule,
} from "../../../app/schedules.ts";
import { ValidationError } from "../../../domain/errors.ts";
import {
  type ShiftLength as DomainShiftLength,
  type ShiftSource as DomainShiftSource,
  type Weekday as DomainWeekday,
  MAX_RANGE_MS,
  type Override,
  rotationShiftAt,
  type ShiftUnit as ShiftUnitName,
  validateOverrides,
  validateRotation,
  validateSchedule,
} from "../../../domain/schedules/index.ts";
import { MAX_PARTICIPANTS, MAX_RULES, MAX_SHIFT_COUNT } from "../../../domain/schedules/limits.ts";
import { parseWallClock } from "../../../domain/schedules/schedule.ts";
import { DEFAULT_SHIFT_PAGE_SIZE, MAX_SHIFT_PAGE_SIZE } from "../../../domain/schedules/shift-pages.ts";
import { resolveZone } from "../../../domain/schedules/zone.ts";
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from "../../../domain/services/limits.ts";
import {
  OverrideKind,
  type Rotation as RotationMessage,
  RotationSchema,
  type Schedule as ScheduleMessage,
  type ScheduleOverride,
  ScheduleOverrideSchema,
  type ScheduleRule,
  ScheduleSchema,
  type ShiftLength,
  ShiftLengthSchema,
  type ShiftSource,
  ShiftSourceSchema,
  ShiftUnit,
  Weekday,
} from "../../../gen/oncall/v1/schedules_pb.ts";
import {
  isUuid,
  optionalDate,
  optionalText,
  requireDate,
  requireText,
  requireUserId,
  requireUuid,
} from "../../request-validation.ts";

// ScheduleService requests → domain values, and domain values → messages. Every check names the
// request's field in snake_case, prefixed for wrapped messages (`rotation.time_zone` in
// UpdateRotation); the domain's own validation runs after, as a backstop.

/** `page_size` of a shift listing: 0 means the default; above the maximum is lowered to it. */
export function shiftPageSize(value: number): number {
  if (value < 0) throw new ValidationError("page_size", "must not be negative");
  return value === 0 ? DEFAULT_SHIFT_PAGE_SIZE : Math.min(value, MAX_SHIFT_PAGE_SIZE);
}

/** Where a page of shifts starts: the range's start, or the token's time (inside the range). */
export function pageStart(after: { t: number } | undefined, start: Date, end: Date): Date {
  if (!after) return start;
  if (after.t <= start.getTime() || after.t >= end.getTime()) {
    throw new ValidationError(
      "page_token",
      "is not a valid page token; pass next_page_token from the previous page unchanged",
    );
  }
  return new Date(after.t);
}

export function isTimeCursor(value: unknown): value is { t: number } {
  return typeof value === "object" && value !== null && Number.isSafeInteger((value as { t?: unknown }).t);
}

// ---------------------------------------------------------------------------------------------
// Requests → domain values. Field names are the proto's, in snake_case, prefixed for wrapped
// messages (`rotation.time_zone` in UpdateRotation).

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

export function shiftLengthOf(value: ShiftLength | undefined, field: string): DomainShiftLength {
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

export function toShiftLengthMessage(value: DomainShiftLength): ShiftLength {
  return create(ShiftLengthSchema, { count: value.count, unit: unitValues[value.unit] });
}

/** A rotation's fields from a request, validated by the domain (field names prefixed with `prefix`). */
export function rotationFields(
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
  if (fields.participants.length === 0) {
    throw new ValidationError(`${prefix}participants`, "a rotation needs at least one participant");
  }
  resolveZone(fields.timeZone, `${prefix}time_zone`);
  // Every field was checked above under its request name; what is left is the domain's backstop.
  validateRotation(fields);
  return fields;
}

// Proto weekdays are ISO (Monday = 1 … Sunday = 7); the domain's are 0 = Sunday … 6 = Saturday.
const toDomainWeekday = (w: number) => (w % 7) as DomainWeekday;
const toIsoWeekday = (d: DomainWeekday): Weekday => (d === 0 ? Weekday.SUNDAY : (d as Weekday));

export function scheduleRules(rules: readonly ScheduleRule[], prefix: string): StoredRule[] {
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

/** A schedule's zone and rules, each field checked under its request name, then by the domain. */
export function checkSchedule(
  schedule: { timeZone: string; rules: readonly StoredRule[] },
  prefix: string,
): void {
  resolveZone(schedule.timeZone, `${prefix}time_zone`);
  schedule.rules.forEach((rule, i) => {
    const f = `${prefix}rules[${i}]`;
    if (rule.weekdays.length === 0) throw new ValidationError(`${f}.weekdays`, "choose at least one weekday");
    parseWallClock(rule.start, `${f}.start`);
    parseWallClock(rule.end, `${f}.end`);
  });
  validateSchedule(schedule);
}

export function scheduleInput(
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

export function overrideOf(req: {
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
    if (replacesUserId === userId) {
      throw new ValidationError("replaces_user_id", "a user cannot replace themselves");
    }
    override = { kind, userId, replacesUserId, start, end };
  } else {
    if (req.replacesUserId !== "") {
      throw new ValidationError("replaces_user_id", "is only for OVERRIDE_KIND_REPLACE; leave it empty");
    }
    override = { kind, userId, start, end };
  }
  validateOverrides([override]);
  return override;
}

/** `[start, end)` of a listing: end after start, at most 366 days; `start` defaults to `defaultStart`. */
export function queryRange(
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

export function isOverrideCursor(value: unknown): value is OverrideCursor {
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
export function toSourceMessage(source: DomainShiftSource, context: OnCallContext): ShiftSource {
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
