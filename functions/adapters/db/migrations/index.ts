import type { Migration } from "kysely/migration";
import * as settings from "./2026-11-27T1300-settings.ts";
import * as servicesAlerts from "./2026-11-27T1400-services-alerts.ts";
import * as oncallEscalation from "./2026-11-27T1500-oncall-escalation.ts";
import * as alertEventsLogWithoutFk from "./2026-11-27T1600-alert-events-log-without-fk.ts";
import * as integrationKeyUsage from "./2026-11-27T1700-integration-key-usage.ts";
import * as effectsOutbox from "./2026-11-29T0800-effects-outbox.ts";
import * as templates from "./2026-11-29T0900-templates.ts";
import * as serviceArchiveKeyOverlap from "./2026-11-29T1000-service-archive-key-overlap.ts";
import * as serviceChangeEvents from "./2026-11-29T1100-service-change-events.ts";
import * as keyAlertBudget from "./2026-11-29T1300-key-alert-budget.ts";
import * as escalationCohorts from "./2026-11-29T1400-escalation-cohorts.ts";
import * as directory from "./2026-11-29T1500-directory.ts";
import * as notificationChannels from "./2026-11-29T1600-notification-channels.ts";
import * as deliveries from "./2026-11-29T1700-deliveries.ts";
import * as routingRules from "./2026-11-29T1800-routing-rules.ts";
import * as maintenanceWindows from "./2026-11-29T1900-maintenance-windows.ts";
import * as businessCalendars from "./2026-11-29T2100-business-calendars.ts";
import * as routingReferences from "./2026-11-30T0200-routing-references.ts";
import * as escalationStartByName from "./2026-11-30T0300-escalation-start-by-name.ts";
import * as routingOnTheAlert from "./2026-11-30T0400-routing-on-the-alert.ts";
import * as escalationStateWithoutFk from "./2026-11-30T0500-escalation-state-without-fk.ts";
import * as routingDecisionsPerRequest from "./2026-11-30T0600-routing-decisions-per-request.ts";
import * as recipientsVersion from "./2026-11-30T0700-recipients-version.ts";
import * as deliveriesWithoutFk from "./2026-11-30T0710-deliveries-without-fk.ts";
import * as indexUpkeepOfPages from "./2026-11-30T0800-index-upkeep-of-pages.ts";
import * as bundlesWithoutFk from "./2026-11-30T0900-bundles-without-fk.ts";

/**
 * Every migration, in order. A static list (not a folder scan) so that esbuild bundles them
 * into the migration Lambda and the API Lambda alike. Name = file name = timestamp + what.
 */
export const migrations: Record<string, Migration> = {
  "2026-11-27T1300-settings": settings,
  "2026-11-27T1400-services-alerts": servicesAlerts,
  "2026-11-27T1500-oncall-escalation": oncallEscalation,
  "2026-11-27T1600-alert-events-log-without-fk": alertEventsLogWithoutFk,
  "2026-11-27T1700-integration-key-usage": integrationKeyUsage,
  "2026-11-29T0800-effects-outbox": effectsOutbox,
  "2026-11-29T0900-templates": templates,
  "2026-11-29T1000-service-archive-key-overlap": serviceArchiveKeyOverlap,
  "2026-11-29T1100-service-change-events": serviceChangeEvents,
  "2026-11-29T1300-key-alert-budget": keyAlertBudget,
  "2026-11-29T1400-escalation-cohorts": escalationCohorts,
  "2026-11-29T1500-directory": directory,
  "2026-11-29T1600-notification-channels": notificationChannels,
  "2026-11-29T1700-deliveries": deliveries,
  "2026-11-29T1800-routing-rules": routingRules,
  "2026-11-29T1900-maintenance-windows": maintenanceWindows,
  "2026-11-29T2100-business-calendars": businessCalendars,
  "2026-11-30T0200-routing-references": routingReferences,
  "2026-11-30T0300-escalation-start-by-name": escalationStartByName,
  "2026-11-30T0400-routing-on-the-alert": routingOnTheAlert,
  "2026-11-30T0500-escalation-state-without-fk": escalationStateWithoutFk,
  "2026-11-30T0600-routing-decisions-per-request": routingDecisionsPerRequest,
  "2026-11-30T0700-recipients-version": recipientsVersion,
  "2026-11-30T0710-deliveries-without-fk": deliveriesWithoutFk,
  "2026-11-30T0800-index-upkeep-of-pages": indexUpkeepOfPages,
  "2026-11-30T0900-bundles-without-fk": bundlesWithoutFk,
};
