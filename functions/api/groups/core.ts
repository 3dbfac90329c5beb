import { ApiKeyService } from "../../gen/oncall/v1/api_keys_pb.ts";
import { EscalationPolicyService } from "../../gen/oncall/v1/escalation_policies_pb.ts";
import { LocalOutboxService } from "../../gen/oncall/v1/local_outbox_pb.ts";
import { ScheduleService } from "../../gen/oncall/v1/schedules_pb.ts";
import { ServiceService } from "../../gen/oncall/v1/services_pb.ts";
import { SystemService } from "../../gen/oncall/v1/system_pb.ts";
import { createApiKeyService } from "../services/api-key-service.ts";
import { createEscalationPolicyService } from "../services/escalation-policy-service.ts";
import { createLocalOutboxService } from "../services/local-outbox-service.ts";
import { createScheduleService } from "../services/schedule-service.ts";
import { createServiceService } from "../services/service-service.ts";
import { createSystemService } from "../services/system-service.ts";
import type { ServiceGroup } from "./group.ts";

export const coreGroup: ServiceGroup = {
  name: "core",
  register(router, ctx) {
    router.service(SystemService, createSystemService(ctx));
    router.service(ServiceService, createServiceService(ctx));
    router.service(ApiKeyService, createApiKeyService(ctx));
    router.service(ScheduleService, createScheduleService(ctx));
    router.service(EscalationPolicyService, createEscalationPolicyService(ctx));
    router.service(LocalOutboxService, createLocalOutboxService(ctx));
  },
};
