import type { ColumnType, Generated, RawBuilder } from "kysely";
import type { AlertStatus } from "../../domain/alerts/lifecycle.ts";

/**
 * The database as Kysely sees it. One interface per table; every later migration that adds a
 * table adds its interface here.
 *
 * Type conventions, identical on PGlite, node-postgres and the RDS Data API (see type-parsers.ts
 * and data-api-dialect.ts): int8 → number (refused above 2^53), numeric → string,
 * timestamptz → Date, date → "YYYY-MM-DD", jsonb → parsed JSON, uuid/text → string.
 */
export interface Database {
  settings: SettingsTable;
  services: ServicesTable;
  integration_keys: IntegrationKeysTable;
  integration_key_usage: IntegrationKeyUsageTable;
  api_keys: ApiKeysTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
  rotations: RotationsTable;
  schedules: SchedulesTable;
  schedule_rules: ScheduleRulesTable;
  schedule_overrides: ScheduleOverridesTable;
  escalation_policies: EscalationPoliciesTable;
  escalation_steps: EscalationStepsTable;
  alert_escalations: AlertEscalationsTable;
  notifications: NotificationsTable;
  alert_effects: AlertEffectsTable;
  templates: TemplatesTable;
  template_versions: TemplateVersionsTable;
  template_pins: TemplatePinsTable;
  service_change_events: ServiceChangeEventsTable;
  directory_users: DirectoryUsersTable;
  directory_contact_methods: DirectoryContactMethodsTable;
  directory_verification_codes: DirectoryVerificationCodesTable;
  notification_channels: NotificationChannelsTable;
  local_outbox: LocalOutboxTable;
  routing_rules: RoutingRulesTable;
  routing_rule_set: RoutingRuleSetTable;
  routing_rule_changes: RoutingRuleChangesTable;
  alert_pending_actions: AlertPendingActionsTable;
  maintenance_windows: MaintenanceWindowsTable;
  maintenance_window_changes: MaintenanceWindowChangesTable;
  maintenance_state: MaintenanceStateTable;
  business_calendars: BusinessCalendarsTable;
  routing_decisions: RoutingDecisionsTable;
  maintenance_releases: MaintenanceReleasesTable;
  routing_references: RoutingReferencesTable;
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
  /** Set when the service was deleted: it is archived, its alerts and events kept. */
  deleted_at: Date | null;
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
  alert_limit_per_minute: Generated<number | null>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  /** Written at most once a minute (see INTEGRATION_KEY_LAST_USED_RESOLUTION_SECONDS). */
  last_used_at: Date | null;
  /** The secret a rotation replaced, still accepted until `previous_secret_expires_at`. */
  previous_secret_hash: string | null;
  previous_secret_prefix: string | null;
  previous_secret_expires_at: Date | null;
}

/** Requests per key in the current minute, spread over a few slots (see countKeyRequest). */
/** PagerDuty-style change events (deploys, config changes) on a service's timeline. */
export interface ServiceChangeEventsTable {
  id: Generated<number>;
  service_id: string;
  integration_key_id: string | null;
  summary: string;
  source: string | null;
  happened_at: Date;
  custom_details: ColumnType<Json | null, Json | null, Json | null>;
  links: ColumnType<Json, Json, Json>;
  received_at: Generated<Date>;
}

export interface IntegrationKeyUsageTable {
  key_id: string;
  slot: number;
  window_start: Date;
  request_count: number;
  alert_count: Generated<number>;
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

export type { AlertStatus };
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
  /** Set on an alert that heads an aggregation (routing's `aggregate` action). */
  aggregate_key: Generated<string | null>;
  /** Alerts folded into this one. */
  aggregate_count: Generated<number>;
  aggregated_into: Generated<number | null>;
  /**
   * What routing did, when it must show on the alert (suppressed, unrouted, aggregated,
   * in_maintenance), and why; null: nothing to show (routed by default or by a rule).
   */
  routing_state: Generated<string | null>;
  routing_reason: Generated<string | null>;
}

export interface AlertEventsTable {
  id: Generated<number>;
  alert_id: number;
  type: string;
  actor: string;
  message: Generated<string>;
  data: Json | null;
  created_at: Generated<Date>;
  /** The routing_decisions row that lists this entry (a routing decision), else null. */
  decision_id: number | null;
}

/** JSONB columns that hold arrays or nested values: written only through `jsonb()` (see jsonb.ts). */
type JsonColumn<T> = ColumnType<T, RawBuilder<T>, RawBuilder<T>>;

export interface RotationsTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  time_zone: string;
  shift_count: number;
  shift_unit: "hour" | "day" | "week";
  start_at: Date;
  /** Ordered user ids (kneutral-api ids; never user data). */
  participants: JsonColumn<string[]>;
  /** The rotation's current-participant anchor (domain RotationAnchor, dates as ISO strings). */
  anchor: JsonColumn<{ index: number; at: string; previousIndex?: number } | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SchedulesTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  time_zone: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ScheduleRulesTable {
  id: Generated<string>;
  schedule_id: string;
  position: number;
  target_kind: "user" | "rotation";
  target_user_id: string | null;
  target_rotation_id: string | null;
  /** 0 = Sunday … 6 = Saturday. */
  weekdays: JsonColumn<number[]>;
  /** "HH:MM" in the schedule's zone. */
  start_time: string;
  end_time: string;
  created_at: Generated<Date>;
}

export interface ScheduleOverridesTable {
  id: Generated<string>;
  schedule_id: string;
  kind: "add" | "remove" | "replace";
  user_id: string;
  replaces_user_id: string | null;
  start_at: Date;
  end_at: Date;
  created_at: Generated<Date>;
}

export interface EscalationPoliciesTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  repeat_count: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type EscalationTargetRow =
  | { kind: "user"; id: string }
  | { kind: "schedule"; id: string }
  | { kind: "rotation"; id: string }
  | { kind: "channel"; id: string };

export interface EscalationStepsTable {
  id: Generated<string>;
  policy_id: string;
  position: number;
  delay_seconds: number;
  targets: JsonColumn<EscalationTargetRow[]>;
  created_at: Generated<Date>;
}

export interface AlertEscalationsTable {
  alert_id: number;
  policy_id: string;
  status: "active" | "stopped" | "completed" | "failed";
  step_index: Generated<number>;
  repeat_cycle: Generated<number>;
  next_step_at: Date | null;
  execution_name: string;
  last_error: string | null;
  consecutive_failures: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** The effects outbox: reactions owed after alert changes (functions/app/effects.ts). */
export interface AlertEffectsTable {
  id: Generated<number>;
  kind: string;
  service_id: string | null;
  alert_ids: ColumnType<number[], string, string>;
  payload: ColumnType<Json, string, string>;
  status: "pending" | "done" | "failed";
  attempts: Generated<number>;
  last_error: string | null;
  due_at: Date;
  created_at: Date;
  updated_at: Date;
}

export interface NotificationsTable {
  id: Generated<number>;
  alert_id: number;
  repeat_cycle: number;
  step_index: number;
  target_kind: "user" | "channel";
  target_id: string;
  /** Why this target: e.g. {"via":"schedule","scheduleId":"…","ruleIndex":0}. */
  reason: Json;
  status: Generated<"pending" | "sending" | "sent" | "failed" | "cancelled">;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Message templates (see functions/domain/templates/); versions are immutable (a trigger refuses updates). */
export interface TemplatesTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  kind: string;
  live_version: number;
  latest_version: number;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface TemplateVersionsTable {
  template_id: string;
  version: number;
  /** Handlebars sources per channel and part (domain TemplateVariants). */
  variants: Json;
  author: string;
  change_note: Generated<string>;
  created_at: Generated<Date>;
}

/** Which template a service uses for a kind of message. */
export interface TemplatePinsTable {
  service_id: string;
  kind: string;
  template_id: string;
  created_at: Generated<Date>;
}

/** The embedded user directory (used when no ONCALL_DIRECTORY_URL is set). */
export interface DirectoryUsersTable {
  id: string;
  name: string;
  email: string;
  time_zone: string;
  slack_user_id: Generated<string>;
  teams_user_id: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface DirectoryContactMethodsTable {
  id: Generated<string>;
  user_id: string;
  type: string;
  name: string;
  value: string;
  verified: boolean;
  disabled: boolean;
  last_test_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Named destinations (domain/notifications/channels.ts); `config` holds secret references, never values. */
export interface NotificationChannelsTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  type: string;
  config: Json;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** One pending code per contact method, as a salted hash. */
export interface DirectoryVerificationCodesTable {
  contact_method_id: string;
  code_hash: string;
  expires_at: Date;
  attempts: Generated<number>;
  sent_at: Date;
}

/** Email and SMS the embedded runtime kept because no SMTP server or SNS is configured. */
export interface LocalOutboxTable {
  id: Generated<number>;
  idempotency_key: string;
  destination_kind: string;
  destination: Json;
  message_kind: string;
  parts: Json;
  created_at: Generated<Date>;
}

/** Routing rules, in evaluation order (domain/routing/rules.ts). */
export interface RoutingRulesTable {
  id: Generated<string>;
  position: number;
  name: string;
  description: Generated<string>;
  enabled: boolean;
  /** Null: every service. */
  service_ids: Json | null;
  condition: Json;
  actions: Json;
  terminal: boolean;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

/** One row: the rule set's version, bumped by every rule change. */
export interface RoutingRuleSetTable {
  id: number;
  version: number;
  updated_at: Date;
}

/** Every rule change: who, when, before and after. */
export interface RoutingRuleChangesTable {
  id: Generated<number>;
  rule_id: string | null;
  change: string;
  actor: string;
  before: Json | null;
  after: Json | null;
  version: number;
  created_at: Date;
}

/** Actions a routing rule recorded for later (tickets, until a ticketing system is connected). */
export interface AlertPendingActionsTable {
  id: Generated<number>;
  alert_id: number;
  kind: string;
  rule_id: string | null;
  spec: Json;
  status: Generated<string>;
  created_at: Date;
}

/** Maintenance windows (domain/maintenance/windows.ts); the state is computed, never stored. */
export interface MaintenanceWindowsTable {
  id: Generated<string>;
  name: string;
  reason: Generated<string>;
  owner: string;
  action: "suppress" | "annotate";
  /** Domain MaintenanceSchedule, dates as ISO strings. */
  schedule: Json;
  /** Domain MaintenanceScope. */
  scope: Json;
  /** The series' bounds (one-off start/end, weekly from/until), for lists and the live-window load. */
  starts_at: Date;
  ends_at: Date | null;
  cancelled_at: Date | null;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

/** Every window change: who, when, the row before and after, the version it made. */
export interface MaintenanceWindowChangesTable {
  id: Generated<number>;
  window_id: string;
  change: string;
  actor: string;
  before: Json | null;
  after: Json | null;
  version: number;
  created_at: Date;
}

/** One row: the version stamp every window change bumps (the per-process cache's key). */
export interface MaintenanceStateTable {
  id: number;
  version: number;
  updated_at: Date;
}

/** Suppressions (routing's 'suppressed' log entries) already released (so a sweep releases once). */
export interface MaintenanceReleasesTable {
  suppression_event_id: number;
  alert_id: number;
  window_id: string;
  released_at: Date;
}

/** Named business calendars for CEL's inBusinessHours() (domain/routing/model.ts BusinessCalendar). */
export interface BusinessCalendarsTable {
  name: string;
  description: Generated<string>;
  zone: string;
  /** Domain TimeWindow[]. */
  windows: Json;
  /** "YYYY-MM-DD"[]. */
  holidays: Json;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

/**
 * The log entries that hold a routing decision, written with them (ingest, the route effect), for
 * ListRoutingDecisions: `type` is the decision's entry type (routed, suppressed, aggregated,
 * unrouted), also when the entry is the alert's `created` one (a decision written with the alert).
 */
/**
 * One routing decision of one statement (a request's alerts that share it): the log entries that
 * carry it and their alerts, parallel and in entry order (migration 2026-11-30T0600).
 */
export interface RoutingDecisionsTable {
  id: Generated<number>;
  service_id: string;
  type: string;
  first_event_id: number;
  last_event_id: number;
  event_ids: number[];
  alert_ids: number[];
}

/**
 * What a routing rule or a maintenance window names (one target per row), kept by triggers on
 * routing_rules and maintenance_windows; its foreign keys refuse deleting a named target
 * (migration 2026-11-30T0200).
 */
export interface RoutingReferencesTable {
  rule_id: string | null;
  window_id: string | null;
  service_id: string | null;
  policy_id: string | null;
  channel_id: string | null;
  schedule_id: string | null;
  template_id: string | null;
}
