import type { Kysely } from "kysely";
import { isForeignKeyViolation } from "../adapters/db/errors.ts";
import type { Database } from "../adapters/db/schema.ts";
import * as store from "../adapters/db/stores/maintenance.ts";
import { logger } from "../adapters/observability.ts";
import { OPEN_STATUSES, SYSTEM_ACTOR } from "../domain/alerts/lifecycle.ts";
import type { Clock } from "../domain/clock.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import type { MaintenanceCheck, MaintenanceVerdict } from "../domain/maintenance/model.ts";
import {
  type CompiledWindow,
  compileWindow,
  extendOccurrence,
  type MaintenanceSchedule,
  type MaintenanceWindow,
  type MaintenanceWindowSpec,
  maintenanceVerdict,
  scopeCovers,
  validateWindowSpec,
  type WindowTiming,
  windowTiming,
} from "../domain/maintenance/windows.ts";
import type { BusinessCalendar, RoutableAlert } from "../domain/routing/model.ts";
import { storedCalendars } from "./business-calendars.ts";
import type { AppContext } from "./context.ts";
import { dispatchEffects, type EffectDeps } from "./effects.ts";
import { MAINTENANCE_ENDED_EVENT } from "./routing.ts";

export type { WindowChangeRecord, WindowCursor } from "../adapters/db/stores/maintenance.ts";

// Use cases of maintenance windows: CRUD with a change log, cancel and extend, the verdict for an
// alert (CheckAlertMaintenance), and the cached MaintenanceCheck that routing asks per new alert.

export type MaintenanceDeps = Pick<AppContext, "database" | "clock">;

export interface WindowView {
  readonly window: MaintenanceWindow;
  readonly timing: WindowTiming;
}

const viewOf = (window: MaintenanceWindow, now: Date): WindowView => ({
  window,
  timing: windowTiming(window, now),
});

async function checkServices(deps: MaintenanceDeps, spec: MaintenanceWindowSpec): Promise<void> {
  const ids = spec.scope.serviceIds;
  const known = await store.existingServiceIds(deps.database.db, ids);
  const unknown = ids.findIndex((id) => !known.has(id));
  if (unknown >= 0)
    throw new ValidationError(`scope.service_ids[${unknown}]`, `unknown service ${ids[unknown]}`);
}

export async function createMaintenanceWindow(
  deps: MaintenanceDeps,
  input: MaintenanceWindowSpec,
  actor: string,
): Promise<WindowView> {
  const spec = validateWindowSpec(input, await storedCalendars(deps.database.db));
  await checkServices(deps, spec);
  const now = deps.clock.now();
  if ((await store.countLiveWindows(deps.database.db, now)) >= store.MAX_LIVE_WINDOWS) {
    throw new PreconditionError(
      `there are already ${store.MAX_LIVE_WINDOWS} windows that have not ended; cancel some first`,
    );
  }
  return viewOf(
    await savingServices(deps, spec, () => store.insertWindow(deps.database.db, { spec, actor, now })),
    now,
  );
}

/**
 * Runs a window's write; when a service in its scope was deleted between the check and the write
 * (refused by the references' guard, migration 2026-11-30T0200), the check runs again to name it.
 */
async function savingServices<T>(
  deps: MaintenanceDeps,
  spec: MaintenanceWindowSpec,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    await checkServices(deps, spec);
    throw new PreconditionError("a service in the window's scope was deleted meanwhile; reload and retry");
  }
}

async function load(deps: MaintenanceDeps, id: string): Promise<MaintenanceWindow> {
  const window = await store.getWindow(deps.database.db, id);
  if (!window) throw new NotFoundError("maintenance window", id);
  return window;
}

export async function getMaintenanceWindow(deps: MaintenanceDeps, id: string): Promise<WindowView> {
  return viewOf(await load(deps, id), deps.clock.now());
}

export async function listMaintenanceWindows(
  deps: MaintenanceDeps,
  input: { includeEnded: boolean; limit: number; after?: store.WindowCursor | undefined },
): Promise<{ windows: WindowView[]; next: store.WindowCursor | undefined }> {
  const now = deps.clock.now();
  const page = await store.listWindows(deps.database.db, { ...input, now });
  return { windows: page.windows.map((w) => viewOf(w, now)), next: page.next };
}

function specOf(window: MaintenanceWindow): MaintenanceWindowSpec {
  const { name, reason, owner, action, schedule, scope } = window;
  return { name, reason, owner, action, schedule, scope };
}

async function write(
  deps: MaintenanceDeps,
  before: MaintenanceWindow,
  change: {
    spec: MaintenanceWindowSpec;
    cancelledAt: Date | null;
    kind: "updated" | "cancelled" | "extended";
  },
  actor: string,
  now: Date,
): Promise<WindowView> {
  const written = await savingServices(deps, change.spec, () =>
    store.updateWindow(deps.database.db, {
      id: before.id,
      spec: change.spec,
      cancelledAt: change.cancelledAt,
      change: change.kind,
      actor,
      now,
      expectedUpdatedAt: before.updatedAt,
    }),
  );
  if (!written) {
    throw new PreconditionError(
      `maintenance window ${before.id} was changed meanwhile; read it again and retry`,
    );
  }
  return viewOf(written, now);
}

function refuseEnded(window: MaintenanceWindow, now: Date, what: string): void {
  if (windowTiming(window, now).state === "ended") {
    throw new PreconditionError(
      `maintenance window ${window.id} has ended; ${what} an ended window is not possible`,
    );
  }
}

/** Replaces the fields in `patch` (the RPC's update mask); an ended window is history and stays as it was. */
export async function updateMaintenanceWindow(
  deps: MaintenanceDeps,
  id: string,
  patch: Partial<MaintenanceWindowSpec>,
  actor: string,
): Promise<WindowView> {
  const before = await load(deps, id);
  const now = deps.clock.now();
  refuseEnded(before, now, "changing");
  // A new weekly schedule keeps the extension of the occurrence running (an edit does not cut it
  // short; if the edit moves the occurrences, it names none and lapses).
  const schedule =
    patch.schedule?.kind === "weekly" && before.schedule.kind === "weekly" && !patch.schedule.extension
      ? { ...patch.schedule, extension: before.schedule.extension ?? null }
      : patch.schedule;
  const spec = validateWindowSpec(
    { ...specOf(before), ...patch, ...(schedule ? { schedule } : {}) },
    await storedCalendars(deps.database.db),
  );
  await checkServices(deps, spec);
  return write(deps, before, { spec, cancelledAt: before.cancelledAt, kind: "updated" }, actor, now);
}

/** Ends the window now (a scheduled one never starts); the alerts it suppressed are re-routed by housekeeping. */
export async function cancelMaintenanceWindow(
  deps: MaintenanceDeps,
  id: string,
  actor: string,
): Promise<WindowView> {
  const before = await load(deps, id);
  const now = deps.clock.now();
  refuseEnded(before, now, "cancelling");
  return write(deps, before, { spec: specOf(before), cancelledAt: now, kind: "cancelled" }, actor, now);
}

/**
 * Moves a one-off window's end later; for a weekly window, the end of the occurrence active now
 * (the next ones keep the series' duration). A weekly window with no occurrence active is refused:
 * there is nothing running to extend (change duration_minutes to lengthen every occurrence). The
 * write bumps the maintenance stamp, so ingest's cached copy and CheckAlertMaintenance see it, and
 * housekeeping releases the alerts it suppressed when the extended occurrence ends.
 */
export async function extendMaintenanceWindow(
  deps: MaintenanceDeps,
  id: string,
  endAt: Date,
  actor: string,
): Promise<WindowView> {
  const before = await load(deps, id);
  const now = deps.clock.now();
  refuseEnded(before, now, "extending");
  const schedule = before.schedule;
  let extended: MaintenanceSchedule;
  if (schedule.kind === "once") {
    if (endAt.getTime() <= schedule.endAt.getTime()) {
      throw new ValidationError("end_time", `must be after the current end ${schedule.endAt.toISOString()}`);
    }
    extended = { ...schedule, endAt };
  } else {
    const timing = windowTiming(before, now);
    if (timing.state !== "active" || !timing.currentStart || !timing.currentEnd) {
      throw new PreconditionError(
        `maintenance window ${id} is weekly and no occurrence is active now${timing.nextStart ? ` (the next starts ${timing.nextStart.toISOString()})` : ""}; extending lengthens the current occurrence only (change duration_minutes to lengthen every occurrence)`,
      );
    }
    extended = extendOccurrence(schedule, { start: timing.currentStart, end: timing.currentEnd }, endAt);
  }
  const spec = validateWindowSpec(
    { ...specOf(before), schedule: extended },
    await storedCalendars(deps.database.db),
  );
  return write(deps, before, { spec, cancelledAt: before.cancelledAt, kind: "extended" }, actor, now);
}

export async function listMaintenanceWindowChanges(
  deps: MaintenanceDeps,
  input: { windowId: string; limit: number; beforeId?: number | undefined },
): Promise<store.WindowChangeRecord[]> {
  await load(deps, input.windowId);
  return store.listWindowChanges(deps.database.db, input);
}

function compileAll(
  windows: readonly MaintenanceWindow[],
  calendars: readonly BusinessCalendar[],
): CompiledWindow[] {
  const compiled: CompiledWindow[] = [];
  for (const window of windows) {
    try {
      compiled.push(compileWindow(window, calendars));
    } catch (error) {
      // Saved windows were validated; one that no longer compiles (a library change) is skipped, loudly.
      logger.error("maintenance window does not compile; it is ignored", {
        windowId: window.id,
        error: error as Error,
      });
    }
  }
  return compiled;
}

export interface MaintenanceCheckResult {
  readonly verdict: MaintenanceVerdict;
  readonly window?: WindowView | undefined;
}

/**
 * The verdict for a stored alert (`alertId`) or a sample, at `at` (default now), read fresh from the
 * database (not the ingest cache): what an operator asks before trusting a window.
 */
export async function checkAlertMaintenance(
  deps: MaintenanceDeps,
  input: { alertId?: number | undefined; alert?: RoutableAlert | undefined; at?: Date | undefined },
): Promise<MaintenanceCheckResult> {
  let alert = input.alert;
  if (input.alertId !== undefined) {
    alert = await store.loadRoutableAlert(deps.database.db, input.alertId);
    if (!alert) throw new NotFoundError("alert", String(input.alertId));
  }
  if (!alert) throw new ValidationError("alert", "an alert id or a sample alert is required");
  const at = input.at ?? deps.clock.now();
  const { windows } = await store.loadLiveWindows(deps.database.db, at);
  const compiled = compileAll(windows, await storedCalendars(deps.database.db));
  const verdict = maintenanceVerdict(compiled, alert, at);
  if (verdict.action === "none") return { verdict };
  const window = compiled.find((c) => c.window.id === verdict.windowId)!.window;
  return { verdict, window: viewOf(window, at) };
}

/** How long a process trusts its copy of the windows before it reads the version stamp again. */
export const MAINTENANCE_VERSION_TTL_MS = 5_000;

/**
 * The MaintenanceCheck routing asks for every new alert, without a database round trip per alert:
 * the compiled windows are kept with the version stamp they were loaded at; at most once per
 * `ttlMs` (of the injected clock) one primary-key read of the stamp decides whether to reload.
 * States are computed per call from `now`, so a window that starts or ends needs no reload.
 * A change is seen within `ttlMs` by every process. If the stamp cannot be read, the last copy
 * answers (logged); with no copy yet the error goes to the caller (routing retries its effect).
 */
export function createMaintenanceCheck(deps: {
  readonly db: () => Kysely<Database>;
  readonly clock: Clock;
  readonly ttlMs?: number;
}): MaintenanceCheck & { readonly loads: () => number } {
  const ttlMs = deps.ttlMs ?? MAINTENANCE_VERSION_TTL_MS;
  let compiled: CompiledWindow[] = [];
  let version = -1;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;
  let loads = 0;
  /** The copy holds the windows not ended by this instant (earlier ones were left out). */
  let loadedAt = Number.POSITIVE_INFINITY;

  const refresh = async (now: Date): Promise<void> => {
    const current = await store.readMaintenanceVersion(deps.db());
    if (current !== version) {
      const loaded = await store.loadLiveWindows(deps.db(), now);
      compiled = compileAll(loaded.windows, await storedCalendars(deps.db()));
      version = loaded.version;
      loadedAt = now.getTime();
      loads++;
    }
    checkedAt = deps.clock.now().getTime();
  };

  const check = {
    loads: () => loads,
    verdictFor: async (alert: RoutableAlert, now: Date) => (await check.verdictsFor([alert], now))[0]!,
    async verdictsFor(alerts: readonly RoutableAlert[], now: Date): Promise<MaintenanceVerdict[]> {
      const elapsed = deps.clock.now().getTime() - checkedAt;
      // A clock that went back (NTP step, a test) also re-reads.
      if (elapsed >= ttlMs || elapsed < 0) {
        refreshing ??= refresh(deps.clock.now()).finally(() => {
          refreshing = undefined;
        });
        try {
          await refreshing;
        } catch (error) {
          if (version < 0) throw error;
          checkedAt = deps.clock.now().getTime(); // back off for a TTL rather than retry per alert
          logger.warn("maintenance windows could not be re-read; the last copy answers", {
            error: error as Error,
          });
        }
      }
      if (now.getTime() < loadedAt) {
        // Asked about a time before the copy was made (a simulation of the past): windows that ended
        // since are not in it, so read those live then. Ingest asks about now and never gets here.
        const { windows } = await store.loadLiveWindows(deps.db(), now);
        const past = compileAll(windows, await storedCalendars(deps.db()));
        return alerts.map((alert) => maintenanceVerdict(past, alert, now));
      }
      return alerts.map((alert) => maintenanceVerdict(compiled, alert, now));
    },
  };
  return check;
}

/** How routing marks an alert a window suppressed (app/routing.ts writes both). */
const SUPPRESSED_STATE = "suppressed";
const SUPPRESSED_EVENT = "suppressed";

/**
 * Housekeeping: the open alerts suppressed by windows that no longer hold them — ended (by time or
 * cancel), or changed so that they no longer suppress them (scope narrowed, action now annotate) —
 * are routed again (rules and maintenance evaluated afresh, so an alert still covered by another
 * window stays suppressed, now by that one), at most `limit` per run. State-based rather than "ended
 * since the last sweep": a missed sweep, a cancel or an end moved earlier cannot lose an alert. Each
 * suppression is released once. The route effects run right away; one that fails stays owed and the
 * effect sweep retries it.
 */
export async function releaseEndedMaintenance(
  deps: MaintenanceDeps & { readonly effects: EffectDeps },
  limit: number,
): Promise<{ released: number }> {
  const now = deps.clock.now();
  const db = deps.database.db;
  const candidates = await store.findSuppressedAlerts(db, {
    suppressedState: SUPPRESSED_STATE,
    suppressedEvent: SUPPRESSED_EVENT,
    openStatuses: OPEN_STATUSES,
    now,
    limit,
  });
  if (candidates.length === 0) return { released: 0 };
  const windows = new Map<string, CompiledWindow | undefined>();
  const calendars = await storedCalendars(db);
  for (const id of new Set(candidates.map((c) => c.windowId))) {
    const window = await store.getWindow(db, id);
    windows.set(id, window && compileAll([window], calendars)[0]);
  }
  const releases: Parameters<typeof store.releaseSuppressedAlerts>[1]["releases"][number][] = [];
  for (const c of candidates) {
    const compiled = windows.get(c.windowId);
    const release = { alertId: c.alertId, windowId: c.windowId, suppressionEventId: c.suppressionEventId };
    if (!compiled || windowTiming(compiled.window, now).state !== "active") {
      releases.push({ ...release, windowName: compiled?.window.name ?? c.windowId, reason: "ended" });
      continue;
    }
    // Still active (a weekly occurrence, or changed since): does it still suppress this alert?
    if (compiled.window.updatedAt <= c.suppressedAt) continue;
    const alert = await store.loadRoutableAlert(db, c.alertId);
    if (alert && compiled.window.action === "suppress" && scopeCovers(compiled.scope, alert, now)) continue;
    releases.push({ ...release, windowName: compiled.window.name, reason: "changed" });
  }
  const effects = await store.releaseSuppressedAlerts(db, {
    releases,
    suppressedState: SUPPRESSED_STATE,
    openStatuses: OPEN_STATUSES,
    releaseEvent: MAINTENANCE_ENDED_EVENT,
    routeEffect: "route",
    actor: SYSTEM_ACTOR,
    now,
  });
  const released = effects.reduce((n, e) => n + e.alertIds.length, 0);
  if (released > 0) logger.info("alerts released from maintenance windows", { released });
  try {
    await dispatchEffects(deps.effects, effects);
  } catch (error) {
    logger.warn("routing of released alerts failed; the effect sweep retries it", { error: error as Error });
  }
  return { released };
}
