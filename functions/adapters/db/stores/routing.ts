import { type Kysely, type RawBuilder, sql } from "kysely";
import {
  type AlertEventType,
  type EffectKind,
  OPEN_STATUSES,
  type OwedEffect,
  TRANSITIONS,
} from "../../../domain/alerts/lifecycle.ts";
import type { Severity } from "../../../domain/alerts/severity.ts";
import type { Condition, RoutableAlert } from "../../../domain/routing/model.ts";
import type { RoutingRule, RuleAction, RuleDraft } from "../../../domain/routing/rules.ts";
import { prepared } from "../prepared-statements.ts";
import type { Database, Json } from "../schema.ts";
import { completeEffects, type EffectTuple, effectOf, insertEffects } from "./alert-effects.ts";
import { statusList } from "./alert-signals.ts";
import { type FirstStep, openEscalationsWithAlerts } from "./escalations.ts";

// Routing rules (routing_rules, ordered by `position`), the rule set's version (one row, bumped by
// every change in the statement that makes it) and the change log (before/after of every change);
// and on the alert path, the load of new alerts for routing and the one statement that writes what
// routing decided for a batch of them. Each write is ONE statement (data-modifying CTEs): atomic
// without a transaction, one round trip on the RDS Data API; lists travel as one JSON parameter.

type Db = Kysely<Database>;

export interface RuleWrite {
  readonly rule: RoutingRule;
  /** The rule set's version after the change. */
  readonly version: number;
}

interface RuleRow {
  id: string;
  position: number;
  name: string;
  description: string;
  enabled: boolean;
  service_ids: string[] | null;
  condition: Condition;
  actions: RuleAction[];
  terminal: boolean;
  created_by: string;
  created_at: Date | string;
  updated_by: string;
  updated_at: Date | string;
}

function ruleOf(row: RuleRow): RoutingRule {
  return {
    id: row.id,
    position: Number(row.position),
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    serviceIds: row.service_ids ?? undefined,
    condition: row.condition,
    actions: row.actions,
    terminal: row.terminal,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: new Date(row.updated_at),
  };
}

/** A rule row as JSON, with its rank (1-based place in the order) as `position`. */
const ruleJson = (alias: string) =>
  sql.raw(`jsonb_build_object('id', ${alias}.id, 'position', ${alias}.position, 'name', ${alias}.name,
    'description', ${alias}.description, 'enabled', ${alias}.enabled, 'service_ids', ${alias}.service_ids,
    'condition', ${alias}.condition, 'actions', ${alias}.actions, 'terminal', ${alias}.terminal,
    'created_by', ${alias}.created_by, 'created_at', ${alias}.created_at, 'updated_by', ${alias}.updated_by,
    'updated_at', ${alias}.updated_at)`);

const bumpVersion = (now: string, when = sql`true`) => sql`
    update routing_rule_set set version = version + 1, updated_at = ${now}::timestamptz where id = 1 and ${when}
    returning version`;

function draftColumns(draft: RuleDraft) {
  return {
    name: draft.name,
    description: draft.description,
    enabled: draft.enabled,
    serviceIds: draft.serviceIds && draft.serviceIds.length > 0 ? JSON.stringify(draft.serviceIds) : null,
    condition: JSON.stringify(draft.condition),
    actions: JSON.stringify(draft.actions),
    terminal: draft.terminal,
  };
}

/** Appends a rule at the end of the order; bumps the version and records the change. */
export async function createRule(
  db: Db,
  input: { draft: RuleDraft; actor: string; now: Date },
): Promise<RuleWrite> {
  const now = input.now.toISOString();
  const c = draftColumns(input.draft);
  const { rows } = await sql<{ rule: RuleRow; version: number }>`
    with v as (${bumpVersion(now)}),
    r as (
      insert into routing_rules (position, name, description, enabled, service_ids, condition, actions, terminal,
        created_by, created_at, updated_by, updated_at)
      select coalesce((select max(position) from routing_rules), 0) + 1, ${c.name}, ${c.description}, ${c.enabled},
        ${c.serviceIds}::jsonb, ${c.condition}::jsonb, ${c.actions}::jsonb, ${c.terminal}, ${input.actor},
        ${now}::timestamptz, ${input.actor}, ${now}::timestamptz
      from v
      returning *
    ),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select r.id, 'created', ${input.actor}, null, ${ruleJson("r")}, v.version, ${now}::timestamptz from r, v
    )
    select ${ruleJson("r")} as rule, v.version from r, v
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error("the routing rule set row is missing (migration 2026-11-29T1800 not applied?)");
  return { rule: await withRank(db, ruleOf(row.rule)), version: Number(row.version) };
}

/** The rule's place in the order (1-based), from its stored position. */
async function withRank(db: Db, rule: RoutingRule): Promise<RoutingRule> {
  const { rows } = await sql<{ rank: number }>`
    select count(*)::int as rank from routing_rules
    where position < ${rule.position}::int or (position = ${rule.position}::int and id <= ${rule.id}::uuid)
  `.execute(db);
  return { ...rule, position: rows[0]?.rank ?? rule.position };
}

/** Every rule in evaluation order (rank as `position`) and the version they make; at most `limit`. */
export async function loadRuleSet(db: Db, limit: number): Promise<{ version: number; rules: RoutingRule[] }> {
  const { rows } = await sql<{ version: number; rules: RuleRow[] | null }>`
    select (select version from routing_rule_set where id = 1) as version,
      (select json_agg(x.rule order by x.rank) from (
        select ${ruleJson("r")} || jsonb_build_object('position', row_number() over (order by r.position, r.id)) as rule,
          row_number() over (order by r.position, r.id) as rank
        from routing_rules r order by r.position, r.id limit ${limit}::int) as x) as rules
  `.execute(db);
  const row = rows[0];
  return { version: Number(row?.version ?? 0), rules: (row?.rules ?? []).map(ruleOf) };
}

/** The rule set's version alone (one index probe). */
export async function ruleSetVersion(db: Db): Promise<number> {
  const row = await db
    .selectFrom("routing_rule_set")
    .select("version")
    .where("id", "=", 1)
    .executeTakeFirst();
  return Number(row?.version ?? 0);
}

export type RuleUpdateOutcome = { outcome: "updated"; write: RuleWrite } | { outcome: "not_found" };

/** Replaces a rule's fields (the app merged the patch and checked the result); records before/after. */
export async function updateRule(
  db: Db,
  input: { id: string; draft: RuleDraft; actor: string; now: Date },
): Promise<RuleUpdateOutcome> {
  const now = input.now.toISOString();
  const c = draftColumns(input.draft);
  const { rows } = await sql<{ rule: RuleRow; version: number }>`
    with old as (select * from routing_rules where id = ${input.id}::uuid for update),
    v as (${bumpVersion(now, sql`exists (select 1 from old)`)}),
    r as (
      update routing_rules t set name = ${c.name}, description = ${c.description}, enabled = ${c.enabled},
        service_ids = ${c.serviceIds}::jsonb, condition = ${c.condition}::jsonb, actions = ${c.actions}::jsonb,
        terminal = ${c.terminal}, updated_by = ${input.actor}, updated_at = ${now}::timestamptz
      from old where t.id = old.id
      returning t.*
    ),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select r.id, 'updated', ${input.actor}, ${ruleJson("old")}, ${ruleJson("r")}, v.version, ${now}::timestamptz
      from r, old, v
    )
    select ${ruleJson("r")} as rule, v.version from r, v
  `.execute(db);
  const row = rows[0];
  if (!row) return { outcome: "not_found" };
  return {
    outcome: "updated",
    write: { rule: await withRank(db, ruleOf(row.rule)), version: Number(row.version) },
  };
}

/** Deletes a rule; the version is bumped and the rule kept in the change log. Null: no such rule. */
export async function deleteRule(
  db: Db,
  input: { id: string; actor: string; now: Date },
): Promise<{ version: number } | null> {
  const now = input.now.toISOString();
  const { rows } = await sql<{ version: number }>`
    with old as (delete from routing_rules where id = ${input.id}::uuid returning *),
    v as (${bumpVersion(now, sql`exists (select 1 from old)`)}),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select old.id, 'deleted', ${input.actor}, ${ruleJson("old")}, null, v.version, ${now}::timestamptz
      from old, v
    )
    select v.version from v
  `.execute(db);
  return rows[0] ? { version: Number(rows[0].version) } : null;
}

export type ReorderOutcome =
  | { outcome: "reordered"; version: number }
  /** The ids are not exactly the stored rules (one missing, unknown or repeated): `ids` are the stored ones. */
  | { outcome: "mismatch"; ids: string[] }
  /** The rule set moved since the caller read it. */
  | { outcome: "stale"; version: number };

/**
 * Gives the rules the order of `ids` (every rule exactly once), if the rule set is still at
 * `expectedVersion` (when given); records the old and new order.
 */
export async function reorderRules(
  db: Db,
  input: { ids: readonly string[]; expectedVersion?: number | undefined; actor: string; now: Date },
): Promise<ReorderOutcome> {
  const now = input.now.toISOString();
  const { rows } = await sql<{
    version: number | null;
    current: number;
    stored: string[] | null;
    ok: boolean;
  }>`
    with wanted as (
      select value as id, ordinality::int as position
      from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb) with ordinality
    ),
    current as (select version from routing_rule_set where id = 1 for update),
    stored as (select id, position from routing_rules),
    ok as (
      select (select count(*) from stored) = (select count(distinct id) from wanted)
        and (select count(*) from wanted) = (select count(distinct id) from wanted)
        and not exists (select 1 from wanted w where not exists (select 1 from stored s where s.id::text = w.id))
        and (${input.expectedVersion ?? null}::bigint is null
          or ${input.expectedVersion ?? null}::bigint = (select version from current)) as ok
    ),
    v as (
      update routing_rule_set set version = version + 1, updated_at = ${now}::timestamptz
      where id = 1 and (select ok from ok)
      returning version
    ),
    moved as (
      update routing_rules r set position = w.position
      from wanted w, v where r.id::text = w.id
      returning r.id
    ),
    logged as (
      insert into routing_rule_changes (rule_id, change, actor, before, after, version, created_at)
      select null, 'reordered', ${input.actor},
        (select jsonb_agg(id order by position, id) from stored), ${JSON.stringify(input.ids)}::jsonb, v.version,
        ${now}::timestamptz
      from v
    )
    select (select version from v) as version, (select version from current) as current,
      (select json_agg(id order by position, id) from stored) as stored, (select ok from ok) as ok
  `.execute(db);
  const row = rows[0];
  if (row?.version != null) return { outcome: "reordered", version: Number(row.version) };
  const stored = row?.stored ?? [];
  const sameSet =
    stored.length === input.ids.length &&
    new Set(input.ids).size === input.ids.length &&
    stored.every((id) => input.ids.includes(id));
  if (!sameSet) return { outcome: "mismatch", ids: stored };
  return { outcome: "stale", version: Number(row?.current ?? 0) };
}

export interface RuleChangeRecord {
  readonly id: number;
  readonly ruleId: string | null;
  readonly change: string;
  readonly actor: string;
  readonly before: Json | null;
  readonly after: Json | null;
  readonly version: number;
  readonly createdAt: Date;
}

/** The change log, newest first, optionally of one rule; `beforeId` pages. */
export async function listRuleChanges(
  db: Db,
  input: { ruleId?: string | undefined; limit: number; beforeId?: number | undefined },
): Promise<RuleChangeRecord[]> {
  let query = db.selectFrom("routing_rule_changes").selectAll().orderBy("id", "desc").limit(input.limit);
  if (input.ruleId) query = query.where("rule_id", "=", sql<string>`${input.ruleId}::uuid`);
  if (input.beforeId !== undefined) query = query.where("id", "<", input.beforeId);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    ruleId: r.rule_id,
    change: r.change,
    actor: r.actor,
    before: r.before,
    after: r.after,
    version: Number(r.version),
    createdAt: r.created_at,
  }));
}

/** Which of these ids exist, by kind (ids that are not uuids simply do not). */
export async function existingReferences(
  db: Db,
  refs: {
    policyIds: string[];
    channelIds: string[];
    scheduleIds: string[];
    templateIds: string[];
    serviceIds: string[];
  },
): Promise<{
  policyIds: Set<string>;
  channelIds: Set<string>;
  scheduleIds: Set<string>;
  templateIds: Set<string>;
  serviceIds: Set<string>;
}> {
  const list = (ids: string[]) =>
    sql`(select value from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`;
  const { rows } = await sql<{ kind: string; id: string }>`
    select 'policy' as kind, id::text as id from escalation_policies where id::text in ${list(refs.policyIds)}
    union all select 'channel', id::text from notification_channels where id::text in ${list(refs.channelIds)}
    union all select 'schedule', id::text from schedules where id::text in ${list(refs.scheduleIds)}
    -- A rule's notify_channel pins a template for an alert message: only alert templates qualify.
    union all select 'template', id::text from templates where id::text in ${list(refs.templateIds)} and kind = 'alert'
    union all select 'service', id::text from services where id::text in ${list(refs.serviceIds)} and deleted_at is null
  `.execute(db);
  const of = (kind: string) => new Set(rows.filter((r) => r.kind === kind).map((r) => r.id));
  return {
    policyIds: of("policy"),
    channelIds: of("channel"),
    scheduleIds: of("schedule"),
    templateIds: of("template"),
    serviceIds: of("service"),
  };
}

/** A new alert as routing loads it: what conditions see, and its service's default policy. */
export interface AlertToRoute extends RoutableAlert {
  readonly id: number;
  readonly defaultPolicyId: string | null;
}

type AlertTuple = [
  id: number,
  serviceId: string,
  summary: string,
  details: string,
  severity: string,
  source: string,
  dedupKey: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  createdAt: string,
  defaultPolicyId: string | null,
];

/**
 * The rule set's version and those of `alertIds` that still await routing (open, no routing
 * decision in their log, no routing state, no escalation: a route effect that runs twice routes
 * once), in ONE round trip.
 */
export async function loadAlertsToRoute(
  db: Db,
  input: {
    alertIds: readonly number[];
    /** The entry after which an alert awaits routing again (a suppressing window ended). */
    rerouteEvent: AlertEventType;
  },
): Promise<{ version: number; alerts: AlertToRoute[] }> {
  // Each alert is looked up by its key in a LATERAL subquery that `offset 0` keeps from being
  // flattened: a plan cached while the tables were small (prepared statements) could otherwise join
  // by scanning every open alert of the service, which grows with the table.
  const { rows } = await sql<{ version: number; alerts: AlertTuple[] }>`${prepared}
    select (select version from routing_rule_set where id = 1) as version,
      coalesce((
        select json_agg(json_build_array(a.id, a.service_id, a.summary, a.details, a.severity, a.source,
          a.dedup_key, a.labels, a.annotations, a.created_at, s.escalation_policy_id) order by a.id)
        from jsonb_array_elements_text(${JSON.stringify(input.alertIds)}::jsonb) as ids(value)
        cross join lateral (
          select * from alerts a
          where a.id = ids.value::bigint
            and a.status in (${statusList(OPEN_STATUSES)})
            and a.routing_state is null
            and not exists (select 1 from alert_escalations x where x.alert_id = a.id)
            and not exists (
              select 1 from alert_events e
              where e.alert_id = a.id and e.decision_id is not null
                -- Routed again after a maintenance window that suppressed it ended: only a decision
                -- after that counts (app/maintenance.ts releaseEndedMaintenance).
                and e.id > coalesce((select max(m.id) from alert_events m
                  where m.alert_id = a.id and m.type = ${input.rerouteEvent}), 0))
          offset 0
        ) as a
        cross join lateral (select escalation_policy_id from services s where s.id = a.service_id offset 0) as s
      ), '[]'::json) as alerts
  `.execute(db);
  const row = rows[0];
  return {
    version: Number(row?.version ?? 0),
    alerts: (row?.alerts ?? []).map(
      ([
        id,
        serviceId,
        summary,
        details,
        severity,
        source,
        dedupKey,
        labels,
        annotations,
        createdAt,
        policy,
      ]) => ({
        id,
        serviceId,
        summary,
        details,
        severity,
        source,
        dedupKey,
        labels,
        annotations,
        createdAt: new Date(createdAt),
        defaultPolicyId: policy,
      }),
    ),
  };
}

/** What to write for one routed alert (the app turned a domain decision into this). */
export interface RoutingWrite {
  readonly alertId: number;
  readonly serviceId: string;
  /**
   * The log entry's type and message; its data is the decision. Null: no entry (a service without
   * rules routes as before routing existed: its escalation's own entries are the record).
   */
  readonly event: AlertEventType | null;
  readonly message: string;
  /** The decision, without the time spent on this alert (`micros`, merged in as durationMicros). */
  readonly decision: Json;
  readonly micros: number;
  /** Kept on the alert (suppressed / unrouted), with the reason; null: nothing to show on the alert. */
  readonly state: string | null;
  readonly reason: string | null;
  readonly labels: Record<string, string> | null;
  readonly severity: Severity | null;
  readonly policyId: string | null;
  readonly aggregate: { readonly key: string; readonly windowSeconds: number } | null;
  readonly notify: readonly {
    readonly kind: "user" | "channel";
    readonly id: string;
    readonly reason: Json;
  }[];
  readonly tickets: readonly { readonly ruleId: string; readonly spec: Json }[];
}

/**
 * The two JSON parameters of a batch of decisions. Alerts of one batch mostly share their decision
 * (same rules, same outcome): each distinct decision travels once and rows point at it by `g` (a
 * 100-alert request sent 65 KB, now a few).
 */
function decisionParameters<W extends RoutingWrite>(
  writes: readonly W[],
  keyOf: (w: W) => Record<string, unknown>,
): { groupRows: unknown[]; perAlert: unknown[] } {
  const groups = new Map<string, number>();
  const groupRows: unknown[] = [];
  // Writes of one decision shape share its record object (app/routing.ts): each record is
  // serialized once per batch (by object), and groups are keyed by a short id of its text.
  const recordIds = new Map<Json, number>();
  const recordIdsByText = new Map<string, number>();
  const perAlert = writes.map((w) => {
    let record = recordIds.get(w.decision);
    if (record === undefined) {
      const text = JSON.stringify(w.decision);
      record = recordIdsByText.get(text);
      if (record === undefined) {
        record = recordIdsByText.size;
        recordIdsByText.set(text, record);
      }
      recordIds.set(w.decision, record);
    }
    const group = `${record}|${JSON.stringify([w.event, w.message, w.state, w.reason])}`;
    let ix = groups.get(group);
    if (ix === undefined) {
      ix = groupRows.length;
      groups.set(group, ix);
      groupRows.push({
        ix,
        event: w.event,
        message: w.message,
        data: w.decision,
        state: w.state,
        reason: w.reason,
      });
    }
    return {
      ...keyOf(w),
      g: ix,
      micros: w.micros,
      ...actionColumns(w),
    };
  });
  return { groupRows, perAlert };
}

/** A decision's actions as the routing statements' JSON rows carry them (empty lists as null). */
function actionColumns(d: Pick<RoutingWrite, "labels" | "severity" | "policyId" | "notify" | "tickets">) {
  return {
    labels: d.labels,
    severity: d.severity,
    policy_id: d.policyId,
    notify: d.notify.length > 0 ? d.notify : null,
    tickets: d.tickets.length > 0 ? d.tickets : null,
  };
}

const startEffect: EffectKind = "escalation.start";
/** delivery (issue 12): what a routing rule's direct notifications owe. */
const deliverEffect: EffectKind = "notifications.deliver";

/** Notifications a rule records directly sit apart from escalation steps (those count from 0). */
export const ROUTING_NOTIFICATION_STEP = -1;

/**
 * Writes what routing decided for a batch of alerts in ONE statement: alert changes (labels,
 * severity, visible state, aggregation), one log entry each with the decision, the direct
 * notifications, the pending tickets, and the `escalation.start` effects grouped by chosen policy
 * (returned, for the caller to run). An alert with an aggregation key folds into the oldest open
 * alert of its service with that key inside the window (one in the same batch included): it is
 * closed (`aggregate` transition) and counted there; its other actions are dropped.
 */
export async function applyRouting(
  db: Db,
  input: {
    writes: readonly RoutingWrite[];
    actor: string;
    now: Date;
    aggregatedState: string;
    /** The route effects this write completes (marked done in the same statement). */
    completes: readonly number[];
  },
): Promise<OwedEffect[]> {
  if (input.writes.length === 0) {
    await completeEffects(db, { ids: input.completes, now: input.now });
    return [];
  }
  const now = input.now.toISOString();
  const { groupRows, perAlert } = decisionParameters(input.writes, (w) => ({
    alert_id: w.alertId,
    service_id: w.serviceId,
    agg_key: w.aggregate?.key ?? null,
    agg_window: w.aggregate?.windowSeconds ?? null,
  }));
  const hasAggregation = input.writes.some((w) => w.aggregate);
  const hasChanges = input.writes.some((w) => w.labels || w.severity || w.aggregate || w.state !== null);
  const { aggregate } = TRANSITIONS;
  // Only the parts a batch needs are in the statement: planning a dozen CTEs cost more than running
  // them (a few text variants, each prepared once per connection).
  const parts: RawBuilder<unknown>[] = [
    sql`d as (
      select x.alert_id, x.service_id, g.event, g.message,
        g.data || jsonb_build_object('durationMicros', x.micros) as data, g.state, g.reason, x.labels,
        x.severity, x.policy_id, x.agg_key, x.agg_window, x.notify, x.tickets
      from jsonb_to_recordset(${JSON.stringify(perAlert)}::jsonb) as x(alert_id bigint, service_id uuid, g int,
        micros int, labels jsonb, severity text, policy_id uuid, agg_key text, agg_window int, notify jsonb,
        tickets jsonb)
      join jsonb_to_recordset(${JSON.stringify(groupRows)}::jsonb)
        as g(ix int, event text, message text, data jsonb, state text, reason text) on g.ix = x.g
    )`,
  ];
  if (hasAggregation) {
    parts.push(sql`
    candidates as (
      select h.id, h.service_id, h.aggregate_key as key, h.created_at from alerts h
      where h.aggregate_key in (select agg_key from d where agg_key is not null)
        and h.status in (${statusList(OPEN_STATUSES)})
      union all
      select d.alert_id, d.service_id, d.agg_key, ${now}::timestamptz from d where d.agg_key is not null
    ),
    head_of as (
      select distinct on (d.alert_id) d.alert_id, c.id as head_id
      from d join candidates c on c.service_id = d.service_id and c.key = d.agg_key and c.id < d.alert_id
        and c.created_at >= ${now}::timestamptz - make_interval(secs => d.agg_window)
      order by d.alert_id, c.id
    ),
    routed as (select d.*, f.head_id from d left join head_of f on f.alert_id = d.alert_id)`);
  } else {
    parts.push(sql`routed as (select d.*, null::bigint as head_id from d)`);
  }
  if (hasChanges) {
    parts.push(sql`
    counts as (select head_id, count(*)::int as n from routed where head_id is not null group by head_id),
    u as (
      select r.alert_id as id, r.head_id as folded_into, r.labels, r.severity, r.agg_key as head_key,
        coalesce(n.n, 0) as n, r.state, r.reason
      from routed r left join counts n on n.head_id = r.alert_id
      where r.head_id is not null or r.labels is not null or r.severity is not null or r.agg_key is not null
        or r.state is not null
      union all
      select n.head_id, null, null, null, null, n.n, null, null
      from counts n where not exists (select 1 from d where d.alert_id = n.head_id)
    ),
    changed as (
      update alerts a set
        status = case when u.folded_into is not null then ${aggregate.to} else a.status end,
        resolved_at = case when u.folded_into is not null then ${now}::timestamptz else a.resolved_at end,
        resolved_by = case when u.folded_into is not null then ${input.actor} else a.resolved_by end,
        aggregated_into = coalesce(u.folded_into, a.aggregated_into),
        labels = case when u.folded_into is null then coalesce(u.labels, a.labels) else a.labels end,
        severity = case when u.folded_into is null then coalesce(u.severity, a.severity) else a.severity end,
        aggregate_key = case when u.folded_into is null then coalesce(u.head_key, a.aggregate_key) else a.aggregate_key end,
        aggregate_count = a.aggregate_count + u.n,
        -- The visible state (one update per alert: a second CTE updating the same row would be lost).
        routing_state = case when u.folded_into is not null then ${input.aggregatedState}
          else coalesce(u.state, a.routing_state) end,
        routing_reason = case when u.folded_into is not null then 'folded into alert ' || u.folded_into
          when u.state is not null then coalesce(u.reason, '') else a.routing_reason end
      from u
      where a.id = u.id and (u.folded_into is null or a.status in (${statusList(aggregate.from)}))
        -- by key, whatever plan a prepared statement cached while the table was small
        and a.id = any (array(select id from u))
    )`);
  }
  if (input.writes.some((w) => w.event !== null || w.aggregate)) {
    parts.push(sql`
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at, decision_id)
      select alert_id, case when head_id is null then event else ${aggregate.event} end, ${input.actor},
        case when head_id is null then message else 'folded into alert ' || head_id end,
        case when head_id is null then data else data || jsonb_build_object('aggregatedInto', head_id) end,
        ${now}::timestamptz, nextval('routing_decisions_id_seq')
      from routed where event is not null or head_id is not null
      returning id, alert_id, type, decision_id
    ),
    listed as (
      -- One row per entry (each alert's decision here carries its own fold). Each entry's service
      -- from its alert by key (joined with routed, two CTEs estimated at one row, the planner looped
      -- over every pair).
      insert into routing_decisions (id, service_id, type, first_event_id, last_event_id, event_ids, alert_ids)
      select l.decision_id, a.service_id, l.type, l.id, l.id, array[l.id], array[l.alert_id]
      from logged l join alerts a on a.id = l.alert_id
    )`);
  }
  if (input.writes.some((w) => w.notify.length > 0)) {
    parts.push(sql`
    notified as (
      insert into notifications (alert_id, repeat_cycle, step_index, target_kind, target_id, reason, created_at)
      select r.alert_id, 0, ${ROUTING_NOTIFICATION_STEP}::int, t.kind, t.id, t.reason, ${now}::timestamptz
      from routed r cross join jsonb_to_recordset(r.notify) as t(kind text, id text, reason jsonb)
      where r.head_id is null
      on conflict do nothing
    )`);
  }
  if (input.writes.some((w) => w.tickets.length > 0)) {
    parts.push(sql`
    ticketed as (
      insert into alert_pending_actions (alert_id, kind, rule_id, spec, created_at)
      select r.alert_id, 'ticket', t.rule_id, t.spec, ${now}::timestamptz
      from routed r cross join jsonb_to_recordset(r.tickets) as t(rule_id uuid, spec jsonb)
    )`);
  }
  const escalates = input.writes.some((w) => w.policyId !== null);
  const notifies = input.writes.some((w) => w.notify.length > 0);
  const starts = escalates || notifies;
  if (starts) {
    // The chosen policies' escalation starts, and (delivery, issue 12) the direct notifications'
    // deliveries: one `notifications.deliver` per service, as an escalation step owes for its own.
    const rows = [
      escalates &&
        sql`select ${startEffect}::text, service_id, jsonb_agg(alert_id order by alert_id),
          jsonb_build_object('policyId', policy_id)
        from routed where head_id is null and policy_id is not null
        group by service_id, policy_id`,
      notifies &&
        sql`select ${deliverEffect}::text, service_id, jsonb_agg(alert_id order by alert_id), '{}'::jsonb
        from routed where head_id is null and notify is not null
        group by service_id`,
    ].filter((r): r is RawBuilder<unknown> => r !== false);
    parts.push(sql`
    effects as (${insertEffects(sql.join(rows, sql` union all `), input.now)})`);
  }
  parts.push(sql`
    completed as (
      update alert_effects set status = 'done', last_error = null, updated_at = ${now}::timestamptz
      where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.completes)}::jsonb))
        and status = 'pending'
    )`);
  const { rows } = await sql<{ effects: EffectTuple[] | null }>`${prepared}
    with ${sql.join(parts, sql`,`)}
    select ${starts ? sql`(select json_agg(effect) from effects)` : sql`null::json`} as effects
  `.execute(db);
  return (rows[0]?.effects ?? []).map(effectOf);
}

/**
 * Routing decided before the ingest statement ran (app/routing.ts routeBeforeIngest), for that
 * statement to write with the alerts it opens: one commit instead of an alert write, a route
 * effect, and a second statement that writes the decisions and completes the effect. Decided per
 * dedup key on the assumption of a service, its default policy and a rule-set version; the
 * statement checks all three and, if one moved, owes the `route` effect instead (routed after the
 * commit as before). Never with aggregation (folding reads other alerts: the route effect does it).
 */
export interface IngestRouting {
  readonly serviceId: string;
  readonly defaultPolicyId: string | null;
  readonly ruleSetVersion: number;
  /**
   * The request's distinct decisions (alerts that matched the same rules share one): each travels
   * and is listed once. Empty with `same`.
   */
  readonly decisions: readonly IngestDecision[];
  /** The decision (index in `decisions`) of each trigger, by dedup key (the last signal of its key). */
  readonly decisionOf: ReadonlyMap<string, number>;
  /**
   * The one decision of every alert the statement opens, when no rule can apply to the service and
   * no maintenance window covers a trigger: no per-alert rows travel or are joined.
   */
  readonly same?: SameDecision | undefined;
}

/** One decision shared by some of a request's triggers (see RoutingWrite for the fields). */
export interface IngestDecision {
  readonly event: AlertEventType | null;
  readonly message: string;
  /** The decision as logged, the time spent included (`durationMicros`: per alert, on average). */
  readonly decision: Json;
  readonly state: string | null;
  readonly reason: string | null;
  /** What set_labels writes over the sender's labels (later rules win); null: nothing. */
  readonly labels: Readonly<Record<string, string>> | null;
  readonly severity: Severity | null;
  readonly policyId: string | null;
  readonly notify: RoutingWrite["notify"];
  readonly tickets: RoutingWrite["tickets"];
}

/**
 * A decision shared by a request's new alerts that writes no log entry (routing as before rules
 * existed): the service's default policy, or a visible state (unrouted) and its reason.
 */
export interface SameDecision {
  readonly state: string | null;
  readonly reason: string | null;
  readonly policyId: string | null;
}

/**
 * The parts of the ingest statement that write `routing` (see IngestRouting). `before` are CTEs
 * ahead of the insert: `decided_ok` (whether the assumptions hold) and `decision_groups` (the
 * distinct decisions, `ix` their index, with the routing_decisions id of those logged);
 * `decisionOf` the decision index each trigger's batch row carries as `g`;
 * `signalsWithDecisions` replaces `last_signal` as the insert's source (the sender's labels with the
 * rule's merged in, routed severity, and the visible state as `routing_state`, `routing_reason`);
 * `labelsPatched` whether routing changes labels (a deduplicated trigger then still stores the
 * sender's, as before); `after` are CTEs that follow the insert CTE
 * `triggered (id, dedup_key, inserted)`: `decided_new` (every triggered row, with its decision when
 * it opened an alert), `routed_new` (the new alerts' decisions), notifications and tickets.
 * A decision is written with the alert, as its `created` entry's message and data (one entry, not
 * two): `created` selects every triggered row's entry fields (alert_id, inserted, message, data,
 * decision_id), and `listed` lists each logged decision once in routing_decisions, after the log
 * insert `logged` (returning id, alert_id, decision_id).
 * `events` selects other log entries (escalations started) and `starts` the `escalation.start`
 * effect rows (for insertEffects); `delivered` the deliveries a first step wrote (`id`,
 * `next_attempt_at`), if it can write any.
 */
export function ingestRoutingParts(
  routing: IngestRouting,
  on: {
    serviceId: RawBuilder<unknown>;
    now: Date;
    /** issue 10: the escalations' first steps, planned ahead (openEscalationsWithAlerts). */
    firstSteps?: readonly FirstStep[] | undefined;
  },
) {
  if (routing.same) return sameDecisionParts(routing, routing.same, on);
  const now = on.now.toISOString();
  const { decisions } = routing;
  const entries = decisions.some((d) => d.event !== null);
  const groupRows = decisions.map((d, ix) => ({
    ix,
    event: d.event,
    message: d.message,
    data: d.event === null ? null : d.decision,
    state: d.state,
    reason: d.reason,
    ...actionColumns(d),
  }));
  const after: RawBuilder<unknown>[] = [
    // Every triggered row with its decision when it opened an alert (one pass: the log entries and
    // the decisions' other writes read it, no join of CTEs per consumer).
    sql`
    decided_new as (
      select t.id as alert_id, t.inserted, d.ix, d.event, d.message, d.data, d.policy_id, d.notify, d.tickets,
        ${entries ? sql`d.decision_id` : sql`null::bigint as decision_id`}
      from triggered t join last_signal l on l.dedup_key = t.dedup_key
        left join decision_groups d on d.ix = l.g and t.inserted and (select ok from decided_ok)
    ),
    routed_new as (
      select alert_id, policy_id, notify, tickets from decided_new where ix is not null
    )`,
  ];
  if (decisions.some((d) => d.notify.length > 0)) {
    after.push(sql`
    notified as (
      insert into notifications (alert_id, repeat_cycle, step_index, target_kind, target_id, reason, created_at)
      select r.alert_id, 0, ${ROUTING_NOTIFICATION_STEP}::int, t.kind, t.id, t.reason, ${now}::timestamptz
      from routed_new r cross join jsonb_to_recordset(r.notify) as t(kind text, id text, reason jsonb)
      on conflict do nothing
    )`);
  }
  if (decisions.some((d) => d.tickets.length > 0)) {
    after.push(sql`
    ticketed as (
      insert into alert_pending_actions (alert_id, kind, rule_id, spec, created_at)
      select r.alert_id, 'ticket', t.rule_id, t.spec, ${now}::timestamptz
      from routed_new r cross join jsonb_to_recordset(r.tickets) as t(rule_id uuid, spec jsonb)
    )`);
  }
  const start: EffectKind = "escalation.start";
  const policyIds = decisions.flatMap((d) => (d.policyId ? [d.policyId] : []));
  const opened =
    policyIds.length > 0
      ? openEscalationsWithAlerts("routed_new", {
          serviceId: on.serviceId,
          policyIds,
          now: on.now,
          kind: start,
          firstSteps: on.firstSteps,
        })
      : undefined;
  if (opened) after.push(opened.ctes);
  return {
    before: sql`
    ${decidedOk(routing, on.serviceId)},
    decision_groups as (
      select g.*${
        entries
          ? sql`,
        -- The routing_decisions row that will list the decision's entries (logged ones only).
        case when g.event is not null then nextval('routing_decisions_id_seq') end as decision_id`
          : sql``
      }
      from jsonb_to_recordset(${JSON.stringify(groupRows)}::jsonb) as g(ix int, event text, message text,
        data jsonb, state text, reason text, labels jsonb, severity text, policy_id uuid, notify jsonb,
        tickets jsonb)
    )`,
    signalsWithDecisions: sql`(
      select l.ord, l.triggers, l.action, l.dedup_key, l.summary, l.details, l.source, l.annotations, l.raw,
        case when o.ok and d.labels is not null then l.labels || d.labels else l.labels end as labels,
        case when o.ok then coalesce(d.severity, l.severity) else l.severity end as severity,
        case when o.ok then d.state end as routing_state,
        case when o.ok and d.state is not null then coalesce(d.reason, '') end as routing_reason
      from last_signal l left join decision_groups d on d.ix = l.g cross join decided_ok o)`,
    decisionOf: routing.decisionOf as ReadonlyMap<string, number> | undefined,
    labelsPatched: decisions.some((d) => d.labels !== null),
    after: sql.join(after, sql`,`),
    created: sql`decided_new` as RawBuilder<unknown> | undefined,
    listed: entries
      ? sql`
    listed as (
      insert into routing_decisions (id, service_id, type, first_event_id, last_event_id, event_ids, alert_ids)
      select x.decision_id, ${on.serviceId}, (select g.event from decision_groups g where g.decision_id = x.decision_id),
        x.first_event_id, x.last_event_id, x.event_ids, x.alert_ids
      from (
        select decision_id, min(id) as first_event_id, max(id) as last_event_id,
          array_agg(id order by id) as event_ids, array_agg(alert_id order by id) as alert_ids
        from logged where decision_id is not null group by decision_id
      ) as x
    )`
      : undefined,
    events: opened ? opened.events : noEvents,
    // The escalations are opened here too (one cohort per policy): their starts name the execution;
    // (delivery, issue 12) the direct notifications owe their deliveries, one effect for the service.
    starts: sql.join(
      [
        ...(opened ? [opened.starts] : []),
        ...(decisions.some((d) => d.notify.length > 0)
          ? [
              sql`select ${deliverEffect}::text, ${on.serviceId}, jsonb_agg(alert_id order by alert_id), '{}'::jsonb
                from routed_new where notify is not null`,
            ]
          : []),
        sql`select null::text, null::uuid, '[]'::jsonb, null::jsonb where false`,
      ],
      sql` union all `,
    ),
    applied: sql`(select ok from decided_ok)`,
    delivered: opened?.delivered,
  };
}

const noEvents = sql`select null::bigint, null::text, null::text, null::text, null::jsonb, null::timestamptz where false`;

/** `decided_ok`: whether the assumptions of `routing` hold (rule-set version, service, default policy). */
function decidedOk(routing: IngestRouting, serviceId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    decided_ok as (
      select coalesce((select version from routing_rule_set where id = 1) = ${routing.ruleSetVersion}::bigint
        and exists (select 1 from services s
          where s.id = ${serviceId} and s.id = ${routing.serviceId}::uuid
            and s.escalation_policy_id is not distinct from ${routing.defaultPolicyId}::uuid), false) as ok
    )`;
}

/**
 * ingestRoutingParts for a SameDecision: the new alerts are the decided ones (no `decided` rows),
 * their labels and severity the sender's, no log entry of routing; the visible state or the
 * escalation as the general parts write them.
 */
function sameDecisionParts(
  routing: IngestRouting,
  same: SameDecision,
  on: { serviceId: RawBuilder<unknown>; now: Date; firstSteps?: readonly FirstStep[] | undefined },
) {
  const after: RawBuilder<unknown>[] = [
    sql`
    routed_new as (
      select t.id as alert_id, ${same.policyId}::uuid as policy_id from triggered t
      where t.inserted and (select ok from decided_ok)
    )`,
  ];
  const opened = same.policyId
    ? openEscalationsWithAlerts("routed_new", {
        serviceId: on.serviceId,
        policyIds: [same.policyId],
        now: on.now,
        kind: "escalation.start",
        firstSteps: on.firstSteps,
      })
    : undefined;
  if (opened) after.push(opened.ctes);
  return {
    before: decidedOk(routing, on.serviceId),
    signalsWithDecisions:
      same.state === null
        ? sql`(select *, null::text as routing_state, null::text as routing_reason from last_signal)`
        : sql`(
      select l.*, case when o.ok then ${same.state}::text end as routing_state,
        case when o.ok then ${same.reason ?? ""}::text end as routing_reason
      from last_signal l cross join decided_ok o)`,
    decisionOf: undefined,
    labelsPatched: false,
    after: sql.join(after, sql`,`),
    created: undefined,
    listed: undefined,
    events: opened ? opened.events : noEvents,
    starts: opened
      ? sql`${opened.starts} union all select null::text, null::uuid, '[]'::jsonb, null::jsonb where false`
      : sql`select null::text, null::uuid, '[]'::jsonb, null::jsonb where false`,
    applied: sql`(select ok from decided_ok)`,
    delivered: opened?.delivered,
  };
}

interface DecisionRow {
  id: number | string;
  alert_id: number | string;
  service_id: string;
  type: string;
  message: string;
  data: Json;
  created_at: Date | string;
}

export interface DecisionRecord {
  readonly eventId: number;
  readonly alertId: number;
  readonly serviceId: string;
  readonly type: string;
  readonly message: string;
  readonly decision: Json;
  readonly createdAt: Date;
}

/**
 * The routing decisions in alert logs (the entries routing_decisions lists, with their decision's
 * type: `created` entries of alerts routed by ingest say routed, suppressed...), newest first, of one
 * alert (its log, by alert_events_alert_idx: the entries that name a decision) or of one service or
 * all (by routing_decisions: a page reads about `limit` entries however rare they are in the log).
 */
export async function listDecisions(
  db: Db,
  input: {
    alertId?: number | undefined;
    serviceId?: string | undefined;
    limit: number;
    beforeId?: number | undefined;
  },
): Promise<DecisionRecord[]> {
  const byService = input.serviceId === undefined ? sql`true` : sql`d.service_id = ${input.serviceId}::uuid`;
  const before = input.beforeId ?? Number.MAX_SAFE_INTEGER;
  const { rows } =
    input.alertId !== undefined
      ? await sql<DecisionRow>`
          select e.id, e.alert_id, d.service_id, d.type, e.message, e.data, e.created_at
          from alert_events e join routing_decisions d on d.id = e.decision_id
          where e.alert_id = ${input.alertId}::bigint and ${byService} and e.id < ${before}::bigint
          order by e.id desc limit ${input.limit}::int
        `.execute(db)
      : // A row lists one decision's entries (of one request, by entry id between first and last).
        // The newest `limit` rows by last entry hold at least `limit` entries below `before`: the
        // `limit`-th newest of those (`cutoff`) bounds the page from below, and every row with an
        // entry in the page has its last entry at or above it (rows of concurrent requests overlap).
        await sql<DecisionRow>`
          with newest as (
            select d.event_ids from routing_decisions d
            where ${byService} and d.first_event_id < ${before}::bigint
            order by d.last_event_id desc limit ${input.limit}::int
          ),
          cutoff as (
            select coalesce((
              select u.event_id from newest n cross join unnest(n.event_ids) as u(event_id)
              where u.event_id < ${before}::bigint
              order by u.event_id desc offset ${input.limit - 1}::int limit 1), 0) as event_id
          )
          select e.id, e.alert_id, d.service_id, d.type, e.message, e.data, e.created_at
          from routing_decisions d
          cross join unnest(d.event_ids) as u(event_id)
          join alert_events e on e.id = u.event_id
          where ${byService} and d.first_event_id < ${before}::bigint
            and d.last_event_id >= (select event_id from cutoff)
            and u.event_id < ${before}::bigint and u.event_id >= (select event_id from cutoff)
          order by u.event_id desc limit ${input.limit}::int
        `.execute(db);
  return rows.map((r) => ({
    eventId: Number(r.id),
    alertId: Number(r.alert_id),
    serviceId: r.service_id,
    type: r.type,
    message: r.message,
    decision: r.data,
    createdAt: new Date(r.created_at),
  }));
}

/** A stored alert as a simulation sees it (any status). */
export async function loadRoutableAlert(db: Db, id: number): Promise<AlertToRoute | undefined> {
  const row = await db
    .selectFrom("alerts as a")
    .innerJoin("services as s", "s.id", "a.service_id")
    .select([
      "a.id",
      "a.service_id",
      "a.summary",
      "a.details",
      "a.severity",
      "a.source",
      "a.dedup_key",
      "a.labels",
      "a.annotations",
      "a.created_at",
      "s.escalation_policy_id",
    ])
    .where("a.id", "=", id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: Number(row.id),
    serviceId: row.service_id,
    summary: row.summary,
    details: row.details,
    severity: row.severity,
    source: row.source,
    dedupKey: row.dedup_key,
    labels: row.labels,
    annotations: row.annotations,
    createdAt: row.created_at,
    defaultPolicyId: row.escalation_policy_id,
  };
}

/** A service's default escalation policy; undefined when there is no such (live) service. */
export async function serviceDefaultPolicy(
  db: Db,
  serviceId: string,
): Promise<{ policyId: string | null } | undefined> {
  const row = await db
    .selectFrom("services")
    .select("escalation_policy_id")
    .where("id", "=", sql<string>`${serviceId}::uuid`)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  return row ? { policyId: row.escalation_policy_id } : undefined;
}
