import { create, fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as calendars from "../../app/business-calendars.ts";
import type { AppContext } from "../../app/context.ts";
import type { RoutingRule, RuleAction, RuleDraft, RuleResult } from "../../app/routing.ts";
import * as routing from "../../app/routing.ts";
import { SEVERITIES, type Severity as SeverityName } from "../../domain/alerts/severity.ts";
import { ValidationError } from "../../domain/errors.ts";
import { MAX_CALENDAR_NAME_LENGTH } from "../../domain/routing/calendars.ts";
import type {
  MatchField as DomainField,
  Matcher as DomainMatcher,
  MatchOperator as DomainOperator,
  RoutableAlert,
} from "../../domain/routing/model.ts";
import {
  MAX_CEL_LENGTH,
  MAX_RULE_DESCRIPTION_LENGTH,
  MAX_RULE_NAME_LENGTH,
} from "../../domain/routing/rules.ts";
import { Severity } from "../../gen/oncall/v1/alerts_pb.ts";
import {
  type AlertUnderTest,
  BusinessCalendarSchema,
  type BusinessCalendar as CalendarMessage,
  type Matcher,
  MatchField,
  MatchOperator,
  type RoutingAction,
  RoutingActionSchema,
  type RoutingCondition,
  RoutingDecisionSchema,
  RoutingRuleChangeSchema,
  RoutingRuleSchema,
  type RoutingService,
  type RoutingRule as RuleMessage,
  RuleOutcome,
  RuleResultSchema,
} from "../../gen/oncall/v1/routing_pb.ts";
import {
  decodePageToken,
  encodePageToken,
  optionalText,
  pageSize,
  principalOf,
  requireId,
  requireText,
  requireUuid,
} from "../request-validation.ts";
import { readUpdateMask } from "../update-mask.ts";

const updatable = [
  "name",
  "description",
  "enabled",
  "service_ids",
  "condition",
  "actions",
  "terminal",
] as const;

const calendarUpdatable = ["description", "zone", "windows", "holidays"] as const;

const fieldOf: Record<number, DomainField["kind"]> = {
  [MatchField.LABEL]: "label",
  [MatchField.ANNOTATION]: "annotation",
  [MatchField.SEVERITY]: "severity",
  [MatchField.SOURCE]: "source",
  [MatchField.SERVICE]: "service",
  [MatchField.SUMMARY]: "summary",
};
const fieldEnum = Object.fromEntries(Object.entries(fieldOf).map(([n, k]) => [k, Number(n)])) as Record<
  DomainField["kind"],
  MatchField
>;
const operatorOf: Record<number, DomainOperator> = {
  [MatchOperator.EQUALS]: "equals",
  [MatchOperator.NOT_EQUALS]: "not_equals",
  [MatchOperator.CONTAINS]: "contains",
  [MatchOperator.STARTS_WITH]: "starts_with",
  [MatchOperator.ENDS_WITH]: "ends_with",
  [MatchOperator.REGEX]: "regex",
  [MatchOperator.IN]: "in",
  [MatchOperator.NOT_IN]: "not_in",
  [MatchOperator.EXISTS]: "exists",
  [MatchOperator.NOT_EXISTS]: "not_exists",
  [MatchOperator.GREATER_THAN]: "greater_than",
  [MatchOperator.LESS_THAN]: "less_than",
  [MatchOperator.NOT_REGEX]: "not_regex",
};
const operatorEnum = Object.fromEntries(Object.entries(operatorOf).map(([n, k]) => [k, Number(n)])) as Record<
  DomainOperator,
  MatchOperator
>;
const severityOf: Record<number, SeverityName> = {
  [Severity.CRITICAL]: "critical",
  [Severity.ERROR]: "error",
  [Severity.WARNING]: "warning",
  [Severity.INFO]: "info",
};
const severityEnum = Object.fromEntries(Object.entries(severityOf).map(([n, k]) => [k, Number(n)])) as Record<
  SeverityName,
  Severity
>;
const outcomeEnum: Record<RuleResult["outcome"], RuleOutcome> = {
  matched: RuleOutcome.MATCHED,
  not_matched: RuleOutcome.NOT_MATCHED,
  error: RuleOutcome.ERROR,
  disabled: RuleOutcome.DISABLED,
  out_of_scope: RuleOutcome.OUT_OF_SCOPE,
  not_reached: RuleOutcome.NOT_REACHED,
};

/** oncall.v1.RoutingService: rules, their order, tests and simulations, and the audit trails. */
export function createRoutingService(ctx: AppContext): ServiceImpl<typeof RoutingService> {
  const deps = () => routing.routingDepsOf(ctx);
  const calendarDeps = () => ({ db: ctx.database.db, clock: ctx.clock });
  return {
    async createRoutingRule(req, context) {
      if (!req.rule) throw new ValidationError("rule", "is required");
      const draft = draftOf(req.rule, "rule.");
      const { rule, version } = await routing.createRoutingRule(deps(), {
        draft,
        actor: principalOf(context).id,
      });
      return { rule: toRule(rule), ruleSetVersion: BigInt(version) };
    },

    async getRoutingRule(req) {
      const { rule, version } = await routing.getRoutingRule(deps(), requireUuid(req.id, "id"));
      return { rule: toRule(rule), ruleSetVersion: BigInt(version) };
    },

    async listRoutingRules(req) {
      const serviceId = req.serviceId ? requireUuid(req.serviceId, "service_id") : "";
      const filters = { serviceId };
      const after = decodePageToken(req.pageToken, "routing_rules", filters, isPositionCursor);
      const page = await routing.listRoutingRules(deps(), {
        limit: pageSize(req.pageSize),
        afterPosition: after?.position ?? 0,
        serviceId: serviceId || undefined,
      });
      return {
        rules: page.rules.map(toRule),
        ruleSetVersion: BigInt(page.version),
        nextPageToken: page.next ? encodePageToken("routing_rules", { position: page.next }, filters) : "",
      };
    },

    async updateRoutingRule(req, context) {
      const input = req.rule;
      if (!input) throw new ValidationError("rule", "is required");
      const id = requireUuid(input.id, "rule.id");
      const mask = readUpdateMask(req.updateMask, updatable);
      const patch: { -readonly [K in keyof RuleDraft]?: RuleDraft[K] } = {};
      if (mask.has("name"))
        patch.name = requireText(input.name, "rule.name", MAX_RULE_NAME_LENGTH, mask.required);
      if (mask.has("description")) {
        patch.description = optionalText(input.description, "rule.description", MAX_RULE_DESCRIPTION_LENGTH);
      }
      if (mask.has("enabled")) patch.enabled = input.enabled;
      if (mask.has("service_ids")) patch.serviceIds = serviceIds(input.serviceIds, "rule.service_ids");
      if (mask.has("condition")) patch.condition = conditionOf(input.condition, "rule.condition");
      if (mask.has("actions")) patch.actions = input.actions.map((a, i) => actionOf(a, `rule.actions[${i}]`));
      if (mask.has("terminal")) patch.terminal = input.terminal;
      const { rule, version } = await routing.updateRoutingRule(deps(), {
        id,
        patch,
        actor: principalOf(context).id,
      });
      return { rule: toRule(rule), ruleSetVersion: BigInt(version) };
    },

    async deleteRoutingRule(req, context) {
      const { version } = await routing.deleteRoutingRule(deps(), {
        id: requireUuid(req.id, "id"),
        actor: principalOf(context).id,
      });
      return { ruleSetVersion: BigInt(version) };
    },

    async reorderRoutingRules(req, context) {
      const ids = req.ruleIds.map((id, i) => requireUuid(id, `rule_ids[${i}]`));
      if (req.expectedVersion < 0n) throw new ValidationError("expected_version", "must not be negative");
      const { version } = await routing.reorderRoutingRules(deps(), {
        ids,
        expectedVersion: req.expectedVersion === 0n ? undefined : Number(req.expectedVersion),
        actor: principalOf(context).id,
      });
      return { ruleSetVersion: BigInt(version) };
    },

    async testRoutingRule(req) {
      const source = req.ruleSource;
      let rule: Parameters<typeof routing.testRoutingRule>[1]["rule"];
      if (source.case === "ruleId") rule = { kind: "stored", id: requireUuid(source.value, "rule_id") };
      else if (source.case === "rule") rule = { kind: "draft", draft: draftOf(source.value, "rule.") };
      else throw new ValidationError("rule_source", "choose rule_id (a stored rule) or rule (a draft)");
      const at = req.time ? timestampDate(req.time) : ctx.clock.now();
      const tested = await routing.testRoutingRule(deps(), { rule, source: alertSource(req.alert, at), at });
      return { result: toResult(tested.result), actions: tested.actions.map(toAction) };
    },

    async simulateRouting(req) {
      const at = req.time ? timestampDate(req.time) : ctx.clock.now();
      const draft = req.draft?.rules.map((r, i) => draftOf(r, `draft.rules[${i}].`));
      const sim = await routing.simulateRouting(deps(), { source: alertSource(req.alert, at), at, draft });
      const m = sim.maintenance;
      return {
        results: sim.results.map(toResult),
        actions: sim.actions.map((a) => ({ ruleId: a.ruleId, action: toAction(a.action) })),
        maintenance:
          m.action === "none"
            ? { action: "none" }
            : { action: m.action, windowId: m.windowId, windowName: m.windowName, reason: m.reason },
        outcome: sim.decision.outcome,
        escalationPolicyId: sim.decision.policyId ?? "",
        reason: sim.decision.reason ?? "",
        ruleSetVersion: BigInt(sim.ruleSetVersion ?? 0),
      };
    },

    async listRoutingDecisions(req) {
      const alertId = req.alertId === 0n ? undefined : requireId(req.alertId, "alert_id");
      const serviceId = req.serviceId ? requireUuid(req.serviceId, "service_id") : undefined;
      const filters = { alertId: alertId ?? 0, serviceId: serviceId ?? "" };
      const before = decodePageToken(req.pageToken, "routing_decisions", filters, isIdCursor);
      const limit = pageSize(req.pageSize);
      const rows = await routing.listRoutingDecisions(deps(), {
        alertId,
        serviceId,
        limit: limit + 1,
        beforeId: before?.id,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        decisions: page.map((d) =>
          create(RoutingDecisionSchema, {
            alertId: BigInt(d.alertId),
            serviceId: d.serviceId,
            type: d.type,
            message: d.message,
            decision: isObject(d.decision) ? (d.decision as JsonObject) : undefined,
            createTime: timestampFromDate(d.createdAt),
          }),
        ),
        nextPageToken:
          rows.length > limit && last
            ? encodePageToken("routing_decisions", { id: last.eventId }, filters)
            : "",
      };
    },

    async createBusinessCalendar(req, context) {
      if (!req.calendar) throw new ValidationError("calendar", "is required");
      const { calendar, version } = await calendars.createBusinessCalendar(calendarDeps(), {
        draft: calendarDraftOf(req.calendar),
        actor: principalOf(context).id,
      });
      return { calendar: toCalendar(calendar), ruleSetVersion: BigInt(version) };
    },

    async listBusinessCalendars() {
      return { calendars: (await calendars.listBusinessCalendars(calendarDeps())).map(toCalendar) };
    },

    async updateBusinessCalendar(req, context) {
      if (!req.calendar) throw new ValidationError("calendar", "is required");
      const name = requireText(req.calendar.name, "calendar.name", MAX_CALENDAR_NAME_LENGTH);
      const mask = readUpdateMask(req.updateMask, calendarUpdatable);
      const given = calendarDraftOf(req.calendar);
      const { calendar, version } = await calendars.updateBusinessCalendar(calendarDeps(), {
        name,
        patch: {
          ...(mask.has("description") ? { description: given.description } : {}),
          ...(mask.has("zone") ? { zone: given.zone } : {}),
          ...(mask.has("windows") ? { windows: given.windows } : {}),
          ...(mask.has("holidays") ? { holidays: given.holidays } : {}),
        },
        actor: principalOf(context).id,
      });
      return { calendar: toCalendar(calendar), ruleSetVersion: BigInt(version) };
    },

    async deleteBusinessCalendar(req, context) {
      const { version } = await calendars.deleteBusinessCalendar(calendarDeps(), {
        name: requireText(req.name, "name", MAX_CALENDAR_NAME_LENGTH),
        actor: principalOf(context).id,
      });
      return { ruleSetVersion: BigInt(version) };
    },

    async listRoutingRuleChanges(req) {
      const ruleId = req.ruleId ? requireUuid(req.ruleId, "rule_id") : undefined;
      const filters = { ruleId: ruleId ?? "" };
      const before = decodePageToken(req.pageToken, "routing_rule_changes", filters, isIdCursor);
      const limit = pageSize(req.pageSize);
      const rows = await routing.listRoutingRuleChanges(deps(), {
        ruleId,
        limit: limit + 1,
        beforeId: before?.id,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        changes: page.map((c) =>
          create(RoutingRuleChangeSchema, {
            id: BigInt(c.id),
            ruleId: c.ruleId ?? "",
            change: c.change,
            actor: c.actor,
            before: jsonValue(c.before),
            after: jsonValue(c.after),
            ruleSetVersion: BigInt(c.version),
            createTime: timestampFromDate(c.createdAt),
          }),
        ),
        nextPageToken:
          rows.length > limit && last
            ? encodePageToken("routing_rule_changes", { id: last.id }, filters)
            : "",
      };
    },
  };
}

function calendarDraftOf(c: CalendarMessage): calendars.CalendarDraft {
  return {
    name: c.name,
    description: c.description,
    zone: c.zone,
    windows: c.windows.map((w) => ({ weekdays: [...w.weekdays], start: w.start, end: w.end })),
    holidays: [...c.holidays],
  };
}

function toCalendar(c: calendars.StoredCalendar): CalendarMessage {
  return create(BusinessCalendarSchema, {
    name: c.name,
    description: c.description,
    zone: c.zone,
    windows: c.windows.map((w) => ({ weekdays: [...w.weekdays], start: w.start, end: w.end })),
    holidays: [...c.holidays],
    createdBy: c.createdBy,
    createTime: timestampFromDate(c.createdAt),
    updatedBy: c.updatedBy,
    updateTime: timestampFromDate(c.updatedAt),
  });
}

function isPositionCursor(value: unknown): value is { position: number } {
  return isObject(value) && Number.isInteger(value.position) && (value.position as number) > 0;
}

function isIdCursor(value: unknown): value is { id: number } {
  return isObject(value) && Number.isInteger(value.id) && (value.id as number) > 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON column as google.protobuf.Value (null stays unset). */
function jsonValue(value: unknown) {
  if (value === null || value === undefined) return undefined;
  return fromJson(ValueSchema, value as JsonValue);
}

/** The rule fields of a request, checked field by field (the whole rule is checked by the use case). */
function draftOf(rule: RuleMessage, prefix: string): RuleDraft {
  return {
    name: requireText(rule.name, `${prefix}name`, MAX_RULE_NAME_LENGTH),
    description: optionalText(rule.description, `${prefix}description`, MAX_RULE_DESCRIPTION_LENGTH),
    enabled: rule.enabled,
    serviceIds: serviceIds(rule.serviceIds, `${prefix}service_ids`),
    condition: conditionOf(rule.condition, `${prefix}condition`),
    actions: rule.actions.map((a, i) => actionOf(a, `${prefix}actions[${i}]`)),
    terminal: rule.terminal,
  };
}

function serviceIds(ids: readonly string[], field: string): string[] | undefined {
  if (ids.length === 0) return undefined;
  return ids.map((id, i) => requireUuid(id, `${field}[${i}]`));
}

function conditionOf(condition: RoutingCondition | undefined, field: string): RuleDraft["condition"] {
  if (!condition) return { matchers: [] };
  const cel = optionalText(condition.cel, `${field}.cel`, MAX_CEL_LENGTH);
  return {
    matchers: condition.matchers.map((m, i) => matcherOf(m, `${field}.matchers[${i}]`)),
    ...(cel.trim() ? { cel } : {}),
    ...(condition.time
      ? {
          time: {
            zone: condition.time.zone,
            windows: condition.time.windows.map((w) => ({
              weekdays: [...w.weekdays],
              start: w.start,
              end: w.end,
            })),
          },
        }
      : {}),
  };
}

function matcherOf(m: Matcher, field: string): DomainMatcher {
  const kind = fieldOf[m.field];
  if (!kind) throw new ValidationError(`${field}.field`, "is required");
  const operator = operatorOf[m.operator];
  if (!operator) throw new ValidationError(`${field}.operator`, "is required");
  const target: DomainField =
    kind === "label" || kind === "annotation"
      ? { kind, name: requireText(m.name, `${field}.name`, 200) }
      : { kind };
  return {
    field: target,
    operator,
    ...(m.value !== "" || !["in", "not_in", "exists", "not_exists"].includes(operator)
      ? { value: m.value }
      : {}),
    ...(m.values.length > 0 ? { values: [...m.values] } : {}),
  };
}

function actionOf(action: RoutingAction, field: string): RuleAction {
  const k = action.kind;
  switch (k.case) {
    case "route":
      return {
        kind: "route",
        policyId: requireUuid(k.value.escalationPolicyId, `${field}.route.escalation_policy_id`),
      };
    case "notifyChannel":
      return {
        kind: "notify_channel",
        channelId: requireText(k.value.channelId, `${field}.notify_channel.channel_id`, 200),
        templateId: k.value.templateId || undefined,
      };
    case "notifyUser":
      return {
        kind: "notify_user",
        userId: requireText(k.value.userId, `${field}.notify_user.user_id`, 200),
      };
    case "notifySchedule":
      return {
        kind: "notify_schedule",
        scheduleId: requireUuid(k.value.scheduleId, `${field}.notify_schedule.schedule_id`),
      };
    case "setLabels":
      return { kind: "set_labels", labels: { ...k.value.labels } };
    case "setSeverity": {
      const severity = severityOf[k.value.severity];
      if (!severity) {
        throw new ValidationError(
          `${field}.set_severity.severity`,
          `must be one of ${SEVERITIES.join(", ")}`,
        );
      }
      return { kind: "set_severity", severity };
    }
    case "suppress":
      return { kind: "suppress", reason: k.value.reason };
    case "aggregate":
      return { kind: "aggregate", keyLabels: [...k.value.keyLabels], windowSeconds: k.value.windowSeconds };
    case "createTicket":
      return { kind: "create_ticket", system: k.value.system, project: k.value.project };
    default:
      throw new ValidationError(field, "choose an action (route, notify_channel, notify_user, …)");
  }
}

function alertSource(alert: AlertUnderTest | undefined, at: Date): routing.AlertSource {
  const source = alert?.source;
  if (source?.case === "alertId")
    return { kind: "stored", alertId: requireId(source.value, "alert.alert_id") };
  if (source?.case !== "sample") throw new ValidationError("alert", "choose sample or alert_id");
  const s = source.value;
  const sample: RoutableAlert = {
    serviceId: requireUuid(s.serviceId, "alert.sample.service_id"),
    summary: optionalText(s.summary, "alert.sample.summary", 1024),
    details: optionalText(s.details, "alert.sample.details", 16_384),
    severity: severityOf[s.severity] ?? "error",
    source: optionalText(s.source, "alert.sample.source", 200) || "sample",
    dedupKey: optionalText(s.dedupKey, "alert.sample.dedup_key", 255) || "sample",
    labels: { ...s.labels },
    annotations: { ...s.annotations },
    createdAt: at,
  };
  return { kind: "sample", alert: sample };
}

export function toRule(rule: RoutingRule): RuleMessage {
  return create(RoutingRuleSchema, {
    id: rule.id,
    name: rule.name,
    description: rule.description,
    enabled: rule.enabled,
    priority: rule.position,
    serviceIds: [...(rule.serviceIds ?? [])],
    condition: {
      matchers: rule.condition.matchers.map((m) => ({
        field: fieldEnum[m.field.kind],
        name: "name" in m.field ? m.field.name : "",
        operator: operatorEnum[m.operator],
        value: m.value ?? "",
        values: [...(m.values ?? [])],
      })),
      cel: rule.condition.cel ?? "",
      time: rule.condition.time
        ? {
            zone: rule.condition.time.zone,
            windows: rule.condition.time.windows.map((w) => ({
              weekdays: [...w.weekdays],
              start: w.start,
              end: w.end,
            })),
          }
        : undefined,
    },
    actions: rule.actions.map(toAction),
    terminal: rule.terminal,
    createdBy: rule.createdBy,
    createTime: timestampFromDate(rule.createdAt),
    updatedBy: rule.updatedBy,
    updateTime: timestampFromDate(rule.updatedAt),
  });
}

function toAction(action: RuleAction): RoutingAction {
  const kind = (() => {
    switch (action.kind) {
      case "route":
        return { case: "route" as const, value: { escalationPolicyId: action.policyId } };
      case "notify_channel":
        return {
          case: "notifyChannel" as const,
          value: { channelId: action.channelId, templateId: action.templateId ?? "" },
        };
      case "notify_user":
        return { case: "notifyUser" as const, value: { userId: action.userId } };
      case "notify_schedule":
        return { case: "notifySchedule" as const, value: { scheduleId: action.scheduleId } };
      case "set_labels":
        return { case: "setLabels" as const, value: { labels: { ...action.labels } } };
      case "set_severity":
        return { case: "setSeverity" as const, value: { severity: severityEnum[action.severity] } };
      case "suppress":
        return { case: "suppress" as const, value: { reason: action.reason } };
      case "aggregate":
        return {
          case: "aggregate" as const,
          value: { keyLabels: [...action.keyLabels], windowSeconds: action.windowSeconds },
        };
      case "create_ticket":
        return { case: "createTicket" as const, value: { system: action.system, project: action.project } };
    }
  })();
  return create(RoutingActionSchema, { kind });
}

function toResult(r: RuleResult) {
  return create(RuleResultSchema, {
    ruleId: r.ruleId,
    name: r.name,
    outcome: outcomeEnum[r.outcome],
    message: r.message ?? "",
  });
}
