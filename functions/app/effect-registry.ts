import type { AppContext } from "./context.ts";
import { deliveryEffectHandlers, deliveryPlanningDepsOf } from "./delivery-planning.ts";
import type { EffectDeps, EffectRegistry } from "./effects.ts";
import { escalationEffectHandlers, escalationLifecycleOf } from "./escalations.ts";
import { routeEffectHandler, routingDepsOf } from "./routing.ts";

/**
 * Every effect kind's handler: the one place where a reaction to an alert change is wired. A new
 * kind (cancel notifications, open a ticket) is added to EFFECT_KINDS in domain/alerts/lifecycle.ts,
 * to the transitions that owe it, and here. `route` writes the `escalation.start` effects it chose;
 * the outbox runs them right after it.
 */
export function createEffectRegistry(ctx: EffectContext): EffectRegistry {
  return {
    route: routeEffectHandler(routingDepsOf(ctx)),
    ...escalationEffectHandlers(escalationLifecycleOf(ctx)),
    ...deliveryEffectHandlers(deliveryPlanningDepsOf(ctx)),
  };
}

/** What the effect handlers need of an AppContext. */
export type EffectContext = Pick<
  AppContext,
  "database" | "clock" | "escalations" | "maintenance" | "directory" | "delivery"
>;

/** The outbox's dependencies from an AppContext. */
export function effectDepsOf(ctx: EffectContext): EffectDeps {
  return { db: ctx.database.db, clock: ctx.clock, registry: createEffectRegistry(ctx) };
}
