import type { IntegrationKeyType } from "../adapters/db/schema.ts";
import type {
  IntegrationKeyRow,
  IssuedIntegrationKey,
  ServiceCursor,
  ServicePatch,
  ServiceRow,
} from "../adapters/db/stores/services.ts";
import * as store from "../adapters/db/stores/services.ts";
import { NotFoundError, PreconditionError } from "../domain/errors.ts";
import type { AppContext } from "./context.ts";

export type {
  IntegrationKeyRow,
  IssuedIntegrationKey,
  ServiceCursor,
  ServicePatch,
  ServiceRow,
} from "../adapters/db/stores/services.ts";

// Use cases of services and their integration keys. Inputs are validated values (the RPC layer
// maps and checks the request); outcomes that are the caller's fault become domain errors here.

export type ServicesDeps = Pick<AppContext, "database" | "clock">;

export async function createService(
  deps: ServicesDeps,
  input: { name: string; description: string; escalationPolicyId: string | null },
): Promise<ServiceRow> {
  const row = await store.createService(deps.database.db, { ...input, now: deps.clock.now() });
  if (!row) throw new NotFoundError("escalation policy", input.escalationPolicyId ?? "");
  return row;
}

export async function getService(deps: ServicesDeps, id: string): Promise<ServiceRow> {
  const row = await store.getService(deps.database.db, id);
  if (!row) throw new NotFoundError("service", id);
  return row;
}

export function listServices(
  deps: ServicesDeps,
  input: { search: string; limit: number; after?: ServiceCursor | undefined },
): Promise<{ services: ServiceRow[]; next: ServiceCursor | undefined }> {
  return store.listServices(deps.database.db, input);
}

export async function updateService(
  deps: ServicesDeps,
  id: string,
  patch: ServicePatch,
): Promise<ServiceRow> {
  const result = await store.updateService(deps.database.db, id, patch, deps.clock.now());
  if (result.outcome === "service_not_found") throw new NotFoundError("service", id);
  if (result.outcome === "policy_not_found") {
    throw new NotFoundError("escalation policy", patch.escalationPolicyId ?? "");
  }
  return result.service;
}

/**
 * Archives a service (its alerts and events stay readable, its keys stop working).
 *
 * @throws PreconditionError while the service has open alerts, or routing rules or live maintenance
 *   windows name it.
 */
export async function deleteService(deps: ServicesDeps, id: string): Promise<void> {
  const result = await store.deleteService(deps.database.db, id, deps.clock.now());
  if (result.outcome === "not_found") throw new NotFoundError("service", id);
  if (result.outcome === "open_alerts") {
    throw new PreconditionError(
      `service ${id} has ${result.openAlerts} open alert${result.openAlerts === 1 ? "" : "s"}; resolve ${result.openAlerts === 1 ? "it" : "them"} before deleting the service`,
    );
  }
  if (result.outcome === "in_use") {
    throw new PreconditionError(
      `service ${id} is named by ${result.usedBy.join(", ")}; change those rules and cancel or change those windows first`,
    );
  }
}

export async function createIntegrationKey(
  deps: ServicesDeps,
  input: { serviceId: string; name: string; type: IntegrationKeyType; rateLimitPerMinute: number | null },
): Promise<IssuedIntegrationKey> {
  const issued = await store.createIntegrationKey(deps.database.db, { ...input, now: deps.clock.now() });
  if (!issued) throw new NotFoundError("service", input.serviceId);
  return issued;
}

export async function listIntegrationKeys(
  deps: ServicesDeps,
  input: { serviceId: string; includeRevoked: boolean },
): Promise<IntegrationKeyRow[]> {
  const rows = await store.listIntegrationKeys(deps.database.db, input);
  if (!rows) throw new NotFoundError("service", input.serviceId);
  return rows;
}

export async function revokeIntegrationKey(deps: ServicesDeps, id: string): Promise<IntegrationKeyRow> {
  const row = await store.revokeIntegrationKey(deps.database.db, id, deps.clock.now());
  if (!row) throw new NotFoundError("integration key", id);
  return row;
}

/** A new secret for a live key; the replaced one works for `overlapSeconds` more. */
export async function rotateIntegrationKey(
  deps: ServicesDeps,
  id: string,
  overlapSeconds: number,
): Promise<IssuedIntegrationKey> {
  const result = await store.rotateIntegrationKey(deps.database.db, id, {
    now: deps.clock.now(),
    overlapSeconds,
  });
  if (result.outcome === "not_found") throw new NotFoundError("integration key", id);
  if (result.outcome === "revoked") {
    throw new PreconditionError(`integration key ${id} is revoked; create a new key instead`);
  }
  return result.issued;
}
