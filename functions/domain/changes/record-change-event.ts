import type { Clock } from "../clock.ts";
import { PermissionDeniedError, RateLimitedError, UnauthenticatedError } from "../errors.ts";
import { type ChangeEvent, parseChangeEvent } from "./parse-change-event.ts";

/** What recording a change event needs from the outside world. */
export interface ChangeEventPorts {
  clock: Clock;
  /**
   * In one atomic step: finds the live key with this secret, counts the request in its rate
   * window, and records the event only if the key admits it (PagerDuty or universal, within its
   * limit) — else writes nothing.
   */
  record(input: { secret: string; now: Date; event: ChangeEvent }): Promise<{
    key?: { type: string; requestsThisMinute: number; limitPerMinute: number; serviceId: string };
    eventId?: number;
  }>;
}

/**
 * A PagerDuty change event (`POST /v2/change/enqueue`): parse and validate (400 naming the field),
 * then authenticate the `routing_key` and record the event on its service's timeline.
 *
 * @throws ValidationError, UnauthenticatedError (401), PermissionDeniedError (a key for another
 *   webhook, 403), RateLimitedError (429).
 */
export async function recordChangeEvent(
  ports: ChangeEventPorts,
  request: { body: unknown; secret: string | undefined },
): Promise<{ serviceId: string; eventId: number }> {
  const now = ports.clock.now();
  const event = parseChangeEvent(request.body, now);
  if (!request.secret) throw new UnauthenticatedError("missing routing_key");
  const { key, eventId } = await ports.record({ secret: request.secret, now, event });
  if (!key) throw new UnauthenticatedError("unknown or revoked integration key");
  if (key.type !== "universal" && key.type !== "pagerduty") {
    throw new PermissionDeniedError(`this integration key is for ${key.type} webhooks, not pagerduty`);
  }
  if (eventId === undefined) {
    throw new RateLimitedError(
      `integration key over its limit of ${key.limitPerMinute} requests per minute`,
      60 - now.getUTCSeconds(),
    );
  }
  return { serviceId: key.serviceId, eventId };
}
