import { listOutboxMessages, type OutboxRecord } from "../adapters/db/stores/local-outbox.ts";
import type { AppContext } from "./context.ts";

/** Store records the RPC layer maps to proto. */
export type { OutboxRecord };

/** The local outbox, newest first (what the embedded runtime kept instead of sending email and SMS). */
export function listOutbox(
  deps: Pick<AppContext, "database">,
  input: {
    destinationKind?: "email" | "sms" | undefined;
    recipient?: string | undefined;
    limit: number;
    before?: number | undefined;
  },
) {
  return listOutboxMessages(deps.database.db, input);
}
