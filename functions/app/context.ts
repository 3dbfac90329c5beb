import type { OutboundPorts } from "../adapters/channels/registry.ts";
import type { DatabaseHandle } from "../adapters/db/database.ts";
import type { Clock } from "../domain/clock.ts";
import type { UserDirectory } from "../domain/directory/model.ts";
import type { EscalationRunner } from "../domain/escalation/index.ts";
import type { MaintenanceCheck } from "../domain/maintenance/model.ts";
import type { DeliveryRuntime } from "./delivery-runtime.ts";
import type { ContactMessageSender } from "./directory.ts";

/**
 * Everything a handler needs, built once per process: by the Lambda entry from AWS config,
 * by `npm start` from embedded config, by tests from a PGlite clone.
 */
export interface AppContext {
  runtime: "embedded" | "aws";
  version: string;
  database: DatabaseHandle;
  clock: Clock;
  /** The admin bearer token; async because on AWS it comes from Secrets Manager (cached). */
  adminToken(): Promise<string | undefined>;
  corsAllowedOrigins: string[];
  /** Webhook requests per minute per integration key, unless the key sets its own. */
  ingestRateLimitPerMinute: number;
  /** Alerts per minute per integration key (all its requests together), unless the key sets its own. */
  ingestAlertLimitPerMinute: number;
  /** Open alerts not seen for this many days are resolved by housekeeping; undefined: never. */
  autoResolveAfterDays?: number | undefined;
  /**
   * Starts and stops escalation workflows (Step Functions on AWS, the same ASL in-process when
   * embedded). Use it through app/escalations.ts, which keeps the database state first.
   */
  escalations: EscalationRunner;
  /**
   * Who people are and how to reach them: the embedded directory (our tables) unless
   * ONCALL_DIRECTORY_URL names a remote kneutral-api (then a cached Connect client).
   */
  directory: UserDirectory;
  /** Set when `directory` is remote: UserDirectoryService then reads through it and refuses changes. */
  remoteDirectoryUrl?: string | undefined;
  /** Sends the directory's own messages (verification codes, test messages) to a contact method. */
  contactMessages: ContactMessageSender;
  /** Channels, providers, the queue that announces due deliveries, and delivery settings (issue 12). */
  delivery: DeliveryRuntime;
  /**
   * Outbound messages: one provider per destination kind, the SSRF guard for channel URLs, the
   * secret store (adapters/channels/registry.ts).
   */
  outbound: OutboundPorts;
  /**
   * Routing asks it for every new alert. Unset: no maintenance windows (app/routing.ts
   * noMaintenanceWindows) until the maintenance module provides one.
   */
  maintenance?: MaintenanceCheck | undefined;
}
