import { NotificationService } from "../../gen/oncall/v1/notifications_pb.ts";
import { TemplateService } from "../../gen/oncall/v1/templates_pb.ts";
import { createNotificationService } from "../services/notification-service.ts";
import { createTemplateService } from "../services/template-service.ts";
import type { ServiceGroup } from "./group.ts";

export const notificationsGroup: ServiceGroup = {
  name: "notifications",
  register(router, ctx) {
    router.service(NotificationService, createNotificationService(ctx));
    router.service(TemplateService, createTemplateService(ctx));
  },
};
