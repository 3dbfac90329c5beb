import {
  listServiceChangeEvents,
  recordChangeEventWithKey,
  type StoredChangeEvent,
} from "../adapters/db/stores/change-events.ts";
import { getService } from "../adapters/db/stores/services.ts";
import { recordChangeEvent } from "../domain/changes/record-change-event.ts";
import { NotFoundError } from "../domain/errors.ts";
import type { AppContext } from "./context.ts";

/** Store records the entry points map out (they reach the store only through this module). */
export type { StoredChangeEvent };

/**
 * Change events (PagerDuty's Change Events API): recorded on a service's timeline from the ingest
 * Lambda, listed newest first by ServiceService.
 */
export function createChangeEventUseCases(
  ctx: Pick<AppContext, "database" | "clock" | "ingestRateLimitPerMinute">,
) {
  const db = () => ctx.database.db;
  return {
    /** Validates and records one event; see `recordChangeEvent` for the errors. */
    record(request: { body: unknown; secret: string | undefined }) {
      return recordChangeEvent(
        {
          clock: ctx.clock,
          record: (input) =>
            recordChangeEventWithKey(db(), { ...input, defaultLimitPerMinute: ctx.ingestRateLimitPerMinute }),
        },
        request,
      );
    },

    /**
     * A page of a service's change events, newest first, before `beforeId`.
     * @throws NotFoundError when the service does not exist (checked on the first page).
     */
    async list(input: { serviceId: string; limit: number; beforeId?: number }): Promise<StoredChangeEvent[]> {
      if (input.beforeId === undefined && !(await getService(db(), input.serviceId))) {
        throw new NotFoundError("service", input.serviceId);
      }
      return listServiceChangeEvents(db(), input);
    },
  };
}
