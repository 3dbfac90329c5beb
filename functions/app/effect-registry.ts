import type { AppContext } from "./context.ts";
import type { EffectDeps, EffectRegistry } from "./effects.ts";
import { escalationEffectHandlers, escalationLifecycleOf } from "./escalations.ts";
import { routeEffectHandler, routingDepsOf } from "./routing.ts";

type RegistryContext = Pick<AppContext, "database" | "clock" | "escalations" | "maintenance">;

/**
 * Every effect kind's handler: the one place where a reaction to an alert change is wired. A new
 * kind (cancel notifications, deliver, open a ticket) is added to EFFECT_KINDS in
 * domain/alerts/lifecycle.ts, to the transitions that owe it, and here. `route` writes the
 * `escalation.start` effects it chose; the outbox runs them right after it.
 */
export function createEffectRegistry(ctx: RegistryContext): EffectRegistry {
  return {
    route: routeEffectHandler(routingDepsOf(ctx)),
    ...escalationEffectHandlers(escalationLifecycleOf(ctx)),
  };
}

/** The outbox's dependencies from an AppContext. */
export function effectDepsOf(ctx: RegistryContext): EffectDeps {
  return { db: ctx.database.db, clock: ctx.clock, registry: createEffectRegistry(ctx) };
}
