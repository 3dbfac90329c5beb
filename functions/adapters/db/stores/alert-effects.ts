import { type Kysely, type RawBuilder, sql } from "kysely";
import {
  type AlertTransition,
  type EffectKind,
  type OwedEffect,
  TRANSITIONS,
} from "../../../domain/alerts/lifecycle.ts";
import type { Database, Json } from "../schema.ts";

// The effects outbox (alert_effects): the statement that changes alerts writes the effects it owes
// (`insertEffects`, a CTE inside that statement), the caller runs them right after the commit and
// completes them; housekeeping claims what a crash or a failure left pending. One row per request
// and kind, its alerts as a JSON list.

type Db = Kysely<Database>;

export type EffectRecord = OwedEffect;

/** An effect as statements return it inside a JSON array: `[id, kind, service_id, alert_ids, payload, attempts]`. */
export type EffectTuple = [number, EffectKind, string | null, number[], Json, number];

export function effectOf([id, kind, serviceId, alertIds, payload, attempts]: EffectTuple): EffectRecord {
  return { id, kind, serviceId, alertIds, payload, attempts };
}

/** `json_build_array(...)` of an alert_effects row (alias `e`), as EffectTuple. */
export const effectTupleSql = sql`json_build_array(e.id, e.kind, e.service_id, e.alert_ids, e.payload, e.attempts)`;

/** How long after its request an effect is left to the request before housekeeping may run it. */
export const EFFECT_GRACE_MS = 30_000;

/**
 * A data-modifying CTE body that writes effects: `rows` selects `(kind text, service_id uuid,
 * alert_ids jsonb, payload jsonb)`; rows with an empty alert list are skipped. Due for the sweeper
 * EFFECT_GRACE_MS after `now` (the request runs them itself before that).
 *
 * @example sql`with ..., effects as (${insertEffects(sql`select ...`, now)}) select ...`
 */
export function insertEffects(
  rows: RawBuilder<unknown>,
  now: Date,
  graceMs = EFFECT_GRACE_MS,
): RawBuilder<unknown> {
  const at = now.toISOString();
  const due = new Date(now.getTime() + graceMs).toISOString();
  return sql`
      insert into alert_effects as e (kind, service_id, alert_ids, payload, due_at, created_at, updated_at)
      select x.kind, x.service_id, x.alert_ids, x.payload, ${due}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
      from (${rows}) as x(kind, service_id, alert_ids, payload)
      where jsonb_array_length(x.alert_ids) > 0
      returning ${effectTupleSql} as effect`;
}

/** For each effect kind, the selects of the alerts whose transitions owe it (TRANSITIONS[...].effects). */
function sourcesByKind(
  alertsBy: Partial<Record<AlertTransition, RawBuilder<unknown>>>,
): Map<EffectKind, RawBuilder<unknown>[]> {
  const sources = new Map<EffectKind, RawBuilder<unknown>[]>();
  for (const [transition, alerts] of Object.entries(alertsBy) as [AlertTransition, RawBuilder<unknown>][]) {
    for (const kind of TRANSITIONS[transition].effects)
      sources.set(kind, [...(sources.get(kind) ?? []), alerts]);
  }
  return sources;
}

/** Effect rows when no transition owes anything. */
const noEffectRows = sql`select null::text, null::uuid, '[]'::jsonb, null::jsonb where false`;

/**
 * The effect rows (for `insertEffects`) that alert changes owe, by the lifecycle table: for each
 * transition, `alertsBy[transition]` selects `(id, service_id)` of the alerts it changed, and every
 * kind in TRANSITIONS[transition].effects gets one row per service with those alerts' ids.
 * `escalation.start` carries the service's escalation policy (an input of the start, which routing
 * will supply instead) and is owed only where the service has one.
 */
export function owedEffectRows(
  alertsBy: Partial<Record<AlertTransition, RawBuilder<unknown>>>,
): RawBuilder<unknown> {
  const sources = sourcesByKind(alertsBy);
  if (sources.size === 0) return noEffectRows;
  return sql.join(
    [...sources].map(([kind, alerts]) => {
      const changed = sql`(${sql.join(alerts, sql` union all `)}) as o(id, service_id)`;
      return kind === "escalation.start"
        ? sql`select ${kind}::text, o.service_id, jsonb_agg(o.id order by o.id),
              jsonb_build_object('policyId', s.escalation_policy_id)
            from ${changed} join services s on s.id = o.service_id and s.escalation_policy_id is not null
            group by o.service_id, s.escalation_policy_id`
        : sql`select ${kind}::text, o.service_id, jsonb_agg(o.id order by o.id), '{}'::jsonb
            from ${changed} group by o.service_id`;
    }),
    sql` union all `,
  );
}

/**
 * owedEffectRows for a statement whose alerts all belong to one service (a webhook request): the
 * service row is read once and, for `escalation.start`, only a service with a policy aggregates its
 * alert ids (a request to a service without one pays one index probe, not a join per alert).
 * `alertsBy[transition]` selects the `id` of the alerts it changed.
 */
export function owedEffectRowsOfService(
  serviceId: RawBuilder<unknown>,
  alertsBy: Partial<Record<AlertTransition, RawBuilder<unknown>>>,
): RawBuilder<unknown> {
  const sources = sourcesByKind(alertsBy);
  if (sources.size === 0) return noEffectRows;
  return sql.join(
    [...sources].map(([kind, alerts]) => {
      const ids = sql`(select coalesce(jsonb_agg(o.id order by o.id), '[]'::jsonb)
          from (${sql.join(alerts, sql` union all `)}) as o(id))`;
      if (kind === "escalation.start") {
        return sql`select ${kind}::text, s.id, ${ids}, jsonb_build_object('policyId', s.escalation_policy_id)
            from services s where s.id = ${serviceId} and s.escalation_policy_id is not null`;
      }
      // Routing's inputs as of this statement, so the request that runs it needs no read first.
      if (kind === "route") {
        return sql`select ${kind}::text, s.id, ${ids}, jsonb_build_object(
              'ruleSetVersion', (select version from routing_rule_set where id = 1),
              'defaultPolicyId', s.escalation_policy_id)
            from services s where s.id = ${serviceId}`;
      }
      return sql`select ${kind}::text, ${serviceId}, ${ids}, '{}'::jsonb`;
    }),
    sql` union all `,
  );
}

/**
 * The effects of `serviceId` still pending whose run failed before (or is overdue): a later request
 * of the same service runs them, so a sender's retry repairs a failed start at once.
 */
export function owedEffectsOf(serviceId: RawBuilder<unknown>, now: Date, limit: number): RawBuilder<unknown> {
  return sql`
      select ${effectTupleSql} as effect from alert_effects e
      where e.service_id = ${serviceId} and e.status = 'pending'
        and (e.attempts > 0 or e.due_at <= ${now.toISOString()}::timestamptz)
      order by e.id
      limit ${limit}::int`;
}

/**
 * Marks effects done (they ran). The mark is committed without waiting for the WAL flush
 * (`synchronous_commit` off for this statement's transaction only): a crash that loses it leaves
 * the effects pending, to run again, as a crash just before it does (every handler is idempotent),
 * and a request that owed them no longer waits a flush to answer (issue 10).
 * Run it on its own, never inside a transaction: the setting would hold for that transaction's commit.
 */
export async function completeEffects(db: Db, input: { ids: readonly number[]; now: Date }): Promise<void> {
  if (input.ids.length === 0) return;
  await sql`
    update alert_effects set status = 'done', last_error = null, updated_at = ${input.now.toISOString()}::timestamptz
    where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      and status = 'pending'
      and (select set_config('synchronous_commit', 'off', true)) is not null
  `.execute(db);
}

/**
 * Records a failed run: one more attempt, the error, and when it is due again; after `maxAttempts`
 * the effect is `failed` (kept, with its error, for an operator).
 */
export async function recordEffectFailure(
  db: Db,
  input: { ids: readonly number[]; error: string; now: Date; retryAt: Date; maxAttempts: number },
): Promise<void> {
  if (input.ids.length === 0) return;
  await sql`
    update alert_effects
    set attempts = attempts + 1, last_error = ${input.error.slice(0, 4000)},
      due_at = ${input.retryAt.toISOString()}::timestamptz, updated_at = ${input.now.toISOString()}::timestamptz,
      status = case when attempts + 1 >= ${input.maxAttempts}::int then 'failed' else 'pending' end
    where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      and status = 'pending'
  `.execute(db);
}

/**
 * Takes up to `limit` pending effects due at `now` (oldest first) and leases them until
 * `now + leaseMs`, so that a concurrent sweep passes them by; rows another transaction holds are
 * skipped.
 */
export async function claimDueEffects(
  db: Db,
  input: { now: Date; leaseMs: number; limit: number },
): Promise<EffectRecord[]> {
  const { rows } = await sql<{ effect: EffectTuple }>`
    with due as (
      select id from alert_effects
      where status = 'pending' and due_at <= ${input.now.toISOString()}::timestamptz
      order by due_at, id
      limit ${input.limit}::int
      for update skip locked
    )
    update alert_effects e
    set due_at = ${new Date(input.now.getTime() + input.leaseMs).toISOString()}::timestamptz
    from due where e.id = due.id
    returning ${effectTupleSql} as effect
  `.execute(db);
  return rows.map((r) => effectOf(r.effect)).sort((a, b) => a.id - b.id);
}

/** Deletes effects finished before `before`, at most `limit`; returns how many. */
export async function purgeFinishedEffects(db: Db, input: { before: Date; limit: number }): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    with gone as (
      delete from alert_effects
      where id in (
        select id from alert_effects
        where status = 'done' and updated_at < ${input.before.toISOString()}::timestamptz
        order by updated_at limit ${input.limit}::int
      )
      returning 1
    )
    select count(*)::int as count from gone
  `.execute(db);
  return rows[0]?.count ?? 0;
}

/**
 * Pending effects of `kind` that name any of `alertIds` (at most `limit`, oldest first): what a task
 * runs right after it wrote them (the escalation step its `notifications.deliver`), before the sweep.
 */
export async function pendingEffectsOfAlerts(
  db: Db,
  input: { kind: EffectKind; alertIds: readonly number[]; limit: number },
): Promise<EffectRecord[]> {
  if (input.alertIds.length === 0) return [];
  const { rows } = await sql<{ effect: EffectTuple }>`
    select ${effectTupleSql} as effect from alert_effects e
    where e.status = 'pending' and e.kind = ${input.kind}
      and exists (select 1 from jsonb_array_elements(${JSON.stringify(input.alertIds)}::jsonb) as i(id)
        where e.alert_ids @> jsonb_build_array(i.id))
    order by e.id
    limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => effectOf(r.effect));
}
