import type { AppContext } from "./context.ts";
import { deliveryEffectHandlers, deliveryPlanningDepsOf } from "./delivery-planning.ts";
import type { EffectDeps, EffectRegistry } from "./effects.ts";
import { escalationEffectHandlers, escalationLifecycleOf } from "./escalations.ts";

/**
 * Every effect kind's handler: the one place where a reaction to an alert change is wired. A new
 * kind (cancel notifications, route, deliver, open a ticket) is added to EFFECT_KINDS in
 * domain/alerts/lifecycle.ts, to the transitions that owe it, and here.
 */
export function createEffectRegistry(ctx: EffectContext): EffectRegistry {
  return {
    ...escalationEffectHandlers(escalationLifecycleOf(ctx)),
    ...deliveryEffectHandlers(deliveryPlanningDepsOf(ctx)),
  };
}

/** What the effect handlers need of an AppContext. */
export type EffectContext = Pick<AppContext, "database" | "clock" | "escalations" | "directory" | "delivery">;

/** The outbox's dependencies from an AppContext. */
export function effectDepsOf(ctx: EffectContext): EffectDeps {
  return { db: ctx.database.db, clock: ctx.clock, registry: createEffectRegistry(ctx) };
}
