/**
 * The Connect services, grouped by the Lambda that serves them on AWS. API Gateway routes
 * `/<service>/*` to its group's function (infra/constructs/api.ts); `core` also takes everything
 * else (`$default`: /healthz, CORS preflights, unknown paths). Each group's function bundles only its
 * services' generated code, use cases, stores and libraries (functions/api/groups/), which keeps its
 * cold start small: the condition engine (re2js + cel-js), the phone-number metadata and Handlebars
 * each live in one group. The embedded runtime serves every group in one process.
 *
 * Plain names, no imports: the CDK app reads this list without loading the services.
 * functions/api/groups/groups.test.ts checks it against what each group registers.
 */
export const serviceGroups = {
  /** Configuration without heavy libraries: services, keys, schedules, policies; health; the local outbox. */
  core: [
    "oncall.v1.SystemService",
    "oncall.v1.ServiceService",
    "oncall.v1.ApiKeyService",
    "oncall.v1.ScheduleService",
    "oncall.v1.EscalationPolicyService",
    "oncall.v1.LocalOutboxService",
  ],
  /** Alerts and what decides their path: routing rules and maintenance windows (the condition engine). */
  alerts: ["oncall.v1.AlertService", "oncall.v1.RoutingService", "oncall.v1.MaintenanceService"],
  /** People and channels, and the messages sent to them directly (phone-number metadata, providers). */
  contacts: ["kneutral.directory.v1.UserDirectoryService", "oncall.v1.ChannelService"],
  /** Notifications, their deliveries and the message templates (Handlebars, Luxon). */
  notifications: ["oncall.v1.NotificationService", "oncall.v1.TemplateService"],
} as const satisfies Record<string, readonly string[]>;

export type ServiceGroupName = keyof typeof serviceGroups;

/** The group names, `core` first. */
export const serviceGroupNames = Object.keys(serviceGroups) as ServiceGroupName[];
