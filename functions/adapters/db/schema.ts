import type { ColumnType, Generated } from "kysely";

/**
 * The database as Kysely sees it. One interface per table; every later migration that adds a
 * table adds its interface here.
 *
 * Type conventions, identical on PGlite, node-postgres and the RDS Data API (see type-parsers.ts
 * and data-api-driver.ts): int8 → number (refused above 2^53), numeric → string,
 * timestamptz → Date, date → "YYYY-MM-DD", jsonb → parsed JSON, uuid/text → string.
 */
export interface Database {
  settings: SettingsTable;
  services: ServicesTable;
  integration_keys: IntegrationKeysTable;
  api_keys: ApiKeysTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Small key/value facts about this deployment (e.g. when the demo was seeded). */
export interface SettingsTable {
  key: string;
  value: ColumnType<Json, Json, Json>;
  updated_at: Generated<Date>;
}

export interface ServicesTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  escalation_policy_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type IntegrationKeyType = "alertmanager" | "grafana" | "generic" | "pagerduty" | "universal";

export interface IntegrationKeysTable {
  id: Generated<string>;
  service_id: string;
  name: string;
  type: IntegrationKeyType;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secret_hash: string;
  secret_prefix: string;
  rate_limit_per_minute: number | null;
  rate_window_start: Date | null;
  rate_window_count: Generated<number>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface ApiKeysTable {
  id: Generated<string>;
  name: string;
  scope: "read" | "read_write";
  secret_hash: string;
  secret_prefix: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export type AlertStatus = "triggered" | "acknowledged" | "resolved";
export type AlertSeverity = "critical" | "error" | "warning" | "info";

export interface AlertsTable {
  id: Generated<number>;
  service_id: string;
  dedup_key: string;
  status: AlertStatus;
  severity: AlertSeverity;
  summary: string;
  details: Generated<string>;
  source: string;
  labels: ColumnType<Record<string, string>, Record<string, string> | undefined, Record<string, string>>;
  annotations: ColumnType<Record<string, string>, Record<string, string> | undefined, Record<string, string>>;
  raw: Json | null;
  duplicate_count: Generated<number>;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
}

export interface AlertEventsTable {
  id: Generated<number>;
  alert_id: number;
  type: string;
  actor: string;
  message: Generated<string>;
  data: Json | null;
  created_at: Generated<Date>;
}
