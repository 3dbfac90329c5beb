import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { authenticateApiKey } from "../app/api-keys.ts";
import type { AppContext } from "../app/context.ts";
import { UserDirectoryService } from "../gen/kneutral/directory/v1/user_directory_pb.ts";
import { AlertService } from "../gen/oncall/v1/alerts_pb.ts";
import { ApiKeyService } from "../gen/oncall/v1/api_keys_pb.ts";
import { ChannelService } from "../gen/oncall/v1/channels_pb.ts";
import { EscalationPolicyService } from "../gen/oncall/v1/escalation_policies_pb.ts";
import { LocalOutboxService } from "../gen/oncall/v1/local_outbox_pb.ts";
import { MaintenanceService } from "../gen/oncall/v1/maintenance_pb.ts";
import { NotificationService } from "../gen/oncall/v1/notifications_pb.ts";
import { RoutingService } from "../gen/oncall/v1/routing_pb.ts";
import { ScheduleService } from "../gen/oncall/v1/schedules_pb.ts";
import { ServiceService } from "../gen/oncall/v1/services_pb.ts";
import { SystemService } from "../gen/oncall/v1/system_pb.ts";
import { TemplateService } from "../gen/oncall/v1/templates_pb.ts";
import { createAuthInterceptor, tokenAuthenticator } from "./auth.ts";
import { errorInterceptor } from "./error-interceptor.ts";
import { withJsonFieldErrors } from "./json-requests.ts";
import { createAlertService } from "./services/alert-service.ts";
import { createApiKeyService } from "./services/api-key-service.ts";
import { createChannelService } from "./services/channel-service.ts";
import { createEscalationPolicyService } from "./services/escalation-policy-service.ts";
import { createLocalOutboxService } from "./services/local-outbox-service.ts";
import { createMaintenanceService } from "./services/maintenance-service.ts";
import { createNotificationService } from "./services/notification-service.ts";
import { createRoutingService } from "./services/routing-service.ts";
import { createScheduleService } from "./services/schedule-service.ts";
import { createServiceService } from "./services/service-service.ts";
import { createSystemService } from "./services/system-service.ts";
import { createTemplateService } from "./services/template-service.ts";
import { createUserDirectoryService } from "./services/user-directory-service.ts";

/** Procedures callable without a token. */
export const publicProcedures: ReadonlySet<string> = new Set([`/${SystemService.typeName}/GetVersion`]);

/** Services only the admin token may call (API keys cannot mint API keys). */
export const adminOnlyServices: ReadonlySet<string> = new Set([ApiKeyService.typeName]);

/** Services that API keys may read but only the admin token may change (people and their phones). */
export const adminWriteServices: ReadonlySet<string> = new Set([UserDirectoryService.typeName]);

/** Registers every Connect service; the one list both runtimes and the in-memory tests use. */
export function registerServices(ctx: AppContext) {
  return (router: ConnectRouter) => {
    router.service(SystemService, createSystemService(ctx));
    router.service(ServiceService, createServiceService(ctx));
    router.service(AlertService, createAlertService(ctx));
    router.service(ApiKeyService, createApiKeyService(ctx));
    router.service(ScheduleService, createScheduleService(ctx));
    router.service(EscalationPolicyService, createEscalationPolicyService(ctx));
    router.service(TemplateService, createTemplateService(ctx));
    router.service(NotificationService, createNotificationService(ctx));
    router.service(UserDirectoryService, createUserDirectoryService(ctx));
    router.service(ChannelService, createChannelService(ctx));
    router.service(LocalOutboxService, createLocalOutboxService(ctx));
    router.service(RoutingService, createRoutingService(ctx));
    router.service(MaintenanceService, createMaintenanceService(ctx));
  };
}

/**
 * The interceptors of every RPC, outermost first: errors become Connect codes, then the bearer
 * token is authenticated (admin token or API key) and authorized. The API Lambda and the in-memory
 * tests use this same list.
 */
export function createRpcInterceptors(ctx: AppContext): Interceptor[] {
  const authenticate = tokenAuthenticator({
    adminToken: ctx.adminToken,
    findApiKey: (secret) => authenticateApiKey(ctx, secret),
  });
  return [
    errorInterceptor,
    createAuthInterceptor({ authenticate, publicProcedures, adminOnlyServices, adminWriteServices }),
  ];
}

/**
 * Router options both runtimes and the in-memory tests share. JSON requests with an unknown field or
 * enum name are refused (`invalid_argument`) instead of being read as if the field were absent: a
 * misspelt filter would otherwise match everything. Clients that need forward compatibility with
 * newer servers use the binary format, where unknown fields are kept.
 */
export function createRouterOptions(ctx: AppContext): ConnectRouterOptions {
  return {
    interceptors: createRpcInterceptors(ctx),
    jsonOptions: { ignoreUnknownFields: false },
  };
}

/**
 * Every RPC's handler, built once: the router with `createRouterOptions`, each handler wrapped so
 * that an unknown JSON field or enum value is answered with its path (`statuses[0]`). The API
 * Lambda and the in-memory test transport serve exactly these.
 */
export function createRpcHandlers(
  ctx: AppContext,
  options: Partial<ConnectRouterOptions> = {},
): UniversalHandler[] {
  const router = createConnectRouter({ ...createRouterOptions(ctx), ...options });
  registerServices(ctx)(router);
  return router.handlers.map(withJsonFieldErrors);
}
