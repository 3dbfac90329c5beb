/**
 * Routing rules: which rules apply to an alert, in which order, and what their actions come to.
 * Pure: conditions arrive compiled (./conditions.ts), the maintenance verdict and the service's
 * default policy are inputs, and time is passed in. The app layer (app/routing.ts) loads, asks and
 * writes; this file decides.
 */
import type { Severity } from "../alerts/severity.ts";
import { SEVERITIES } from "../alerts/severity.ts";
import { ValidationError } from "../errors.ts";
import type { MaintenanceVerdict } from "../maintenance/model.ts";
import type {
  CompiledCondition,
  Condition,
  ConditionProblem,
  RequiredValue,
  RoutableAlert,
} from "./model.ts";

/** What a matched rule does. */
export type RuleAction =
  /** Escalate along this policy instead of the service's default. */
  | { readonly kind: "route"; readonly policyId: string }
  /** The simple mode: straight to a channel (a pending notification), no escalation. */
  | { readonly kind: "notify_channel"; readonly channelId: string; readonly templateId?: string | undefined }
  | { readonly kind: "notify_user"; readonly userId: string }
  /** Whoever is on call for the schedule when the alert is routed. */
  | { readonly kind: "notify_schedule"; readonly scheduleId: string }
  /** Sets (adds or overwrites) these labels. */
  | { readonly kind: "set_labels"; readonly labels: Readonly<Record<string, string>> }
  | { readonly kind: "set_severity"; readonly severity: Severity }
  /** Stored and visible, never escalated nor notified. */
  | { readonly kind: "suppress"; readonly reason: string }
  /** Alerts with the same values of these labels within the window fold into the first one. */
  | { readonly kind: "aggregate"; readonly keyLabels: readonly string[]; readonly windowSeconds: number }
  /** Recorded as a pending action until a ticketing system is connected. */
  | { readonly kind: "create_ticket"; readonly system: string; readonly project: string };

export type RuleActionKind = RuleAction["kind"];

export const RULE_ACTION_KINDS: readonly RuleActionKind[] = [
  "route",
  "notify_channel",
  "notify_user",
  "notify_schedule",
  "set_labels",
  "set_severity",
  "suppress",
  "aggregate",
  "create_ticket",
];

/** A rule as it is written (create, update, draft). */
export interface RuleDraft {
  readonly name: string;
  readonly description: string;
  readonly enabled: boolean;
  /** Undefined: every service. */
  readonly serviceIds?: readonly string[] | undefined;
  readonly condition: Condition;
  readonly actions: readonly RuleAction[];
  /** Stop evaluating later rules when this one matches. */
  readonly terminal: boolean;
}

/** A stored rule: a draft with its identity, place in the order and authorship. */
export interface RoutingRule extends RuleDraft {
  readonly id: string;
  /** 1-based place in the evaluation order. */
  readonly position: number;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedBy: string;
  readonly updatedAt: Date;
}

// Limits: every rule set a request can save or simulate is bounded, so evaluation per alert is too.
export const MAX_RULE_NAME_LENGTH = 200;
export const MAX_RULE_DESCRIPTION_LENGTH = 4096;
export const MAX_RULES = 1000;
export const MAX_MATCHERS_PER_RULE = 50;
export const MAX_ACTIONS_PER_RULE = 20;
export const MAX_SCOPE_SERVICES = 100;
export const MAX_CEL_LENGTH = 4096;
export const MAX_SET_LABELS = 50;
export const MAX_LABEL_NAME_LENGTH = 200;
export const MAX_LABEL_VALUE_LENGTH = 1000;
export const MAX_REASON_LENGTH = 500;
export const MAX_REF_LENGTH = 200;
export const MAX_AGGREGATE_KEY_LABELS = 10;
export const MAX_AGGREGATE_WINDOW_SECONDS = 7 * 86_400;

/**
 * Checks a rule's shape and lengths (everything but its references, which need the database, and
 * its condition, which the engine compiles). `prefix` is where the request keeps the rule
 * (`rule.`, `draft.rules[2].`), so errors name the request's own field.
 *
 * @throws ValidationError naming the first bad field.
 */
export function checkRuleShape(rule: RuleDraft, prefix = ""): void {
  const f = (name: string) => `${prefix}${name}`;
  if (rule.name.trim() === "") throw new ValidationError(f("name"), "is required");
  if (rule.name.length > MAX_RULE_NAME_LENGTH) {
    throw new ValidationError(f("name"), `is longer than ${MAX_RULE_NAME_LENGTH} characters`);
  }
  if (rule.description.length > MAX_RULE_DESCRIPTION_LENGTH) {
    throw new ValidationError(f("description"), `is longer than ${MAX_RULE_DESCRIPTION_LENGTH} characters`);
  }
  if (rule.serviceIds && rule.serviceIds.length > MAX_SCOPE_SERVICES) {
    throw new ValidationError(f("service_ids"), `lists more than ${MAX_SCOPE_SERVICES} services`);
  }
  if (rule.condition.matchers.length > MAX_MATCHERS_PER_RULE) {
    throw new ValidationError(f("condition.matchers"), `has more than ${MAX_MATCHERS_PER_RULE} matchers`);
  }
  if ((rule.condition.cel ?? "").length > MAX_CEL_LENGTH) {
    throw new ValidationError(f("condition.cel"), `is longer than ${MAX_CEL_LENGTH} characters`);
  }
  if (rule.actions.length === 0) throw new ValidationError(f("actions"), "needs at least one action");
  if (rule.actions.length > MAX_ACTIONS_PER_RULE) {
    throw new ValidationError(f("actions"), `has more than ${MAX_ACTIONS_PER_RULE} actions`);
  }
  for (const [i, action] of rule.actions.entries()) checkAction(action, f(`actions[${i}]`));
}

function checkAction(action: RuleAction, at: string): void {
  const ref = (value: string, field: string) => {
    if (value.trim() === "") throw new ValidationError(`${at}.${field}`, "is required");
    if (value.length > MAX_REF_LENGTH) {
      throw new ValidationError(`${at}.${field}`, `is longer than ${MAX_REF_LENGTH} characters`);
    }
  };
  switch (action.kind) {
    case "route":
      ref(action.policyId, "route.escalation_policy_id");
      return;
    case "notify_channel":
      ref(action.channelId, "notify_channel.channel_id");
      if (action.templateId !== undefined) ref(action.templateId, "notify_channel.template_id");
      return;
    case "notify_user":
      ref(action.userId, "notify_user.user_id");
      return;
    case "notify_schedule":
      ref(action.scheduleId, "notify_schedule.schedule_id");
      return;
    case "set_labels": {
      const entries = Object.entries(action.labels);
      if (entries.length === 0) throw new ValidationError(`${at}.set_labels.labels`, "sets no label");
      if (entries.length > MAX_SET_LABELS) {
        throw new ValidationError(`${at}.set_labels.labels`, `sets more than ${MAX_SET_LABELS} labels`);
      }
      for (const [name, value] of entries) {
        if (name === "" || name.length > MAX_LABEL_NAME_LENGTH) {
          throw new ValidationError(
            `${at}.set_labels.labels`,
            `label name must be 1–${MAX_LABEL_NAME_LENGTH} characters`,
          );
        }
        if (value.length > MAX_LABEL_VALUE_LENGTH) {
          throw new ValidationError(
            `${at}.set_labels.labels[${name}]`,
            `is longer than ${MAX_LABEL_VALUE_LENGTH} characters`,
          );
        }
      }
      return;
    }
    case "set_severity":
      if (!SEVERITIES.includes(action.severity)) {
        throw new ValidationError(`${at}.set_severity.severity`, `must be one of ${SEVERITIES.join(", ")}`);
      }
      return;
    case "suppress":
      if (action.reason.trim() === "") throw new ValidationError(`${at}.suppress.reason`, "is required");
      if (action.reason.length > MAX_REASON_LENGTH) {
        throw new ValidationError(`${at}.suppress.reason`, `is longer than ${MAX_REASON_LENGTH} characters`);
      }
      return;
    case "aggregate":
      if (action.keyLabels.length === 0 || action.keyLabels.length > MAX_AGGREGATE_KEY_LABELS) {
        throw new ValidationError(
          `${at}.aggregate.key_labels`,
          `needs 1–${MAX_AGGREGATE_KEY_LABELS} label names`,
        );
      }
      if (action.keyLabels.some((l) => l === "" || l.length > MAX_LABEL_NAME_LENGTH)) {
        throw new ValidationError(
          `${at}.aggregate.key_labels`,
          `label names must be 1–${MAX_LABEL_NAME_LENGTH} characters`,
        );
      }
      if (
        !Number.isInteger(action.windowSeconds) ||
        action.windowSeconds < 1 ||
        action.windowSeconds > MAX_AGGREGATE_WINDOW_SECONDS
      ) {
        throw new ValidationError(
          `${at}.aggregate.window_seconds`,
          `must be between 1 and ${MAX_AGGREGATE_WINDOW_SECONDS}`,
        );
      }
      return;
    case "create_ticket":
      ref(action.system, "create_ticket.system");
      ref(action.project, "create_ticket.project");
      return;
  }
}

/** The first compile problem as a ValidationError naming the request's field, with line and column. */
export function conditionError(problems: readonly ConditionProblem[], prefix: string): ValidationError {
  const first = problems[0];
  if (!first) return new ValidationError(`${prefix}condition`, "does not compile");
  const at = first.line !== undefined ? ` (line ${first.line}, column ${first.column ?? 1})` : "";
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return new ValidationError(`${prefix}condition.${first.field}`, `${first.message}${at}${more}`);
}

/** The things a rule points at, to check that they exist. */
export interface RuleReferences {
  readonly policyIds: ReadonlySet<string>;
  readonly channelIds: ReadonlySet<string>;
  /** Users live in the directory (kneutral-api): the app asks it. */
  readonly userIds: ReadonlySet<string>;
  readonly scheduleIds: ReadonlySet<string>;
  readonly templateIds: ReadonlySet<string>;
  readonly serviceIds: ReadonlySet<string>;
}

/** The field of the first reference of `rule` that is not in `existing`, with what it names. */
export function firstMissingReference(
  rule: RuleDraft,
  existing: RuleReferences,
  prefix = "",
): ValidationError | undefined {
  for (const [i, id] of (rule.serviceIds ?? []).entries()) {
    if (!existing.serviceIds.has(id))
      return new ValidationError(`${prefix}service_ids[${i}]`, `service ${id} does not exist`);
  }
  for (const [i, action] of rule.actions.entries()) {
    const at = `${prefix}actions[${i}]`;
    if (action.kind === "route" && !existing.policyIds.has(action.policyId)) {
      return new ValidationError(
        `${at}.route.escalation_policy_id`,
        `escalation policy ${action.policyId} does not exist`,
      );
    }
    if (action.kind === "notify_user" && !existing.userIds.has(action.userId)) {
      return new ValidationError(
        `${at}.notify_user.user_id`,
        `user ${action.userId} is not in the directory`,
      );
    }
    if (action.kind === "notify_schedule" && !existing.scheduleIds.has(action.scheduleId)) {
      return new ValidationError(
        `${at}.notify_schedule.schedule_id`,
        `schedule ${action.scheduleId} does not exist`,
      );
    }
    if (action.kind === "notify_channel" && !existing.channelIds.has(action.channelId)) {
      return new ValidationError(
        `${at}.notify_channel.channel_id`,
        `notification channel ${action.channelId} does not exist`,
      );
    }
    if (
      action.kind === "notify_channel" &&
      action.templateId &&
      !existing.templateIds.has(action.templateId)
    ) {
      return new ValidationError(
        `${at}.notify_channel.template_id`,
        `template ${action.templateId} does not exist or is not an alert template`,
      );
    }
  }
  return undefined;
}

/** Every id a set of rules refers to, by kind. */
export function referencesOf(rules: readonly RuleDraft[]): RuleReferences {
  const policyIds = new Set<string>();
  const channelIds = new Set<string>();
  const userIds = new Set<string>();
  const scheduleIds = new Set<string>();
  const templateIds = new Set<string>();
  const serviceIds = new Set<string>();
  for (const rule of rules) {
    for (const id of rule.serviceIds ?? []) serviceIds.add(id);
    for (const a of rule.actions) {
      if (a.kind === "route") policyIds.add(a.policyId);
      if (a.kind === "notify_schedule") scheduleIds.add(a.scheduleId);
      if (a.kind === "notify_channel") channelIds.add(a.channelId);
      if (a.kind === "notify_user") userIds.add(a.userId);
      if (a.kind === "notify_channel" && a.templateId) templateIds.add(a.templateId);
    }
  }
  return { policyIds, channelIds, userIds, scheduleIds, templateIds, serviceIds };
}

/** A rule ready to evaluate: its condition compiled (or the compile problem, for a draft). */
export interface CompiledRule {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly serviceIds?: readonly string[] | undefined;
  readonly terminal: boolean;
  readonly actions: readonly RuleAction[];
  readonly condition: CompiledCondition | { readonly problem: string };
}

export type RuleOutcome = "matched" | "not_matched" | "error" | "disabled" | "out_of_scope" | "not_reached";

export interface RuleResult {
  readonly ruleId: string;
  readonly name: string;
  readonly outcome: RuleOutcome;
  /** For `error`: why (an evaluation error counts as not matched). For `not_reached`: why. */
  readonly message?: string | undefined;
}

/** How much evaluation one alert may cost: rules evaluated, and a check of the time spent. */
export interface EvaluationBudget {
  readonly maxRules: number;
  /** True once the alert's time is spent (app: a monotonic clock; tests: a counter). */
  overTime(): boolean;
}

export const UNLIMITED_BUDGET: EvaluationBudget = {
  maxRules: Number.POSITIVE_INFINITY,
  overTime: () => false,
};

export interface RuleSetEvaluation {
  readonly results: readonly RuleResult[];
  /** Actions of matched rules, in rule order, with the rule that owes them. */
  readonly actions: readonly { readonly ruleId: string; readonly action: RuleAction }[];
  /** Rules whose condition was evaluated. */
  readonly evaluated: number;
  readonly budgetExhausted: boolean;
}

/**
 * Evaluates `rules` (in order) for one alert at `now`: disabled and out-of-scope rules are skipped,
 * a terminal match stops the walk, an erroring condition counts as not matched (and says why),
 * and when the budget is spent the remaining rules are `not_reached` (the alert is routed on what
 * matched so far: evaluation never holds ingest up).
 */
export function evaluateRules(
  rules: readonly CompiledRule[],
  alert: RoutableAlert,
  now: Date,
  budget: EvaluationBudget = UNLIMITED_BUDGET,
): RuleSetEvaluation {
  const results: RuleResult[] = [];
  const actions: { ruleId: string; action: RuleAction }[] = [];
  let evaluated = 0;
  let stopped: string | undefined;
  let budgetExhausted = false;
  // Results without a message are shared per rule (read-only): this runs rules × alerts times.
  const result = (rule: CompiledRule, outcome: RuleOutcome, message?: string): RuleResult =>
    message === undefined
      ? sharedResult(rule, outcome)
      : { ruleId: rule.id, name: rule.name, outcome, message };
  for (const rule of rules) {
    if (stopped) {
      results.push(result(rule, "not_reached", stopped));
      continue;
    }
    if (!rule.enabled) {
      results.push(result(rule, "disabled"));
      continue;
    }
    if (rule.serviceIds && rule.serviceIds.length > 0 && !rule.serviceIds.includes(alert.serviceId)) {
      results.push(result(rule, "out_of_scope"));
      continue;
    }
    if (evaluated >= budget.maxRules || (evaluated > 0 && budget.overTime())) {
      budgetExhausted = true;
      stopped = "evaluation budget of the alert spent";
      results.push(result(rule, "not_reached", stopped));
      continue;
    }
    evaluated++;
    if ("problem" in rule.condition) {
      results.push(result(rule, "error", rule.condition.problem));
      continue;
    }
    const verdict = rule.condition.evaluate(alert, now);
    if (verdict.error !== undefined) {
      results.push(result(rule, "error", verdict.error));
      continue;
    }
    if (!verdict.matched) {
      results.push(result(rule, "not_matched"));
      continue;
    }
    results.push(result(rule, "matched"));
    for (const action of rule.actions) actions.push({ ruleId: rule.id, action });
    if (rule.terminal) stopped = `after terminal rule ${rule.name}`;
  }
  return { results, actions, evaluated, budgetExhausted };
}

/** A rule set prepared for evaluating many alerts of one service (see indexRules). */
export interface RuleIndex {
  evaluate(alert: RoutableAlert, now: Date, budget?: EvaluationBudget): RuleSetEvaluation;
}

/**
 * `rules` prepared for the alerts of `serviceId`: evaluates as evaluateRules does (same results,
 * actions, count of evaluated rules), but a rule whose condition requires a value (RequiredValue:
 * an `equals` matcher, a `field == "literal"` CEL conjunct) the alert does not have is not matched
 * without running its condition: each required key is read once per alert and its rules looked up
 * by the value. Most rules of a set name a team, an environment or a severity, so most of them are
 * skipped for any one alert (a 100-rule set ran every condition for every alert). The time budget
 * is asked before each condition that runs; rules skipped this way count as evaluated.
 */
export function indexRules(rules: readonly CompiledRule[], serviceId: string): RuleIndex {
  const count = rules.length;
  /** Each rule's result unless its condition runs: disabled, out of scope or not matched. */
  const template: RuleResult[] = [];
  /** The number of in-scope rules before each rule. */
  const ordinal: number[] = [];
  /** The rule (index) of each in-scope rule. */
  const inScope: number[] = [];
  /** In-scope rules whose condition requires no value: they always run. */
  const always: number[] = [];
  const byKey = new Map<
    string,
    { read: RequiredValue["read"]; byValue: Map<string, number[]>; all: number[] }
  >();
  for (const [i, rule] of rules.entries()) {
    ordinal.push(inScope.length);
    if (!rule.enabled) {
      template.push(sharedResult(rule, "disabled"));
      continue;
    }
    if (rule.serviceIds && rule.serviceIds.length > 0 && !rule.serviceIds.includes(serviceId)) {
      template.push(sharedResult(rule, "out_of_scope"));
      continue;
    }
    inScope.push(i);
    template.push(sharedResult(rule, "not_matched"));
    const needs = "problem" in rule.condition ? undefined : rule.condition.required?.[0];
    if (!needs) {
      always.push(i);
      continue;
    }
    let entry = byKey.get(needs.key);
    if (!entry) {
      entry = { read: needs.read, byValue: new Map(), all: [] };
      byKey.set(needs.key, entry);
    }
    entry.all.push(i);
    const same = entry.byValue.get(needs.value);
    if (same) same.push(i);
    else entry.byValue.set(needs.value, [i]);
  }
  const keys = [...byKey.values()];
  return {
    evaluate(alert, now, budget = UNLIMITED_BUDGET) {
      // The rules whose condition runs, in order.
      let candidates = always;
      for (const { read, byValue, all } of keys) {
        const value = read(alert);
        const hit = value === undefined ? all : value === null ? undefined : byValue.get(value);
        if (hit) candidates = candidates.concat(hit);
      }
      if (candidates !== always) candidates.sort((a, b) => a - b);
      const results = template.slice();
      const actions: { ruleId: string; action: RuleAction }[] = [];
      let evaluated = inScope.length;
      let budgetExhausted = false;
      let stoppedAt = count;
      let stopped = "";
      // evaluateRules stops before the in-scope rule that would be evaluated past maxRules.
      const limit = inScope.length > budget.maxRules ? inScope[budget.maxRules]! : count;
      for (const i of candidates) {
        if (i >= limit) break;
        if (ordinal[i]! > 0 && budget.overTime()) {
          stoppedAt = i;
          break;
        }
        const rule = rules[i]!;
        const condition = rule.condition;
        if ("problem" in condition) {
          results[i] = { ruleId: rule.id, name: rule.name, outcome: "error", message: condition.problem };
          continue;
        }
        const verdict = condition.evaluate(alert, now);
        if (verdict.error !== undefined) {
          results[i] = { ruleId: rule.id, name: rule.name, outcome: "error", message: verdict.error };
          continue;
        }
        if (!verdict.matched) continue;
        results[i] = sharedResult(rule, "matched");
        for (const action of rule.actions) actions.push({ ruleId: rule.id, action });
        if (rule.terminal) {
          stoppedAt = i + 1;
          stopped = `after terminal rule ${rule.name}`;
          evaluated = ordinal[i]! + 1;
          break;
        }
      }
      if (stoppedAt === count && limit < count) stoppedAt = limit;
      if (stoppedAt < count && stopped === "") {
        budgetExhausted = true;
        stopped = "evaluation budget of the alert spent";
        evaluated = ordinal[stoppedAt]!;
      }
      for (let j = stoppedAt; j < count; j++) {
        const rule = rules[j]!;
        results[j] = { ruleId: rule.id, name: rule.name, outcome: "not_reached", message: stopped };
      }
      return { results, actions, evaluated, budgetExhausted };
    },
  };
}

const sharedResults = new WeakMap<CompiledRule, Partial<Record<RuleOutcome, RuleResult>>>();

/** The result of `rule` with `outcome` and no message: one frozen object per rule and outcome. */
function sharedResult(rule: CompiledRule, outcome: RuleOutcome): RuleResult {
  let byOutcome = sharedResults.get(rule);
  if (!byOutcome) {
    byOutcome = {};
    sharedResults.set(rule, byOutcome);
  }
  let shared = byOutcome[outcome];
  if (!shared) {
    shared = Object.freeze({ ruleId: rule.id, name: rule.name, outcome });
    byOutcome[outcome] = shared;
  }
  return shared;
}

/**
 * What the set_labels actions among `actions` write over an alert's labels, in rule order (a later
 * rule overwrites): the labels decideRouting gives are the alert's with these merged in. Undefined
 * when no action sets labels. The same for every alert that matched the same rules: a write can
 * send it once and merge it into each alert's labels.
 */
export function labelChanges(
  actions: RuleSetEvaluation["actions"],
): Readonly<Record<string, string>> | undefined {
  let changes: Record<string, string> | undefined;
  for (const { action } of actions) {
    if (action.kind === "set_labels") changes = { ...changes, ...action.labels };
  }
  return changes;
}

/** What happens to the alert. */
export type RoutingOutcome =
  /** Escalates along `policyId`. */
  | "routed"
  /** Notified directly (channel, user or schedule), no escalation. */
  | "notified"
  | "suppressed"
  /** Folded into an earlier alert (decided by the write: whether that alert is still in the window). */
  | "aggregated"
  /** No rule chose a policy or notification and the service has no default: visible, counted. */
  | "unrouted";

export type NotificationTarget =
  | {
      readonly kind: "channel";
      readonly channelId: string;
      readonly templateId?: string | undefined;
      readonly ruleId: string;
    }
  | { readonly kind: "user"; readonly userId: string; readonly ruleId: string }
  | { readonly kind: "schedule"; readonly scheduleId: string; readonly ruleId: string };

export interface RoutingDecision {
  /** Before aggregation (the write may fold the alert into an earlier one: then `aggregated`). */
  readonly outcome: Exclude<RoutingOutcome, "aggregated">;
  /** The policy to escalate along (outcome `routed`). */
  readonly policyId?: string | undefined;
  /** Whether the policy came from a rule (else the service default). */
  readonly policyFromRule?: string | undefined;
  readonly reason?: string | undefined;
  readonly notify: readonly NotificationTarget[];
  /** The alert's labels and severity after set_labels / set_severity (undefined: unchanged). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly severity?: Severity | undefined;
  readonly aggregate?:
    | { readonly key: string; readonly windowSeconds: number; readonly ruleId: string }
    | undefined;
  readonly tickets: readonly { readonly system: string; readonly project: string; readonly ruleId: string }[];
  /** The maintenance window that annotated the alert (it still escalates). */
  readonly maintenance?:
    | { readonly windowId: string; readonly windowName: string; readonly reason: string }
    | undefined;
}

/**
 * Turns a rule-set evaluation, the maintenance verdict and the service's default policy into what
 * happens to the alert:
 * - suppression (a rule's or a maintenance window's) wins: stored, visible, no escalation, no message;
 * - else the first `route` action's policy; else, when a rule notified someone directly, no
 *   escalation (the simple mode); else the service's default policy; else `unrouted`;
 * - labels and severity changes apply in rule order (a later rule overwrites); the first `aggregate`
 *   action gives the key; tickets are recorded whatever the outcome.
 */
export function decideRouting(
  alert: RoutableAlert,
  evaluation: Pick<RuleSetEvaluation, "actions">,
  maintenance: MaintenanceVerdict,
  defaultPolicyId: string | null,
): RoutingDecision {
  let labels: Record<string, string> | undefined;
  let severity: Severity | undefined;
  let policy: { policyId: string; ruleId: string } | undefined;
  let suppressed: string | undefined;
  let aggregate: RoutingDecision["aggregate"];
  const notify: NotificationTarget[] = [];
  const tickets: { system: string; project: string; ruleId: string }[] = [];
  for (const { ruleId, action } of evaluation.actions) {
    switch (action.kind) {
      case "route":
        policy ??= { policyId: action.policyId, ruleId };
        break;
      case "notify_channel":
        notify.push({ kind: "channel", channelId: action.channelId, templateId: action.templateId, ruleId });
        break;
      case "notify_user":
        notify.push({ kind: "user", userId: action.userId, ruleId });
        break;
      case "notify_schedule":
        notify.push({ kind: "schedule", scheduleId: action.scheduleId, ruleId });
        break;
      case "set_labels":
        labels = { ...(labels ?? alert.labels), ...action.labels };
        break;
      case "set_severity":
        severity = action.severity;
        break;
      case "suppress":
        suppressed ??= action.reason;
        break;
      case "aggregate":
        aggregate ??= {
          key: aggregateKey(labels ?? alert.labels, action.keyLabels),
          windowSeconds: action.windowSeconds,
          ruleId,
        };
        break;
      case "create_ticket":
        tickets.push({ system: action.system, project: action.project, ruleId });
        break;
    }
  }
  const common = { labels, severity, aggregate, tickets };
  if (maintenance.action === "suppress") {
    return {
      ...common,
      outcome: "suppressed",
      notify: [],
      reason: `maintenance window ${maintenance.windowName}: ${maintenance.reason}`,
    };
  }
  const annotated =
    maintenance.action === "annotate"
      ? { windowId: maintenance.windowId, windowName: maintenance.windowName, reason: maintenance.reason }
      : undefined;
  if (suppressed !== undefined)
    return { ...common, outcome: "suppressed", notify: [], reason: suppressed, maintenance: annotated };
  const withTargets = { ...common, notify: dedupeTargets(notify), maintenance: annotated };
  if (policy)
    return { ...withTargets, outcome: "routed", policyId: policy.policyId, policyFromRule: policy.ruleId };
  if (notify.length > 0) return { ...withTargets, outcome: "notified" };
  if (defaultPolicyId) return { ...withTargets, outcome: "routed", policyId: defaultPolicyId };
  return {
    ...withTargets,
    outcome: "unrouted",
    reason: "no rule chose a policy and the service has no default policy",
  };
}

/** The aggregation key: the service-independent values of the key labels (a missing label is empty). */
export function aggregateKey(labels: Readonly<Record<string, string>>, keyLabels: readonly string[]): string {
  return JSON.stringify(keyLabels.map((name) => [name, labels[name] ?? ""]));
}

function dedupeTargets(targets: NotificationTarget[]): NotificationTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key =
      t.kind === "channel" ? `c:${t.channelId}` : t.kind === "user" ? `u:${t.userId}` : `s:${t.scheduleId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
