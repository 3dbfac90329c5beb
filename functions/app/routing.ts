import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Kysely } from "kysely";
import { isForeignKeyViolation } from "../adapters/db/errors.ts";
import type { Database, Json } from "../adapters/db/schema.ts";
import type { SignalResult, StoredSignal } from "../adapters/db/stores/alert-signals.ts";
import {
  type AlertToRoute,
  applyRouting,
  createRule,
  type DecisionRecord,
  deleteRule,
  existingReferences,
  type IngestDecision,
  type IngestRouting,
  listDecisions,
  listRuleChanges,
  loadAlertsToRoute,
  loadRoutableAlert,
  loadRuleSet,
  type RoutingWrite,
  type RuleChangeRecord,
  reorderRules,
  ruleSetVersion,
  type SameDecision,
  serviceDefaultPolicy,
  updateRule,
} from "../adapters/db/stores/routing.ts";
import { logger, metrics } from "../adapters/observability.ts";
import { type AlertEventType, type OwedEffect, SYSTEM_ACTOR } from "../domain/alerts/lifecycle.ts";
import type { Clock } from "../domain/clock.ts";
import { NotFoundError, PreconditionError, ValidationError } from "../domain/errors.ts";
import type { MaintenanceCheck, MaintenanceVerdict } from "../domain/maintenance/model.ts";
import { compileCondition } from "../domain/routing/conditions.ts";
import type { BusinessCalendar, RoutableAlert } from "../domain/routing/model.ts";
import {
  type CompiledRule,
  checkRuleShape,
  conditionError,
  decideRouting,
  type EvaluationBudget,
  evaluateRules,
  firstMissingReference,
  indexRules,
  labelChanges,
  MAX_RULES,
  type RoutingDecision,
  type RoutingRule,
  type RuleAction,
  type RuleDraft,
  type RuleIndex,
  type RuleResult,
  type RuleSetEvaluation,
  referencesOf,
} from "../domain/routing/rules.ts";
import { storedCalendars } from "./business-calendars.ts";
import type { AppContext } from "./context.ts";
import type { EffectHandler } from "./effects.ts";
import { getOnCall } from "./on-call.ts";

export type { DecisionRecord, RuleChangeRecord } from "../adapters/db/stores/routing.ts";
export type { RoutingRule, RuleAction, RuleDraft, RuleResult } from "../domain/routing/rules.ts";

// Routing: the rules (CRUD with validation at save, order, audit of every change), their use on
// every new alert (the `route` effect of the `trigger` transition), and the side-effect-free tools
// (test one rule, simulate a whole rule set, list decisions). The domain decides
// (domain/routing/rules.ts, conditions.ts); this file loads, asks maintenance, and writes.

export interface RoutingDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** Asked for every routed alert; answers from its own cache (no round trip per alert). */
  readonly maintenance: MaintenanceCheck;
  /** Who is on call for a schedule at `at` (user ids), for `notify_schedule`. */
  onCallUsers(scheduleId: string, at: Date): Promise<string[]>;
  /** Which of these user ids the directory knows (a `notify_user` action is checked at save). */
  knownUsers(ids: readonly string[]): Promise<Set<string>>;
}

/**
 * The maintenance check while no maintenance windows exist in this build: it answers from an
 * empty window list (every alert: no window). Replaced by the maintenance module's check.
 */
export const noMaintenanceWindows: MaintenanceCheck = {
  verdictFor: async () => ({ action: "none" }),
  verdictsFor: async (alerts) => alerts.map(() => ({ action: "none" })),
};

/** Written when a suppressing maintenance window ended (app/maintenance.ts): the alert is routed again. */
export const MAINTENANCE_ENDED_EVENT: AlertEventType = "maintenance_ended";

/** The alert's visible routing state for outcomes that must show on the alert itself. */
const AGGREGATED_STATE = "aggregated";

/** How long the rules of one alert may take before the rest are skipped (the alert is routed on what matched). */
export const ROUTING_BUDGET_MS_PER_ALERT = 5;

/** A compiled rule set, kept per database while its version holds ("compiled once per warm process"). */
interface CachedRuleSet {
  readonly version: number;
  readonly rules: readonly CompiledRule[];
  /** The rules indexed for one service's alerts (indexRules), built on its first alert. */
  readonly indexes: Map<string, RuleIndex>;
}

/** The live rule set indexed for the alerts of `serviceId`. */
function indexFor(ruleSet: CachedRuleSet, serviceId: string): RuleIndex {
  let index = ruleSet.indexes.get(serviceId);
  if (!index) {
    index = indexRules(ruleSet.rules, serviceId);
    ruleSet.indexes.set(serviceId, index);
  }
  return index;
}
const compiledSets = new WeakMap<object, CachedRuleSet>();

/**
 * Compiles stored rules; one that no longer compiles evaluates as an error (recorded, never thrown).
 * `calendars`: the stored business calendars (one list object for the whole set: one CEL environment).
 */
export function compileRules(
  rules: readonly (RuleDraft & { id: string })[],
  calendars: readonly BusinessCalendar[],
): CompiledRule[] {
  return rules.map((rule) => {
    const compiled = compileCondition(rule.condition, { calendars });
    return {
      id: rule.id,
      name: rule.name,
      enabled: rule.enabled,
      serviceIds: rule.serviceIds,
      terminal: rule.terminal,
      actions: rule.actions,
      condition: compiled.ok
        ? compiled.condition
        : // With its place, as a save reports it: a draft's rule shows where its expression breaks.
          {
            problem: compiled.problems
              .map((p) => {
                const at = p.line !== undefined ? ` (line ${p.line}, column ${p.column ?? 1})` : "";
                return `${p.field}: ${p.message}${at}`;
              })
              .join("; "),
          },
    };
  });
}

/**
 * The live rule set compiled, at `version` (from cache when it has not moved). Business calendars
 * are compile inputs: a calendar change bumps the same version, so the cache is rebuilt with it.
 */
async function liveRuleSet(deps: RoutingDeps, version?: number): Promise<CachedRuleSet> {
  const cached = compiledSets.get(deps.db);
  const current = version ?? (await ruleSetVersion(deps.db));
  if (cached && cached.version === current) return cached;
  const [loaded, calendars] = await Promise.all([loadRuleSet(deps.db, MAX_RULES), storedCalendars(deps.db)]);
  const dangling = await danglingActions(deps, loaded.rules);
  const rules = compileRules(loaded.rules, calendars).map((rule) => {
    const problem = dangling.get(rule.id);
    return problem ? { ...rule, condition: { problem } } : rule;
  });
  const fresh = { version: loaded.version, rules, indexes: new Map<string, RuleIndex>() };
  compiledSets.set(deps.db, fresh);
  return fresh;
}

/** A per-alert budget on a monotonic clock (the only wall-clock reading of routing; tests pass their own). */
export function timeBudget(ms: number): EvaluationBudget {
  const started = performance.now();
  // The clock is read every 8th rule: reading it per rule cost 7% of a 100-rule evaluation.
  let asked = 0;
  return {
    maxRules: MAX_RULES,
    overTime: () => (++asked & 7) === 0 && performance.now() - started > ms,
  };
}

/** The full evaluation of one alert, before anything is written. */
export interface AlertRouting {
  readonly evaluation: RuleSetEvaluation;
  readonly maintenance: MaintenanceVerdict;
  readonly decision: RoutingDecision;
}

async function routeOne(
  deps: RoutingDeps,
  rules: readonly CompiledRule[],
  alert: RoutableAlert,
  defaultPolicyId: string | null,
  now: Date,
  budget: EvaluationBudget,
): Promise<AlertRouting> {
  const maintenance = await deps.maintenance.verdictFor(alert, now);
  // One alert (a simulation, a test of a draft): every condition runs, no index to build.
  const everyRule: RuleIndex = { evaluate: (a, at, b) => evaluateRules(rules, a, at, b) };
  return routeWith(everyRule, alert, maintenance, defaultPolicyId, now, budget);
}

/**
 * routeOne with the maintenance verdict known: synchronous, for batches that ask maintenance once
 * (a promise per alert cost as much as the rules it waited for, with async hooks installed).
 */
function routeWith(
  rules: RuleIndex,
  alert: RoutableAlert,
  maintenance: MaintenanceVerdict,
  defaultPolicyId: string | null,
  now: Date,
  budget: EvaluationBudget,
): AlertRouting {
  const evaluation = rules.evaluate(alert, now, budget);
  return {
    evaluation,
    maintenance,
    decision: decideRouting(alert, evaluation, maintenance, defaultPolicyId),
  };
}

/** The log entry of an outcome (aggregation is decided by the write). */
const eventOf: Record<RoutingDecision["outcome"], AlertEventType> = {
  routed: "routed",
  notified: "routed",
  suppressed: "suppressed",
  unrouted: "unrouted",
};

function messageOf(d: RoutingDecision): string {
  switch (d.outcome) {
    case "routed":
      return `Routed to escalation policy ${d.policyId}${d.policyFromRule ? ` by rule ${d.policyFromRule}` : " (service default)"}${d.maintenance ? ` — in maintenance (${d.maintenance.windowName})` : ""}`;
    case "notified":
      return `Notified directly (${d.notify.length} target${d.notify.length === 1 ? "" : "s"}), no escalation`;
    case "suppressed":
      return `Suppressed: ${d.reason}`;
    case "unrouted":
      return `Unrouted: ${d.reason}`;
  }
}

/** The decision as stored in the alert's log (and answered by ListRoutingDecisions). */
function decisionJson(routing: AlertRouting, version: number, notify: RoutingWrite["notify"]): Json {
  const { evaluation, decision, maintenance } = routing;
  return {
    ruleSetVersion: version,
    outcome: decision.outcome,
    policyId: decision.policyId ?? null,
    policySource: decision.policyId
      ? decision.policyFromRule
        ? `rule:${decision.policyFromRule}`
        : "service_default"
      : null,
    reason: decision.reason ?? null,
    rulesEvaluated: evaluation.evaluated,
    matched: evaluation.results.filter((r) => r.outcome === "matched").map((r) => r.ruleId),
    errors: evaluation.results
      .filter((r) => r.outcome === "error")
      .map((r) => ({ ruleId: r.ruleId, message: r.message ?? "" })),
    budgetExhausted: evaluation.budgetExhausted,
    actions: evaluation.actions.map(({ ruleId, action }) => ({ ruleId, ...action }) as unknown as Json),
    notified: notify.map((n) => ({ kind: n.kind, id: n.id })),
    maintenance: maintenance as unknown as Json,
  };
}

/** Resolves schedule targets to whoever is on call at `now` (each schedule read once per batch). */
async function notificationTargets(
  deps: RoutingDeps,
  decision: RoutingDecision,
  now: Date,
  onCall: Map<string, Promise<string[]>>,
): Promise<RoutingWrite["notify"]> {
  const out: { kind: "user" | "channel"; id: string; reason: Json }[] = [];
  for (const target of decision.notify) {
    if (target.kind === "channel") {
      out.push({
        kind: "channel",
        id: target.channelId,
        reason: { via: "routing", ruleId: target.ruleId, templateId: target.templateId ?? null },
      });
    } else if (target.kind === "user") {
      out.push({ kind: "user", id: target.userId, reason: { via: "routing", ruleId: target.ruleId } });
    } else {
      let users = onCall.get(target.scheduleId);
      if (!users) {
        users = deps.onCallUsers(target.scheduleId, now).catch((error: unknown) => {
          logger.warn("routing: schedule to notify could not be read", {
            scheduleId: target.scheduleId,
            error: error as Error,
          });
          return [];
        });
        onCall.set(target.scheduleId, users);
      }
      for (const userId of await users) {
        out.push({
          kind: "user",
          id: userId,
          reason: { via: "routing", ruleId: target.ruleId, scheduleId: target.scheduleId },
        });
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((n) => {
    const key = `${n.kind}:${n.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A `route` effect written by the request that runs it, with the alerts as that request wrote them. */
interface RouteEffectWithAlerts extends OwedEffect {
  readonly newAlerts: readonly RoutableAlert[];
}

/** The new alerts of a webhook request, as its statement wrote them (the last signal of each key). */
export function newAlertsOf(
  serviceId: string,
  signals: readonly StoredSignal[],
  results: readonly SignalResult[],
  now: Date,
): RoutableAlert[] {
  const lastByKey = new Map(signals.map((s) => [s.dedupKey, s]));
  return results.flatMap((r) => {
    const signal = lastByKey.get(r.dedupKey);
    if (r.outcome !== "created" || r.alertId == null || !signal) return [];
    return [alertOfSignal(signal, { id: r.alertId, serviceId, now })];
  });
}

/** A webhook signal as the alert routing sees (id 0 before the statement has given it one). */
function alertOfSignal(
  signal: StoredSignal,
  at: { id: number; serviceId: string; now: Date },
): Omit<RoutableAlert, "id"> & { readonly id: number } {
  const { summary, details, severity, source, dedupKey, labels, annotations } = signal;
  return {
    id: at.id,
    serviceId: at.serviceId,
    summary,
    details,
    severity,
    source,
    dedupKey,
    labels,
    annotations,
    createdAt: at.now,
  };
}

/** Attaches the request's new alerts to the `route` effects it just wrote (fresh ones only). */
export function withNewAlerts(
  effects: readonly OwedEffect[],
  alerts: readonly RoutableAlert[],
): OwedEffect[] {
  if (alerts.length === 0) return [...effects];
  const byId = new Map(alerts.map((a) => [a.id, a]));
  return effects.map((e) => {
    if (e.kind !== "route" || e.attempts > 0) return e;
    const known = e.alertIds.map((id) => byId.get(id));
    if (known.some((a) => !a)) return e;
    return { ...e, newAlerts: known as RoutableAlert[] } satisfies RouteEffectWithAlerts;
  });
}

/** What a fresh route effect carries (see owedEffectRowsOfService): routing needs no read. */
function freshInputs(
  effects: readonly OwedEffect[],
): { version: number; alerts: AlertToRoute[] } | undefined {
  let version: number | undefined;
  const alerts: AlertToRoute[] = [];
  for (const effect of effects) {
    const payload = effect.payload as { ruleSetVersion?: unknown; defaultPolicyId?: unknown } | null;
    const known = (effect as Partial<RouteEffectWithAlerts>).newAlerts;
    if (!known || typeof payload?.ruleSetVersion !== "number") return undefined;
    version = Math.max(version ?? 0, payload.ruleSetVersion);
    const defaultPolicyId = typeof payload.defaultPolicyId === "string" ? payload.defaultPolicyId : null;
    for (const alert of known) alerts.push({ ...alert, id: alert.id as number, defaultPolicyId });
  }
  return version === undefined ? undefined : { version, alerts };
}

/**
 * The `route` effect's handler: loads the new alerts and the rule set's version in one read,
 * evaluates the (cached) rule set and asks maintenance for each alert, writes every decision in one
 * statement, and returns the `escalation.start` effects that statement wrote (one per chosen
 * policy) and the `notifications.deliver` ones of direct notifications (one per service): the outbox
 * runs them next, as effects of their own, so a failed start is retried alone.
 * An effect that runs twice routes its alerts once (the load skips alerts already routed).
 */
export function routeEffectHandler(deps: RoutingDeps): EffectHandler {
  return {
    critical: true,
    completesItself: true,
    async run(effects) {
      const completes = effects.map((e) => e.id);
      const alertIds = [...new Set(effects.flatMap((e) => e.alertIds))];
      // Fresh from this request: the alerts and the rule set's version came with the effect. Else
      // (a sweep, a retry) read them, skipping alerts already routed.
      const { version, alerts } =
        freshInputs(effects) ??
        (await loadAlertsToRoute(deps.db, {
          alertIds,
          rerouteEvent: MAINTENANCE_ENDED_EVENT,
        }));
      if (alerts.length === 0) {
        await applyRouting(deps.db, {
          writes: [],
          actor: SYSTEM_ACTOR,
          now: deps.clock.now(),
          aggregatedState: AGGREGATED_STATE,
          completes,
        });
        return [];
      }
      const ruleSet = await liveRuleSet(deps, version);
      const now = deps.clock.now();
      const memo = newBatchMemo();
      const writes: RoutingWrite[] = [];
      const verdicts = await deps.maintenance.verdictsFor(alerts, now);
      for (const [i, alert] of alerts.entries()) {
        const started = performance.now();
        const routing = routeWith(
          indexFor(ruleSet, alert.serviceId),
          alert,
          verdicts[i]!,
          alert.defaultPolicyId,
          now,
          timeBudget(ROUTING_BUDGET_MS_PER_ALERT),
        );
        const write = writeOf(deps, alert, routing, ruleSet.version, started, now, memo);
        writes.push(write instanceof Promise ? await write : write);
      }
      const starts = await applyRouting(deps.db, {
        writes,
        actor: SYSTEM_ACTOR,
        now,
        aggregatedState: AGGREGATED_STATE,
        completes,
      });
      countOutcomes(writes);
      return starts;
    },
  };
}

/** What the decisions of one batch share: schedules read once, and one record per decision shape. */
interface BatchMemo {
  readonly onCall: Map<string, Promise<string[]>>;
  readonly shapes: Map<string, Shape>;
}

const newBatchMemo = (): BatchMemo => ({ onCall: new Map(), shapes: new Map() });

/** The part of a write that depends on the decision's shape only, not on the alert. */
interface Shape {
  readonly trivial: boolean;
  readonly message: string;
  readonly decision: Json;
  readonly notify: RoutingWrite["notify"];
  readonly state: string | null;
  readonly reason: string | null;
}

/**
 * Everything decisionJson, messageOf, the targets and the visible state read from a routing
 * (matched rules stand for their actions, labels, severity and targets: one rule set per batch).
 * Alerts of a batch mostly share it: their record is built and stored once.
 */
function shapeKey({ evaluation, maintenance, decision }: AlertRouting): string {
  let key = `${decision.outcome}|${decision.policyId ?? ""}|${decision.policyFromRule ?? ""}|${decision.reason ?? ""}|${evaluation.evaluated}|${evaluation.budgetExhausted}`;
  if (maintenance.action !== "none")
    key += `|w:${maintenance.action}:${maintenance.windowId}:${maintenance.windowName}:${maintenance.reason}`;
  let applies = false;
  for (const r of evaluation.results) {
    if (r.outcome === "matched") key += `|m:${r.ruleId}`;
    else if (r.outcome === "error") key += `|e:${r.ruleId}:${r.message ?? ""}`;
    if (r.outcome !== "disabled" && r.outcome !== "out_of_scope") applies = true;
  }
  return applies ? key : `${key}|trivial`;
}

/** The shape of `routing`: from the batch's memo when known (no promise), else built (and remembered). */
function shapeOf(
  deps: RoutingDeps,
  routing: AlertRouting,
  version: number,
  now: Date,
  memo: BatchMemo,
): Shape | Promise<Shape> {
  const key = shapeKey(routing);
  return memo.shapes.get(key) ?? newShape(deps, routing, key, version, now, memo);
}

async function newShape(
  deps: RoutingDeps,
  routing: AlertRouting,
  key: string,
  version: number,
  now: Date,
  memo: BatchMemo,
): Promise<Shape> {
  const { decision, evaluation } = routing;
  const notify = await notificationTargets(deps, decision, now, memo.onCall);
  const visible =
    decision.outcome === "suppressed" || decision.outcome === "unrouted"
      ? { state: decision.outcome, reason: decision.reason ?? null }
      : decision.maintenance
        ? {
            state: "in_maintenance",
            reason: `maintenance window ${decision.maintenance.windowName}: ${decision.maintenance.reason}`,
          }
        : { state: null, reason: null };
  const shape: Shape = {
    // No rule applies to the service and no maintenance window: routing as before rules existed (the
    // default policy, whose escalation logs itself; or unrouted, shown on the alert and counted).
    trivial:
      routing.maintenance.action === "none" &&
      evaluation.results.every((r) => r.outcome === "disabled" || r.outcome === "out_of_scope"),
    message: messageOf(decision),
    decision: decisionJson(routing, version, notify),
    notify,
    ...visible,
  };
  memo.shapes.set(key, shape);
  return shape;
}

/** The write of one alert's routing: synchronous when its shape is known to the batch (most alerts). */
function writeOf(
  deps: RoutingDeps,
  alert: AlertToRoute,
  routing: AlertRouting,
  version: number,
  started: number,
  now: Date,
  memo: BatchMemo,
): RoutingWrite | Promise<RoutingWrite> {
  const shape = shapeOf(deps, routing, version, now, memo);
  return shape instanceof Promise
    ? shape.then((known) => writeWith(alert, routing, known, started))
    : writeWith(alert, routing, shape, started);
}

function writeWith(alert: AlertToRoute, routing: AlertRouting, shape: Shape, started: number): RoutingWrite {
  const { decision } = routing;
  const durationMicros = Math.round((performance.now() - started) * 1000);
  return {
    alertId: alert.id,
    serviceId: alert.serviceId,
    event: shape.trivial ? null : eventOf[decision.outcome],
    message: shape.message,
    decision: shape.decision,
    micros: durationMicros,
    state: shape.state,
    reason: shape.reason,
    labels: decision.labels ? { ...decision.labels } : null,
    severity: decision.severity ?? null,
    policyId: decision.outcome === "routed" ? (decision.policyId ?? null) : null,
    aggregate: decision.aggregate
      ? { key: decision.aggregate.key, windowSeconds: decision.aggregate.windowSeconds }
      : null,
    notify: shape.notify,
    tickets: decision.tickets.map((t) => ({
      ruleId: t.ruleId,
      spec: { system: t.system, project: t.project },
    })),
  };
}

/**
 * Routing of a webhook request's triggers decided BEFORE its statement runs, for that statement
 * to write with the alerts it opens (adapters/db/stores/routing.ts IngestRouting): one commit per
 * request instead of two, no route effect to write and complete, routed labels written by the
 * insert instead of an update. Assumes the key's service and default policy (the caller's cache of
 * an earlier answer) and the compiled rule set this process holds; the statement checks them and
 * owes the route effect when one moved. Undefined (route after the commit, as before) when no rule
 * set is compiled yet, or when a decision aggregates (folding reads the stored alerts).
 *
 * Every trigger is decided, deduplicated ones too (the statement alone knows which keys open an
 * alert); the decisions of those are not written. When no rule can apply to the service and no
 * maintenance window covers a trigger, one decision stands for all (`same`: no per-alert rows).
 */
export async function routeBeforeIngest(
  deps: RoutingDeps,
  input: {
    serviceId: string;
    defaultPolicyId: string | null;
    signals: readonly StoredSignal[];
    now: Date;
  },
): Promise<IngestRouting | undefined> {
  const ruleSet = compiledSets.get(deps.db);
  if (!ruleSet) return undefined;
  const { serviceId, defaultPolicyId, now } = input;
  const lastByKey = new Map<string, StoredSignal>();
  for (const signal of input.signals) lastByKey.set(signal.dedupKey, signal);
  if (!ruleSet.rules.some((rule) => inScope(rule, serviceId))) {
    const same = await sameForAll(deps, { ...input, triggers: lastByKey.values() });
    if (same === null) return undefined;
    if (same)
      return {
        serviceId,
        defaultPolicyId,
        ruleSetVersion: ruleSet.version,
        decisions: [],
        decisionOf: new Map(),
        same,
      };
  }
  const memo = newBatchMemo();
  const alerts: AlertToRoute[] = [];
  for (const signal of lastByKey.values()) {
    if (signal.action !== "trigger") continue;
    alerts.push({ ...alertOfSignal(signal, { id: 0, serviceId, now }), defaultPolicyId });
  }
  if (alerts.length === 0) return undefined;
  const verdicts = await deps.maintenance.verdictsFor(alerts, now);
  const rules = indexFor(ruleSet, serviceId);
  // Alerts that matched the same rules share a decision: written and listed once per request.
  const groups = new Map<Shape, { ix: number; routing: AlertRouting; micros: number; alerts: number }>();
  const decisionOf = new Map<string, number>();
  for (const [i, alert] of alerts.entries()) {
    const started = performance.now();
    const routing = routeWith(
      rules,
      alert,
      verdicts[i]!,
      defaultPolicyId,
      now,
      timeBudget(ROUTING_BUDGET_MS_PER_ALERT),
    );
    if (routing.decision.aggregate) return undefined;
    const known = shapeOf(deps, routing, ruleSet.version, now, memo);
    const shape = known instanceof Promise ? await known : known;
    let group = groups.get(shape);
    if (!group) {
      group = { ix: groups.size, routing, micros: 0, alerts: 0 };
      groups.set(shape, group);
    }
    group.micros += (performance.now() - started) * 1000;
    group.alerts++;
    decisionOf.set(alert.dedupKey, group.ix);
  }
  const decisions = [...groups].map(([shape, { routing, micros, alerts: n }]) =>
    ingestDecisionOf(shape, routing, Math.round(micros / n)),
  );
  return { serviceId, defaultPolicyId, ruleSetVersion: ruleSet.version, decisions, decisionOf };
}

/** The decision of a group of alerts with one shape (`routing`: one of them), as ingest writes it. */
function ingestDecisionOf(shape: Shape, routing: AlertRouting, durationMicros: number): IngestDecision {
  const { decision, evaluation } = routing;
  return {
    event: shape.trivial ? null : eventOf[decision.outcome],
    message: shape.message,
    decision: shape.trivial ? null : { ...(shape.decision as Record<string, Json>), durationMicros },
    state: shape.state,
    reason: shape.reason,
    labels: labelChanges(evaluation.actions) ?? null,
    severity: decision.severity ?? null,
    policyId: decision.outcome === "routed" ? (decision.policyId ?? null) : null,
    notify: shape.notify,
    tickets: decision.tickets.map((t) => ({
      ruleId: t.ruleId,
      spec: { system: t.system, project: t.project },
    })),
  };
}

/** Whether `rule` can match an alert of `serviceId` (enabled and in scope: what evaluateRules skips otherwise). */
function inScope(rule: CompiledRule, serviceId: string): boolean {
  return (
    rule.enabled && (!rule.serviceIds || rule.serviceIds.length === 0 || rule.serviceIds.includes(serviceId))
  );
}

/**
 * The decision every trigger of a request gets when no rule can apply to its service: routing as
 * before rules existed (the service's default policy, or unrouted), no log entry (the trivial
 * decision of writeOf). Asks maintenance for each trigger: undefined (decide per alert) as soon as
 * a window covers one; null (none to decide) when the request has no trigger.
 */
async function sameForAll(
  deps: RoutingDeps,
  input: { serviceId: string; defaultPolicyId: string | null; triggers: Iterable<StoredSignal>; now: Date },
): Promise<SameDecision | null | undefined> {
  const { serviceId, now } = input;
  const alerts: RoutableAlert[] = [];
  for (const signal of input.triggers) {
    if (signal.action !== "trigger") continue;
    alerts.push(alertOfSignal(signal, { id: 0, serviceId, now }));
  }
  const last = alerts.at(-1);
  if (!last) return null;
  const verdicts = await deps.maintenance.verdictsFor(alerts, now);
  if (verdicts.some((v) => v.action !== "none")) return undefined;
  // No action and no window: the outcome does not depend on the alert.
  const decision = decideRouting(last, { actions: [] }, { action: "none" }, input.defaultPolicyId);
  return decision.outcome === "unrouted"
    ? { state: decision.outcome, reason: decision.reason ?? null, policyId: null }
    : { state: null, reason: null, policyId: decision.policyId ?? null };
}

/** Counts what routeBeforeIngest decided for the alerts its statement opened (`results`). */
export function countRoutedBeforeIngest(routing: IngestRouting, results: readonly SignalResult[]): void {
  const { same } = routing;
  if (same) {
    countOutcomes(
      results.flatMap((r) =>
        r.outcome === "created" && r.alertId != null ? [{ alertId: r.alertId, state: same.state }] : [],
      ),
    );
    return;
  }
  countOutcomes(
    results.flatMap((r) => {
      const ix =
        r.outcome === "created" && r.alertId != null ? routing.decisionOf.get(r.dedupKey) : undefined;
      const decision = ix === undefined ? undefined : routing.decisions[ix];
      return decision && r.alertId != null ? [{ alertId: r.alertId, state: decision.state }] : [];
    }),
  );
}

/** Unrouted and suppressed alerts are counted (an alarm can watch unrouted ones). */
function countOutcomes(writes: readonly Pick<RoutingWrite, "alertId" | "state">[]): void {
  const unrouted = writes.filter((w) => w.state === "unrouted");
  const suppressed = writes.filter((w) => w.state === "suppressed").length;
  if (unrouted.length > 0) {
    metrics.addMetric("AlertsUnrouted", MetricUnit.Count, unrouted.length);
    logger.warn("alerts unrouted: no rule chose a policy and their service has no default", {
      alertIds: unrouted.map((w) => w.alertId),
    });
  }
  if (suppressed > 0) metrics.addMetric("AlertsSuppressed", MetricUnit.Count, suppressed);
}

// ---- Rules: CRUD, order, audit ------------------------------------------------------------------

/** Checks a rule for saving: shape and lengths, its condition compiles, its references exist. */
async function checkRuleForSave(deps: RoutingDeps, rule: RuleDraft, prefix: string): Promise<void> {
  checkRuleShape(rule, prefix);
  // A rule naming an unknown business calendar does not compile (condition.cel names it).
  const compiled = compileCondition(rule.condition, { calendars: await storedCalendars(deps.db) });
  if (!compiled.ok) throw conditionError(compiled.problems, prefix);
  await checkReferences(deps, [rule], [prefix]);
}

/**
 * The stored rules whose actions name a policy, channel, schedule or template that is gone (saved
 * before deletes were refused, migration 2026-11-30T0200), with what is missing. Such a rule
 * evaluates as an error: recorded on the decision, its actions not run (none of them: a rule half
 * applied, say suppressed but not routed, would be worse), later rules and the service's default
 * policy decide, so the alert is never dropped. Checked when the set is compiled: the guard keeps
 * what exists then from being deleted while a rule names it. Users live in the directory and are
 * not checked here (a user it does not know gets no delivery); a scope naming a gone service just
 * never matches it.
 */
async function danglingActions(
  deps: RoutingDeps,
  rules: readonly (RuleDraft & { id: string })[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (rules.length === 0) return out;
  const refs = referencesOf(rules);
  const existing = await existingReferencesOf(deps, refs);
  const assumed = { ...existing, userIds: refs.userIds, serviceIds: refs.serviceIds };
  for (const rule of rules) {
    const missing = firstMissingReference(rule, assumed);
    if (missing) out.set(rule.id, missing.message);
  }
  return out;
}

async function existingReferencesOf(deps: RoutingDeps, refs: ReturnType<typeof referencesOf>) {
  // A pinned template renders an alert message: of the built-in ones, the default alert template
  // (app/templates.ts builtinTemplateId("alert"); not imported: it would bring the template compiler).
  const builtin = [...refs.templateIds].filter((id) => id === "default-alert");
  const existing = await existingReferences(deps.db, {
    policyIds: [...refs.policyIds],
    channelIds: [...refs.channelIds],
    scheduleIds: [...refs.scheduleIds],
    templateIds: [...refs.templateIds],
    serviceIds: [...refs.serviceIds],
  });
  for (const id of builtin) existing.templateIds.add(id);
  return existing;
}

async function checkReferences(deps: RoutingDeps, rules: readonly RuleDraft[], prefixes: readonly string[]) {
  const refs = referencesOf(rules);
  const existing = await existingReferencesOf(deps, refs);
  const userIds = refs.userIds.size > 0 ? await deps.knownUsers([...refs.userIds]) : new Set<string>();
  for (const [i, rule] of rules.entries()) {
    const missing = firstMissingReference(rule, { ...existing, userIds }, prefixes[i] ?? "");
    if (missing) throw missing;
  }
}

export async function createRoutingRule(
  deps: RoutingDeps,
  input: { draft: RuleDraft; actor: string },
): Promise<{ rule: RoutingRule; version: number }> {
  await checkRuleForSave(deps, input.draft, "rule.");
  const count = (await loadRuleSet(deps.db, MAX_RULES + 1)).rules.length;
  if (count >= MAX_RULES) throw new PreconditionError(`the rule set holds ${MAX_RULES} rules already`);
  return savingReferences(deps, input.draft, () => createRule(deps.db, { ...input, now: deps.clock.now() }));
}

/**
 * Runs a rule's write; when a thing it names was deleted between the check and the write (the
 * references' foreign keys refuse it, migration 2026-11-30T0200), the check runs again to name it.
 */
async function savingReferences<T>(deps: RoutingDeps, rule: RuleDraft, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    await checkReferences(deps, [rule], ["rule."]);
    throw new PreconditionError("something the rule names was deleted meanwhile; reload and retry");
  }
}

export async function getRoutingRule(
  deps: RoutingDeps,
  id: string,
): Promise<{ rule: RoutingRule; version: number }> {
  const { version, rules } = await loadRuleSet(deps.db, MAX_RULES);
  const rule = rules.find((r) => r.id === id);
  if (!rule) throw new NotFoundError("routing rule", id);
  return { rule, version };
}

/** Rules in evaluation order, a page after rank `afterPosition`. */
export async function listRoutingRules(
  deps: RoutingDeps,
  input: { limit: number; afterPosition: number; serviceId?: string | undefined },
): Promise<{ rules: RoutingRule[]; version: number; next?: number | undefined }> {
  const { version, rules } = await loadRuleSet(deps.db, MAX_RULES);
  const wanted = rules.filter(
    (r) =>
      r.position > input.afterPosition &&
      (!input.serviceId ||
        !r.serviceIds ||
        r.serviceIds.length === 0 ||
        r.serviceIds.includes(input.serviceId)),
  );
  const page = wanted.slice(0, input.limit);
  const last = page.at(-1);
  return { rules: page, version, next: wanted.length > input.limit && last ? last.position : undefined };
}

/** Applies the patch to the stored rule and checks the whole result before saving. */
export async function updateRoutingRule(
  deps: RoutingDeps,
  input: { id: string; patch: Partial<RuleDraft>; actor: string },
): Promise<{ rule: RoutingRule; version: number }> {
  const { rule } = await getRoutingRule(deps, input.id);
  const draft: RuleDraft = {
    name: input.patch.name ?? rule.name,
    description: input.patch.description ?? rule.description,
    enabled: input.patch.enabled ?? rule.enabled,
    serviceIds: "serviceIds" in input.patch ? input.patch.serviceIds : rule.serviceIds,
    condition: input.patch.condition ?? rule.condition,
    actions: input.patch.actions ?? rule.actions,
    terminal: input.patch.terminal ?? rule.terminal,
  };
  await checkRuleForSave(deps, draft, "rule.");
  const result = await savingReferences(deps, draft, () =>
    updateRule(deps.db, { id: input.id, draft, actor: input.actor, now: deps.clock.now() }),
  );
  if (result.outcome === "not_found") throw new NotFoundError("routing rule", input.id);
  return result.write;
}

export async function deleteRoutingRule(
  deps: RoutingDeps,
  input: { id: string; actor: string },
): Promise<{ version: number }> {
  const result = await deleteRule(deps.db, { ...input, now: deps.clock.now() });
  if (!result) throw new NotFoundError("routing rule", input.id);
  return result;
}

export async function reorderRoutingRules(
  deps: RoutingDeps,
  input: { ids: readonly string[]; expectedVersion?: number | undefined; actor: string },
): Promise<{ version: number }> {
  const result = await reorderRules(deps.db, { ...input, now: deps.clock.now() });
  if (result.outcome === "mismatch") {
    throw new ValidationError(
      "rule_ids",
      `must list every rule exactly once (${result.ids.length} rules: ${result.ids.join(", ")})`,
    );
  }
  if (result.outcome === "stale") {
    throw new PreconditionError(
      `the rule set is at version ${result.version}, not the expected one; reload and retry`,
    );
  }
  return { version: result.version };
}

export function listRoutingRuleChanges(
  deps: RoutingDeps,
  input: { ruleId?: string | undefined; limit: number; beforeId?: number | undefined },
): Promise<RuleChangeRecord[]> {
  return listRuleChanges(deps.db, input);
}

export function listRoutingDecisions(
  deps: RoutingDeps,
  input: {
    alertId?: number | undefined;
    serviceId?: string | undefined;
    limit: number;
    beforeId?: number | undefined;
  },
): Promise<DecisionRecord[]> {
  return listDecisions(deps.db, input);
}

// ---- Test and simulate (no side effects) --------------------------------------------------------

/** The alert a test or simulation runs against: a sample (service given) or a stored one. */
export type AlertSource =
  | { readonly kind: "sample"; readonly alert: RoutableAlert }
  | { readonly kind: "stored"; readonly alertId: number };

async function alertOf(
  deps: RoutingDeps,
  source: AlertSource,
  field: string,
): Promise<{ alert: RoutableAlert; defaultPolicyId: string | null }> {
  if (source.kind === "stored") {
    const stored = await loadRoutableAlert(deps.db, source.alertId);
    if (!stored) throw new NotFoundError("alert", String(source.alertId));
    return { alert: stored, defaultPolicyId: stored.defaultPolicyId };
  }
  const service = await serviceDefaultPolicy(deps.db, source.alert.serviceId);
  if (!service)
    throw new ValidationError(`${field}.service_id`, `service ${source.alert.serviceId} does not exist`);
  return { alert: source.alert, defaultPolicyId: service.policyId };
}

/** One rule (stored or draft) against one alert at `at`: its result and the actions it would run. */
export async function testRoutingRule(
  deps: RoutingDeps,
  input: {
    rule: { kind: "stored"; id: string } | { kind: "draft"; draft: RuleDraft };
    source: AlertSource;
    at: Date;
  },
): Promise<{ result: RuleResult; actions: RuleAction[] }> {
  let rule: RuleDraft & { id: string };
  const calendars = await storedCalendars(deps.db);
  if (input.rule.kind === "stored") {
    rule = (await getRoutingRule(deps, input.rule.id)).rule;
  } else {
    checkRuleShape(input.rule.draft, "rule.");
    const compiled = compileCondition(input.rule.draft.condition, { calendars });
    if (!compiled.ok) throw conditionError(compiled.problems, "rule.");
    rule = { ...input.rule.draft, id: "" };
  }
  const { alert } = await alertOf(deps, input.source, "alert.sample");
  // A disabled or out-of-scope rule is still tested for its condition: that is what the user asks.
  const [compiled] = compileRules([{ ...rule, enabled: true, serviceIds: undefined }], calendars);
  const evaluation = evaluateRules(compiled ? [compiled] : [], alert, input.at);
  const result = evaluation.results[0] ?? {
    ruleId: rule.id,
    name: rule.name,
    outcome: "not_matched" as const,
  };
  return { result, actions: evaluation.actions.map((a) => a.action) };
}

export interface Simulation {
  readonly ruleSetVersion: number | null;
  readonly results: readonly RuleResult[];
  readonly actions: readonly { readonly ruleId: string; readonly action: RuleAction }[];
  readonly maintenance: MaintenanceVerdict;
  readonly decision: RoutingDecision;
}

/**
 * A stored or sample alert at `at` against the live rule set or a draft one: every rule's result,
 * the actions that would run, the maintenance verdict and the decision. Nothing is written.
 */
export async function simulateRouting(
  deps: RoutingDeps,
  input: { source: AlertSource; at: Date; draft?: readonly RuleDraft[] | undefined },
): Promise<Simulation> {
  let rules: readonly CompiledRule[];
  let version: number | null = null;
  if (input.draft) {
    if (input.draft.length > MAX_RULES)
      throw new ValidationError("draft.rules", `holds more than ${MAX_RULES} rules`);
    for (const [i, rule] of input.draft.entries()) checkRuleShape(rule, `draft.rules[${i}].`);
    await checkReferences(
      deps,
      input.draft,
      input.draft.map((_, i) => `draft.rules[${i}].`),
    );
    // A draft rule that does not compile is reported as that rule's error, like a stored one.
    rules = compileRules(
      input.draft.map((rule, i) => ({ ...rule, id: `draft-${i + 1}` })),
      await storedCalendars(deps.db),
    );
  } else {
    const live = await liveRuleSet(deps);
    rules = live.rules;
    version = live.version;
  }
  const { alert, defaultPolicyId } = await alertOf(deps, input.source, "alert.sample");
  const routing = await routeOne(deps, rules, alert, defaultPolicyId, input.at, {
    maxRules: MAX_RULES,
    overTime: () => false,
  });
  return {
    ruleSetVersion: version,
    results: routing.evaluation.results,
    actions: routing.evaluation.actions,
    maintenance: routing.maintenance,
    decision: routing.decision,
  };
}

/** The routing dependencies from an AppContext. */
export function routingDepsOf(
  ctx: Pick<AppContext, "database" | "clock" | "maintenance" | "directory">,
): RoutingDeps {
  return {
    db: ctx.database.db,
    clock: ctx.clock,
    maintenance: ctx.maintenance ?? noMaintenanceWindows,
    onCallUsers: async (scheduleId, at) => (await getOnCall(ctx, scheduleId, at)).users.map((u) => u.userId),
    knownUsers: async (ids) => new Set((await ctx.directory.getUsers(ids)).map((u) => u.id)),
  };
}
