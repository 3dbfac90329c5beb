import type { Kysely } from "kysely";
import {
  createProviderRegistry,
  readNotificationConfig,
} from "../../functions/adapters/channels/registry.ts";
import type { DatabaseHandle } from "../../functions/adapters/db/database.ts";
import type { Database } from "../../functions/adapters/db/schema.ts";
import { createEmbeddedUserDirectory } from "../../functions/adapters/directory/embedded-directory.ts";
import { createEnvSecretResolver } from "../../functions/adapters/secrets/env-secret-resolver.ts";
import { version } from "../../functions/adapters/version.ts";
import type { AppContext } from "../../functions/app/context.ts";
import { channelLookupOver, defaultDeliverySettings } from "../../functions/app/delivery-runtime.ts";
import type { ContactMessage, ContactMessageSender } from "../../functions/app/directory.ts";
import { createSendSlots } from "../../functions/app/send-slots.ts";
import { type Clock, systemClock } from "../../functions/domain/clock.ts";
import type { ContactMethod } from "../../functions/domain/directory/model.ts";
import type { EscalationRunner } from "../../functions/domain/escalation/index.ts";

export const testAdminToken = "test-admin-token-0123456789";

/** An AppContext over a test database, as the embedded runtime builds it. */
export function createTestAppContext(
  database: DatabaseHandle,
  overrides: Partial<AppContext> = {},
): AppContext {
  const clock: Clock = overrides.clock ?? systemClock;
  // Embedded defaults: local URLs allowed, email and SMS into the local outbox, no secrets set.
  const outbound = createProviderRegistry(readNotificationConfig({}, "embedded"), {
    db: () => database.db,
    clock,
    secrets: createEnvSecretResolver({}),
  });
  return {
    runtime: "embedded",
    version,
    database,
    clock,
    adminToken: async () => testAdminToken,
    corsAllowedOrigins: ["*"],
    ingestRateLimitPerMinute: 600,
    ingestAlertLimitPerMinute: 20_000,
    escalations: createRecordingEscalationRunner(),
    delivery: {
      channels: channelLookupOver(() => database.db),
      providers: outbound.providers,
      queue: { announce: async () => {} },
      settings: defaultDeliverySettings,
      sendSlots: createSendSlots(),
    },
    directory: createEmbeddedUserDirectory(() => database.db),
    contactMessages: createRecordingContactSender(),
    outbound,
    ...overrides,
  };
}

/** An EscalationRunner that runs nothing and remembers what it was asked, in order. */
export function createRecordingEscalationRunner(): EscalationRunner & {
  calls: { op: "start" | "stop"; executionName: string }[];
} {
  const calls: { op: "start" | "stop"; executionName: string }[] = [];
  return {
    calls,
    async start(executionName) {
      calls.push({ op: "start", executionName });
      return `recorded:${executionName}`;
    },
    async stop(executionName) {
      calls.push({ op: "stop", executionName });
    },
  };
}

/**
 * The alerts whose executions a recording runner started, in start order (then by alert id): a
 * cohort's execution walks several alerts, so the ids come from `alert_escalations`.
 */
export async function startedAlertIds(
  db: Kysely<Database>,
  runner: ReturnType<typeof createRecordingEscalationRunner>,
): Promise<number[]> {
  const names = runner.calls.filter((c) => c.op === "start").map((c) => c.executionName);
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom("alert_escalations")
    .select(["alert_id", "execution_name"])
    .where("execution_name", "in", names)
    .orderBy("alert_id")
    .execute();
  return names.flatMap((name) =>
    rows.filter((r) => r.execution_name === name).map((r) => Number(r.alert_id)),
  );
}

/**
 * A ContactMessageSender (our own port) that records what it was asked to send and answers `sent`,
 * or what `answer` says; tests read the verification code from the recorded text.
 */
export function createRecordingContactSender(
  answer: () => Awaited<ReturnType<ContactMessageSender["send"]>> = () => ({ status: "sent" }),
): ContactMessageSender & { sent: { contactMethod: ContactMethod; message: ContactMessage }[] } {
  const sent: { contactMethod: ContactMethod; message: ContactMessage }[] = [];
  return {
    sent,
    async send(contactMethod, message) {
      sent.push({ contactMethod, message });
      return answer();
    },
  };
}
