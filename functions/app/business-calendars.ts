import type { Kysely } from "kysely";
import type { Database } from "../adapters/db/schema.ts";
import * as store from "../adapters/db/stores/business-calendars.ts";
import { loadLiveWindows } from "../adapters/db/stores/maintenance.ts";
import { loadRuleSet } from "../adapters/db/stores/routing.ts";
import type { Clock } from "../domain/clock.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import { compileScope } from "../domain/maintenance/windows.ts";
import {
  type CalendarDraft,
  checkCalendar,
  MAX_CALENDARS,
  type StoredCalendar,
} from "../domain/routing/calendars.ts";
import { compileCondition } from "../domain/routing/conditions.ts";
import type { BusinessCalendar } from "../domain/routing/model.ts";
import { MAX_RULES } from "../domain/routing/rules.ts";

export type { CalendarDraft, StoredCalendar } from "../domain/routing/calendars.ts";

// Business calendars (RoutingService Create/Update/Delete/ListBusinessCalendars): the named
// calendars CEL's inBusinessHours("name") reads, in routing rules and maintenance scopes. Every
// change bumps the rule set's version and the maintenance stamp (one statement), so compiled rule
// sets and window copies are rebuilt with it. A calendar a rule or a live window names cannot be
// deleted; a rule or window naming an unknown one is refused at save (the CEL compile says which).

export interface CalendarDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
}

/** The stored calendars, as compile inputs (one list object per call: CEL caches per list). */
export async function storedCalendars(db: Kysely<Database>): Promise<BusinessCalendar[]> {
  return (await store.listCalendars(db, MAX_CALENDARS)).map(({ name, zone, windows, holidays }) => ({
    name,
    zone,
    windows,
    holidays,
  }));
}

export function listBusinessCalendars(deps: CalendarDeps): Promise<StoredCalendar[]> {
  return store.listCalendars(deps.db, MAX_CALENDARS);
}

export async function getBusinessCalendar(deps: CalendarDeps, name: string): Promise<StoredCalendar> {
  const found = (await store.listCalendars(deps.db, MAX_CALENDARS)).find((c) => c.name === name);
  if (!found) throw new NotFoundError("business calendar", name);
  return found;
}

export async function createBusinessCalendar(
  deps: CalendarDeps,
  input: { draft: CalendarDraft; actor: string },
): Promise<{ calendar: StoredCalendar; version: number }> {
  const draft = checkCalendar(input.draft, "calendar.");
  const result = await store.createCalendar(deps.db, {
    draft,
    actor: input.actor,
    now: deps.clock.now(),
    limit: MAX_CALENDARS,
  });
  if (result.outcome === "written") return result;
  if (result.outcome === "full") {
    throw new PreconditionError(`there are ${MAX_CALENDARS} business calendars already`);
  }
  throw new ValidationError("calendar.name", `a business calendar named "${draft.name}" exists already`);
}

/** Replaces the fields in `patch` (the RPC's update mask); the name identifies it and stays. */
export async function updateBusinessCalendar(
  deps: CalendarDeps,
  input: { name: string; patch: Partial<Omit<CalendarDraft, "name">>; actor: string },
): Promise<{ calendar: StoredCalendar; version: number }> {
  const before = await getBusinessCalendar(deps, input.name);
  const draft = checkCalendar(
    {
      name: before.name,
      description: input.patch.description ?? before.description,
      zone: input.patch.zone ?? before.zone,
      windows: input.patch.windows ?? before.windows,
      holidays: input.patch.holidays ?? before.holidays,
    },
    "calendar.",
  );
  const result = await store.updateCalendar(deps.db, { draft, actor: input.actor, now: deps.clock.now() });
  if (result.outcome !== "written") throw new NotFoundError("business calendar", input.name);
  return result;
}

/** How often a delete re-checks when rules changed between its check and its write. */
const DELETE_ATTEMPTS = 3;

/**
 * Deletes a calendar that no routing rule and no live maintenance window names. The rules are
 * checked at a rule-set version and the delete is written only at that version (a rule saved
 * meanwhile is seen on the next attempt). Windows have no such guard: one saved in the same instant
 * that names the calendar compiles as "unknown calendar" on load and is skipped, loudly.
 */
export async function deleteBusinessCalendar(
  deps: CalendarDeps,
  input: { name: string; actor: string },
): Promise<{ version: number }> {
  for (let attempt = 1; ; attempt++) {
    const calendars = await storedCalendars(deps.db);
    if (!calendars.some((c) => c.name === input.name)) {
      throw new NotFoundError("business calendar", input.name);
    }
    const { version, rules } = await loadRuleSet(deps.db, MAX_RULES);
    const naming = rules.filter((rule) => {
      const compiled = compileCondition(rule.condition, { calendars });
      return compiled.ok && compiled.calendars.includes(input.name);
    });
    if (naming.length > 0) {
      const names = naming.slice(0, 10).map((r) => `routing rule "${r.name}" (${r.id})`);
      throw new PreconditionError(
        `business calendar "${input.name}" is named by ${names.join(", ")}${naming.length > 10 ? ` and ${naming.length - 10} more` : ""}; change those first`,
      );
    }
    const { windows } = await loadLiveWindows(deps.db, deps.clock.now());
    const windowsNaming = windows.filter((w) => {
      if (!w.scope.cel) return false;
      try {
        return compileScope(w.scope, calendars).calendars.includes(input.name);
      } catch {
        return false; // a window that no longer compiles names nothing it can use
      }
    });
    if (windowsNaming.length > 0) {
      const names = windowsNaming.slice(0, 10).map((w) => `maintenance window "${w.name}" (${w.id})`);
      throw new PreconditionError(
        `business calendar "${input.name}" is named by ${names.join(", ")}; change or cancel those first`,
      );
    }
    const result = await store.deleteCalendar(deps.db, {
      name: input.name,
      expectedVersion: version,
      actor: input.actor,
      now: deps.clock.now(),
    });
    if (result.outcome === "deleted") return { version: result.version };
    if (result.outcome === "not_found") throw new NotFoundError("business calendar", input.name);
    if (attempt >= DELETE_ATTEMPTS) {
      throw new PreconditionError("the routing rules keep changing; retry the delete");
    }
  }
}
