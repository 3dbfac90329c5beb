import { AlertService } from "../../gen/oncall/v1/alerts_pb.ts";
import { MaintenanceService } from "../../gen/oncall/v1/maintenance_pb.ts";
import { RoutingService } from "../../gen/oncall/v1/routing_pb.ts";
import { createAlertService } from "../services/alert-service.ts";
import { createMaintenanceService } from "../services/maintenance-service.ts";
import { createRoutingService } from "../services/routing-service.ts";
import type { ServiceGroup } from "./group.ts";

export const alertsGroup: ServiceGroup = {
  name: "alerts",
  register(router, ctx) {
    router.service(AlertService, createAlertService(ctx));
    router.service(RoutingService, createRoutingService(ctx));
    router.service(MaintenanceService, createMaintenanceService(ctx));
  },
};
