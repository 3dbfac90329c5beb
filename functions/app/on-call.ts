import { setImmediate as nextMacrotask } from "node:timers/promises";
import {
  loadOnCallContext,
  loadUserOnCallContexts,
  type OnCallContext,
} from "../adapters/db/stores/schedules.ts";
import { NotFoundError } from "../domain/errors.ts";
import { onCallAt, type Shift, type ShiftSource, upcomingShiftsForUser } from "../domain/schedules/index.ts";
import type { OnCallUser, UserShift } from "../domain/schedules/on-call.ts";
import { shiftLister } from "../domain/schedules/on-call.ts";
import { shiftPage } from "../domain/schedules/shift-pages.ts";
import type { AppContext } from "./context.ts";

// Who is on call, and the shifts over a range, a page at a time (domain/schedules/shift-pages.ts):
// the store loads the schedule, its rotations and overrides in one round trip; the domain computes.

export type OnCallDeps = Pick<AppContext, "database" | "clock">;

const pause = () => nextMacrotask();

/**
 * Shift listings computed at once in this process. A listing is CPU work on the one thread that
 * also serves webhooks; with any number of them interleaving, a webhook would wait behind each in
 * turn. Extra listings queue (without using the CPU) until one finishes. On Lambda an instance
 * serves one request at a time anyway; this bounds the embedded runtime.
 */
export const MAX_CONCURRENT_SHIFT_LISTINGS = 1;
const listings = createTurns(MAX_CONCURRENT_SHIFT_LISTINGS);

/** Runs at most `limit` tasks at once; the others wait their turn in order. */
function createTurns(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async function inTurn<T>(task: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export async function getOnCall(
  deps: OnCallDeps,
  scheduleId: string,
  at: Date,
): Promise<{ users: OnCallUser[]; context: OnCallContext }> {
  const context = await loadOnCallContext(deps.database.db, scheduleId, at, new Date(at.getTime() + 1));
  if (!context) throw new NotFoundError("schedule", scheduleId);
  return { users: onCallAt(context.schedule, context.rotations, context.overrides, at), context };
}

/** One page of a schedule's shifts in `[from, to)`; `from` is the range start or the previous page's next. */
export async function listShiftsPage(
  deps: OnCallDeps,
  input: { scheduleId: string; from: Date; to: Date; pageSize: number },
): Promise<{ shifts: Shift[]; next: Date | undefined; context: OnCallContext }> {
  const context = await loadOnCallContext(deps.database.db, input.scheduleId, input.from, input.to);
  if (!context) throw new NotFoundError("schedule", input.scheduleId);
  const page = await listings(() =>
    shiftPage<Shift>({
      from: input.from,
      to: input.to,
      pageSize: input.pageSize,
      compute: shiftLister(context.schedule, context.rotations, context.overrides),
      key: (s) =>
        `${s.userId}\u0000${s.source.kind === "rule" ? `r${s.source.ruleIndex}` : `o${s.source.overrideIndex}`}`,
      join: (previous, next) => ({ ...previous, end: next.end }),
      pause,
    }),
  );
  return { shifts: page.items, next: page.next, context };
}

export interface ScheduleUserShift extends UserShift {
  readonly context: OnCallContext;
}

/** One page of a user's shifts in every schedule, by start then schedule id. */
export async function listUserShiftsPage(
  deps: OnCallDeps,
  input: { userId: string; from: Date; to: Date; pageSize: number },
): Promise<{ shifts: ScheduleUserShift[]; next: Date | undefined }> {
  const contexts = await loadUserOnCallContexts(deps.database.db, input.userId, input.from, input.to);
  const page = await listings(() =>
    shiftPage<ScheduleUserShift>({
      from: input.from,
      to: input.to,
      pageSize: input.pageSize,
      compute: (from, to) =>
        contexts
          .flatMap((context) =>
            upcomingShiftsForUser(
              context.schedule,
              context.rotations,
              context.overrides,
              input.userId,
              from,
              to,
            ).map((s) => ({ ...s, context })),
          )
          .sort(
            (a, b) =>
              a.start.getTime() - b.start.getTime() ||
              (a.context.schedule.id < b.context.schedule.id
                ? -1
                : a.context.schedule.id > b.context.schedule.id
                  ? 1
                  : 0),
          ),
      key: (s) => s.context.schedule.id,
      join: (previous, next) => ({
        ...previous,
        end: next.end,
        sources: [
          ...previous.sources,
          ...next.sources.filter((n) => !previous.sources.some((p) => sourceOrder(p) === sourceOrder(n))),
        ].sort((a, b) => sourceOrder(a) - sourceOrder(b)),
      }),
      pause,
    }),
  );
  return { shifts: page.items, next: page.next };
}

/** Rules before overrides, each by position: the order the domain lists sources in. */
function sourceOrder(source: ShiftSource): number {
  return source.kind === "rule" ? source.ruleIndex : 2 ** 30 + source.overrideIndex;
}
