import { useQuery } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { ChannelService } from "../../functions/gen/oncall/v1/channels_pb.ts";
import { EscalationPolicyService } from "../../functions/gen/oncall/v1/escalation_policies_pb.ts";
import { ScheduleService } from "../../functions/gen/oncall/v1/schedules_pb.ts";
import { ServiceService } from "../../functions/gen/oncall/v1/services_pb.ts";
import { TemplateService } from "../../functions/gen/oncall/v1/templates_pb.ts";

// The pickers and the id → name lookups: one query each, shared by every page through the cache.
// 500 is the API's largest page; more than that and the pickers show the first 500.

export function useServices() {
  return useQuery(ServiceService.method.listServices, { pageSize: 500 });
}
export function usePolicies() {
  return useQuery(EscalationPolicyService.method.listEscalationPolicies, { pageSize: 500 });
}
export function useSchedules() {
  return useQuery(ScheduleService.method.listSchedules, { pageSize: 500 });
}
export function useRotations() {
  return useQuery(ScheduleService.method.listRotations, { pageSize: 500 });
}

export function useNames() {
  const services = useServices();
  const policies = usePolicies();
  const schedules = useSchedules();
  const rotations = useRotations();
  const channels = useChannels();
  return useMemo(() => {
    const map = (xs: { id: string; name: string }[] | undefined) =>
      new Map((xs ?? []).map((x) => [x.id, x.name]));
    return {
      service: map(services.data?.services),
      policy: map(policies.data?.policies),
      schedule: map(schedules.data?.schedules),
      rotation: map(rotations.data?.rotations),
      channel: map(channels.data?.channels),
    };
  }, [services.data, policies.data, schedules.data, rotations.data, channels.data]);
}

export function useChannels() {
  return useQuery(ChannelService.method.listChannels, { pageSize: 500 });
}
export function useTemplates() {
  return useQuery(TemplateService.method.listTemplates, { pageSize: 500 });
}
