import type { AppContext } from "../../functions/adapters/app-context.ts";
import type { DatabaseHandle } from "../../functions/adapters/db/database.ts";
import { version } from "../../functions/adapters/version.ts";
import { type Clock, systemClock } from "../../functions/domain/clock.ts";

export const testAdminToken = "test-admin-token-0123456789";

/** An AppContext over a test database, as the embedded runtime builds it. */
export function createTestAppContext(
  database: DatabaseHandle,
  overrides: Partial<AppContext> = {},
): AppContext {
  const clock: Clock = overrides.clock ?? systemClock;
  return {
    runtime: "embedded",
    version,
    database,
    clock,
    adminToken: async () => testAdminToken,
    corsAllowedOrigins: ["*"],
    ingestRateLimitPerMinute: 600,
    ...overrides,
  };
}
