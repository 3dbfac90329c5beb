import { randomUUID } from "node:crypto";
import { type Kysely, type RawBuilder, sql } from "kysely";
import {
  type EffectKind,
  type OwedEffect,
  SYSTEM_ACTOR,
  TRIGGERED,
} from "../../../domain/alerts/lifecycle.ts";
import {
  type AlertStatus,
  type CohortFinish,
  type CohortStepGroup,
  cohortExecutionName,
  type EscalationLogEntry,
  type EscalationPolicy,
  type EscalationPosition,
  type EscalationState,
  type EscalationStatus,
  escalationCompleted,
  escalationFailed,
  escalationStarted,
  type ManualEscalation,
  type ManualEscalationContext,
  type StepPlan,
} from "../../../domain/escalation/index.ts";
import { type PlannedDelivery, type PlanProblem, pageKeyAround } from "../../../domain/notifications/plan.ts";
import type { Database, Json } from "../schema.ts";
import { type EffectTuple, effectOf, insertEffects } from "./alert-effects.ts";
import { deliveryRow, deliveryRowColumns, insertDeliveryRows, recipientsVersionIs } from "./deliveries.ts";
import { policyDefinitionJson } from "./escalation-policies.ts";

// Each alert's escalation state (alert_escalations) and the pending deliveries it records
// (notifications). Escalations opened together share an execution (a cohort, by execution_name);
// the state stays per alert. Every change is ONE statement (data-modifying CTEs), for a whole cohort
// at once: atomic without a transaction, one round trip on the RDS Data API. A step is recorded for
// an alert only if its escalation is still at the position the caller read (compare-and-set on
// step_index / repeat_cycle, per alert) and the alert is still triggered (read under `for share`, so
// an acknowledge either commits before and is seen, or waits until the step is recorded; an alert
// locked by a change in progress is skipped and read again).
// notifications is unique per (alert, cycle, step, target): a step that is somehow recorded twice
// still pages once. Lists travel as one JSON parameter (the Data API takes no arrays); parameters
// are cast explicitly. Rows named by such a list are looked up with `= any(array(select ...))`: an
// index probe per id, where a join on the unestimated JSON rows hashed every open alert (29 ms
// instead of ~1 ms per 100 alerts on PGlite with 8,000 open alerts, growing with the table).

type Db = Kysely<Database>;

/** Actor of the alert log entries the escalation engine writes. */
export const escalationActor = SYSTEM_ACTOR;

/** `insert into alert_events` of one entry for each alert id in `from` (a CTE with `alert_id`). */
function logEntry(from: string, entry: EscalationLogEntry, actor: string, now: string) {
  return sql`
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select alert_id, ${entry.type}, ${actor}, ${entry.message}, ${JSON.stringify(entry.data)}::jsonb, ${now}::timestamptz
      from ${sql.table(from)}`;
}

export interface EscalationRecord extends EscalationState {
  readonly alertId: number;
  readonly policyId: string;
  /**
   * The execution that walks it. Its id follows from the name (on AWS
   * `arn:aws:states:<region>:<account>:execution:<machine>:<name>`), so nothing notes a start on the
   * row: a start still owed is its `escalation.start` effect, pending in the outbox.
   */
  readonly executionName: string;
  readonly lastError: string | null;
}

interface EscalationRow {
  alert_id: number;
  policy_id: string;
  status: EscalationStatus;
  step_index: number;
  repeat_cycle: number;
  next_step_at: Date | null;
  execution_name: string;
  last_error: string | null;
}

const escalationColumns = sql.raw(
  "e.alert_id, e.policy_id, e.status, e.step_index, e.repeat_cycle, e.next_step_at, e.execution_name, e.last_error",
);

function toRecord(row: EscalationRow): EscalationRecord {
  return {
    alertId: row.alert_id,
    policyId: row.policy_id,
    status: row.status,
    stepIndex: row.step_index,
    repeatCycle: row.repeat_cycle,
    nextStepAt: row.next_step_at,
    executionName: row.execution_name,
    lastError: row.last_error,
  };
}

/** An execution to start (or stop): its name and the alerts whose escalations it walks. */
export interface PendingStart {
  readonly executionName: string;
  readonly alertIds: readonly number[];
}

/**
 * Opens an escalation along `policyId` for each of `alertIds` that is triggered and has none yet, all
 * in the cohort `executionName` (by default cohortExecutionName's with a random nonce): step 0 due `now`, an `escalation_started` log
 * entry. Idempotent. Returns the executions to start: the cohort opened now, and the execution of
 * every other active escalation of these alerts, so that running a start again (a retried
 * `escalation.start` effect) starts whatever may not have started; starting an execution that runs
 * or ran is a no-op (EscalationRunner.start).
 */
export async function openEscalations(
  db: Db,
  input: { alertIds: readonly number[]; policyId: string; executionName?: string; now: Date },
): Promise<PendingStart[]> {
  if (input.alertIds.length === 0) return [];
  const executionName = input.executionName ?? cohortExecutionName(input.alertIds, randomUUID().slice(0, 8));
  const now = input.now.toISOString();
  const ids = JSON.stringify([...input.alertIds].sort((x, y) => x - y));
  const { rows } = await sql<{ execution_name: string; alert_ids: number[] }>`
    -- Held (key share) so that neither can be deleted before the escalations that name them are in:
    -- no foreign key checks them (migration 2026-11-30T0500).
    with policy as (
      select id from escalation_policies where id = ${input.policyId}::uuid for key share
    ),
    candidates as (
      select a.id as alert_id from alerts a
      where a.id = any(array(select value::bigint from jsonb_array_elements_text(${ids}::jsonb)))
        and a.status = ${TRIGGERED} and exists (select 1 from policy)
      order by a.id
      for key share
    ),
    opened as (
      insert into alert_escalations as e (alert_id, policy_id, status, step_index, repeat_cycle, next_step_at,
        execution_name, created_at, updated_at)
      select alert_id, ${input.policyId}::uuid, 'active', 0, 0, ${now}::timestamptz, ${executionName},
        ${now}::timestamptz, ${now}::timestamptz
      from candidates
      order by alert_id
      on conflict (alert_id) do nothing
      returning e.alert_id, e.execution_name
    ),
    logged as (${logEntry("opened", escalationStarted(input.policyId), escalationActor, now)}),
    pending as (
      select alert_id, execution_name from opened
      union
      select e.alert_id, e.execution_name from alert_escalations e
      where e.alert_id = any(array(select alert_id from candidates)) and e.status = 'active'
    )
    select execution_name, json_agg(alert_id order by alert_id) as alert_ids
    from pending group by execution_name order by min(alert_id)
  `.execute(db);
  return rows.map((r) => ({ executionName: r.execution_name, alertIds: r.alert_ids.map(Number) }));
}

/**
 * A policy's first step, planned before the ingest statement (app/escalations.ts planFirstSteps):
 * step 0 is due the moment an escalation opens, so the statement that opens it records it too,
 * if the policy is still `definition` (checked in the statement; else it opens at step 0 and the
 * execution runs the step, as before).
 */
export interface FirstStep {
  readonly policyId: string;
  /** The policy as planned (`{ repeatCount, steps }`, as policyDefinitionJson reads it). */
  readonly definition: Omit<EscalationPolicy, "id">;
  readonly plan: StepPlan;
  /**
   * The step's notifications planned into deliveries ahead too (app/delivery-planning.ts
   * planFirstStepDeliveries): the statement writes them and the notifications already planned, and
   * owes no `notifications.deliver`. Undefined: the notifications are written unplanned and owe it.
   */
  readonly deliveries?: FirstStepDeliveries | undefined;
}

/**
 * The alert id a first step's deliveries are planned for before their alerts exist (and their
 * notification id): the statement writes each delivery for every alert of the step with the
 * alert's own ids (its key split by pageKeyAround).
 */
export const FIRST_STEP_PLACEHOLDER_ID = 0;

/** What planning made of each notification of a first step, for the alert FIRST_STEP_PLACEHOLDER_ID. */
export interface FirstStepDeliveries {
  /** Deliveries of the step's notifications, by recipient (`recipientKind`, `recipientId`). */
  readonly deliveries: readonly PlannedDelivery[];
  /** The recipients nobody could be paged through: `no_contact_method` entries on each alert's log. */
  readonly problems: readonly PlanProblem[];
  /**
   * The recipients version (recipientsVersion) they were planned from, when planned from recipients
   * remembered across requests: written only if it is still that (else planned after the statement).
   */
  readonly recipientsVersion?: string | undefined;
}

/**
 * Escalations opened by the statement that creates their alerts (the ingest statement, when it
 * writes routing: adapters/db/stores/routing.ts): what openEscalations does for fresh alerts, without
 * its own round trip. `from` is a CTE of `(alert_id, policy_id)` of new, triggered alerts; one cohort
 * per policy, named as cohortExecutionName names it. `ctes` open them (CTE `esc_named` holds each
 * alert's execution name), `events` selects their log entries (for the statement's log insert, so
 * they follow the alert's earlier entries), `starts` the effect rows: `escalation.start`, whose
 * payload names the execution (the start needs no open first: escalationEffectHandlers).
 *
 * With `firstSteps` (issue 10) the policy's first step is recorded here as well, for each policy
 * whose definition is still the one planned (CTE `esc_first`): the escalation is written at the
 * position after it, with its notifications, its `escalated` entry and their `notifications.deliver`
 * effect, as commitCohortStep would have written them a moment later, but without the
 * `escalation_started` entry: no step is pending (the step's entry names the policy). The start's
 * payload carries `nextStepAt`, so that the execution begins by waiting for the second step, and a
 * policy the first step completed owes no start. Nothing can race this step: the alerts are being created by this
 * very statement (no acknowledge can have seen them).
 */
export function openEscalationsWithAlerts(
  from: string,
  input: {
    serviceId: RawBuilder<unknown>;
    policyIds: readonly string[];
    now: Date;
    kind: string;
    firstSteps?: readonly FirstStep[] | undefined;
  },
) {
  const now = input.now.toISOString();
  const nonce = randomUUID().slice(0, 8);
  const policyIds = new Set(input.policyIds);
  const firstSteps = (input.firstSteps ?? []).filter((f) => policyIds.has(f.policyId));
  const entries = JSON.stringify(
    [...policyIds].flatMap((policyId) => {
      const first = firstSteps.find((f) => f.policyId === policyId);
      // `escalation_started` says the escalation is open and its first step pending: written only
      // when the statement does not take that step (a step's entry names its policy).
      const logged: { entry: EscalationLogEntry; first: boolean; planning?: boolean }[] = [
        { entry: escalationStarted(policyId), first: false },
      ];
      if (first) {
        logged.push({ entry: first.plan.event, first: true });
        if (first.plan.next.status === "completed") {
          logged.push({ entry: escalationCompleted(first.plan.position), first: true });
        }
        // Planning's entries follow the step's, as when planning ran after the statement.
        for (const problem of first.deliveries?.problems ?? []) {
          logged.push({ entry: problem, first: true, planning: true });
        }
      }
      return logged.map(({ entry, first, planning }, ord) => ({
        policy_id: policyId,
        ord,
        first,
        planning: planning ?? false,
        type: entry.type,
        message: entry.message,
        data: entry.data,
      }));
    }),
  );
  const deliver: EffectKind = "notifications.deliver";
  const withFirst = firstSteps.length > 0;
  const templates = deliveryTemplateRows(firstSteps);
  return {
    ctes: sql`
    esc_named as (
      -- cohortExecutionName: one alert is alert-<id>, several cohort-<first id>-<nonce>
      select alert_id, policy_id,
        case when count(*) over w = 1 then 'alert-' || alert_id
          else 'cohort-' || min(alert_id) over w || '-' || ${nonce}::text end as execution_name
      from ${sql.table(from)} where policy_id is not null
      window w as (partition by policy_id)
    ),${
      withFirst
        ? sql`
    esc_first as (
      select f.policy_id, f.step_index, f.repeat_cycle, f.next_step_index, f.next_repeat_cycle, f.next_status,
        f.next_step_at, f.notifications,
        -- deliveries planned from recipients that are still as they were read (else planned after)
        f.planned and (f.recipients_version is null or ${recipientsVersionIs(sql`f.recipients_version`)}) as planned
      from jsonb_to_recordset(${JSON.stringify(firstStepRows(firstSteps))}::jsonb)
        as f(policy_id uuid, definition jsonb, planned boolean, recipients_version text, step_index int,
          repeat_cycle int, next_step_index int, next_repeat_cycle int, next_status text, next_step_at timestamptz,
          notifications jsonb)
      -- planned from this very definition (else the execution runs the step, as without a plan)
      where ${policyDefinitionJson(sql`f.policy_id`)} = f.definition
    ),
    esc_notified as (${insertStepNotifications(
      sql`esc_named s join esc_first p on p.policy_id = s.policy_id`,
      now,
      sql`case when p.planned then ${now}::timestamptz end`,
      { fresh: true },
    )}),${
      templates.length > 0
        ? sql`
    -- The deliveries planned ahead, for each notification just written (a recipient's plan is the
    -- same whichever policy's first step notified them: their rules, at the step's time).
    esc_delivered as (${insertDeliveryRows(
      sql`esc_notified n join jsonb_to_recordset(${JSON.stringify(templates)}::jsonb)
        as x(key_head text, key_tail text, ${deliveryRowColumns})
        on x.recipient_kind = n.target_kind and x.recipient_id = n.target_id and x.step_index = n.step_index
          and x.repeat_cycle = n.repeat_cycle and n.planned_at is not null`,
      {
        idempotencyKey: sql`x.key_head || n.alert_id || x.key_tail`,
        alertId: sql`n.alert_id`,
        notificationId: sql`n.id`,
      },
      now,
      { fresh: true },
    )}),`
        : sql``
    }`
        : sql``
    }
    esc_opened as (
      insert into alert_escalations as e (alert_id, policy_id, status, step_index, repeat_cycle, next_step_at,
        execution_name, created_at, updated_at)
      ${
        withFirst
          ? sql`select n.alert_id, n.policy_id, coalesce(f.next_status, 'active'), coalesce(f.next_step_index, 0),
        coalesce(f.next_repeat_cycle, 0),
        case when f.policy_id is null then ${now}::timestamptz else f.next_step_at end,
        n.execution_name, ${now}::timestamptz, ${now}::timestamptz
      from esc_named n left join esc_first f on f.policy_id = n.policy_id
      order by n.alert_id`
          : sql`select alert_id, policy_id, 'active', 0, 0, ${now}::timestamptz, execution_name, ${now}::timestamptz,
        ${now}::timestamptz
      from esc_named
      order by alert_id`
      }
      -- no "on conflict": the alerts are new (written by this statement), none has an escalation yet
    )`,
    events: sql`
      select alert_id, type, ${escalationActor}, message, data, ${now}::timestamptz from (
        select n.alert_id, m.ord, m.type, m.message, m.data
        from esc_named n join jsonb_to_recordset(${entries}::jsonb)
          as m(policy_id uuid, ord int, first boolean, planning boolean, type text, message text, data jsonb)
          on m.policy_id = n.policy_id
        ${
          withFirst
            ? sql`where case when m.first
            then exists (select 1 from esc_first f where f.policy_id = n.policy_id and (f.planned or not m.planning))
            else not exists (select 1 from esc_first f where f.policy_id = n.policy_id) end`
            : sql``
        }
        order by n.alert_id, m.ord
      ) as esc_entries`,
    starts: withFirst
      ? sql`
      select ${input.kind}::text, ${input.serviceId}, jsonb_agg(n.alert_id order by n.alert_id),
        jsonb_build_object('policyId', n.policy_id, 'executionName', min(n.execution_name))
          || case when min(f.next_step_at) is null then '{}'::jsonb
            else jsonb_build_object('nextStepAt', min(f.next_step_at)) end
      from esc_named n left join esc_first f on f.policy_id = n.policy_id
      -- a first step that completed the policy leaves nothing to walk
      where f.next_status is distinct from 'completed'
      group by n.policy_id
      union all
      select ${deliver}::text, ${input.serviceId}, jsonb_agg(n.alert_id order by n.alert_id),
        jsonb_build_object('firstStep', true)
      from esc_named n join esc_first f on f.policy_id = n.policy_id
      -- notifications planned by this statement owe no planning
      where jsonb_array_length(f.notifications) > 0 and not f.planned`
      : sql`
      select ${input.kind}::text, ${input.serviceId}, jsonb_agg(alert_id order by alert_id),
        jsonb_build_object('policyId', policy_id, 'executionName', min(execution_name))
      from esc_named group by policy_id`,
    /** The deliveries written (`id`, `next_attempt_at`), to announce; undefined when none can be. */
    delivered: templates.length > 0 ? sql`(select id, next_attempt_at from esc_delivered)` : undefined,
  };
}

/** The JSON rows of `esc_first`: one per policy with a planned first step. */
function firstStepRows(firstSteps: readonly FirstStep[]) {
  return firstSteps.map(({ policyId, definition, plan, deliveries }) => ({
    policy_id: policyId,
    definition,
    planned: deliveries !== undefined,
    recipients_version: deliveries?.recipientsVersion ?? null,
    ...stepPlanRow(plan),
  }));
}

/**
 * The deliveries planned ahead for first steps, each once (`deliveryRow`s whose key is split around
 * the placeholder alert id, less their ids): the statement writes them per alert and notification.
 */
function deliveryTemplateRows(firstSteps: readonly FirstStep[]) {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const delivery of firstSteps.flatMap((f) => f.deliveries?.deliveries ?? [])) {
    const { head, tail } = pageKeyAround(delivery.idempotencyKey, FIRST_STEP_PLACEHOLDER_ID);
    const { idempotency_key, alert_id, notification_id, ...row } = deliveryRow(delivery);
    byKey.set(tail, { key_head: head, key_tail: tail, ...row });
  }
  return [...byKey.values()];
}

/**
 * `insert into notifications` of a planned step's recipients (`p.notifications`, from stepPlanRow)
 * for each alert `s.alert_id` of `from` (which names the plan `p`), pending, marked planned at
 * `plannedAt`; a notification already recorded is left as it is, unless the alerts are `fresh`
 * (written by this very statement: none can have one yet, and a plain insert skips the speculative
 * insertion that `on conflict` costs per row). Returns the rows written.
 */
function insertStepNotifications(
  from: RawBuilder<unknown>,
  now: string,
  plannedAt = sql`null`,
  options: { fresh?: boolean } = {},
) {
  return sql`
      insert into notifications (alert_id, repeat_cycle, step_index, target_kind, target_id, reason, planned_at,
        created_at, updated_at)
      select s.alert_id, p.repeat_cycle, p.step_index, x.kind, x.id, x.reason, ${plannedAt}::timestamptz,
        ${now}::timestamptz, ${now}::timestamptz
      from ${from}, jsonb_to_recordset(p.notifications) as x(kind text, id text, reason jsonb)
      ${options.fresh ? sql`` : sql`on conflict (alert_id, repeat_cycle, step_index, target_kind, target_id) do nothing`}
      returning id, alert_id, repeat_cycle, step_index, target_kind, target_id, planned_at`;
}

/** A planned step as the JSON the step statements read: where it is, where it goes, whom it notifies. */
function stepPlanRow(plan: StepPlan) {
  return {
    step_index: plan.position.stepIndex,
    repeat_cycle: plan.position.repeatCycle,
    next_step_index: plan.next.stepIndex,
    next_repeat_cycle: plan.next.repeatCycle,
    next_status: plan.next.status,
    next_step_at: plan.next.nextStepAt?.toISOString() ?? null,
    notifications: plan.notifications.map((n) => ({
      kind: n.recipient.kind,
      id: n.recipient.id,
      reason: n.reason,
    })),
  };
}

/** Active escalations a cohort's turn reads at most (a webhook request carries at most 1,000 alerts). */
export const COHORT_PAGE_SIZE = 1_000;

export interface CohortMemberRecord {
  readonly alertId: number;
  readonly policyId: string;
  readonly state: EscalationState;
  readonly alertStatus: AlertStatus;
}

/**
 * The active escalations of the execution `executionName` with their alerts' status, soonest due
 * first, at most `limit` (`truncated` when there are more), and their policies (a policy that no
 * longer exists is missing): one statement, each policy read once.
 */
export async function loadCohort(
  db: Db,
  executionName: string,
  limit = COHORT_PAGE_SIZE,
): Promise<{ members: CohortMemberRecord[]; policies: Map<string, EscalationPolicy>; truncated: boolean }> {
  const { rows } = await sql<
    EscalationRow & { alert_status: AlertStatus; policy: Omit<EscalationPolicy, "id"> | null }
  >`
    select c.*,
      case when row_number() over (partition by c.policy_id) = 1 then ${policyDefinitionJson(sql`c.policy_id`)} end
        as policy
    from (
      select ${escalationColumns}, a.status as alert_status
      from alert_escalations e join alerts a on a.id = e.alert_id
      where e.execution_name = ${executionName} and e.status = 'active'
      order by e.next_step_at nulls first, e.alert_id
      limit ${limit + 1}::int
    ) c
    order by c.next_step_at nulls first, c.alert_id
  `.execute(db);
  const page = rows.slice(0, limit);
  const policies = new Map<string, EscalationPolicy>();
  for (const row of page) {
    if (row.policy) policies.set(row.policy_id, { id: row.policy_id, ...row.policy });
  }
  return {
    members: page.map((row) => {
      const { alertId, policyId, status, stepIndex, repeatCycle, nextStepAt } = toRecord(row);
      return {
        alertId,
        policyId,
        state: { status, stepIndex, repeatCycle, nextStepAt },
        alertStatus: row.alert_status,
      };
    }),
    policies,
    truncated: rows.length > limit,
  };
}

/** The execution that walks the alert's escalation (for a task input of the one-alert shape). */
export async function executionNameOf(db: Db, alertId: number): Promise<string | undefined> {
  const { rows } = await sql<{ execution_name: string }>`
    select execution_name from alert_escalations where alert_id = ${alertId}::bigint
  `.execute(db);
  return rows[0]?.execution_name;
}

/** How many escalations of the execution are still active. */
export async function countActiveMembers(db: Db, executionName: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from alert_escalations where execution_name = ${executionName} and status = 'active'
  `.execute(db);
  return rows[0]?.n ?? 0;
}

/** The alert's escalation with the alert's status; undefined when the alert has none. */
export async function loadEscalation(
  db: Db,
  alertId: number,
): Promise<{ escalation: EscalationRecord; alertStatus: AlertStatus } | undefined> {
  const { rows } = await sql<EscalationRow & { alert_status: AlertStatus }>`
    select ${escalationColumns}, a.status as alert_status
    from alert_escalations e join alerts a on a.id = e.alert_id
    where e.alert_id = ${alertId}::bigint
  `.execute(db);
  const row = rows[0];
  return row && { escalation: toRecord(row), alertStatus: row.alert_status };
}

/** One JSON row per planned step of a cohort's turn (`commitCohortStep`'s `plans`). */
function planRows(groups: readonly CohortStepGroup[]) {
  return groups.map(({ plan }, g) => {
    const events: EscalationLogEntry[] = [plan.event];
    if (plan.next.status === "completed") events.push(escalationCompleted(plan.position));
    return { g, ...stepPlanRow(plan), events: events.map((e, ord) => ({ ...e, ord })) };
  });
}

/**
 * Records a cohort's turn in one statement: for each group (one step of one policy, its plan shared
 * by its members) and each member, the step's notifications (pending), its alert log entry (plus
 * `escalation_completed` when it was the last), and the member's new state — for each member only if
 * its escalation is still active at the member's `from` and its alert still triggered. Returns the
 * alerts that advanced (those that did not were written nothing).
 */
/** delivery (issue 12): the effect a recorded step owes for its notifications. */
const deliverEffect: EffectKind = "notifications.deliver";

export async function commitCohortStep(
  db: Db,
  input: { groups: readonly CohortStepGroup[]; now: Date },
): Promise<Set<number>> {
  const members = input.groups.flatMap(({ members }, g) =>
    members.map((m) => ({
      alert_id: m.alertId,
      from_step_index: m.from.stepIndex,
      from_repeat_cycle: m.from.repeatCycle,
      g,
    })),
  );
  if (members.length === 0) return new Set();
  const now = input.now.toISOString();
  const { rows } = await sql<{ alert_id: number }>`
    with member as (
      select * from jsonb_to_recordset(${JSON.stringify(members)}::jsonb)
        as m(alert_id bigint, from_step_index int, from_repeat_cycle int, g int)
    ),
    plan as (
      select * from jsonb_to_recordset(${JSON.stringify(planRows(input.groups))}::jsonb)
        as p(g int, step_index int, repeat_cycle int, next_step_index int, next_repeat_cycle int, next_status text,
          next_step_at timestamptz, notifications jsonb, events jsonb)
    ),
    -- Skip locked: an alert an acknowledge or a sender's update holds right now is left for the next
    -- read (runEscalationStep reads again), so that a step never waits on alert rows, and two
    -- statements locking several alerts in different orders cannot deadlock.
    alert as (
      select id from alerts where id = any(array(select alert_id from member)) and status = ${TRIGGERED}
      order by id for share skip locked
    ),
    -- The update locks only the rows of alerts held above (triggered, so no stop is changing them; a
    -- row another step holds is waited for, then compared again). No separate "for update" in id
    -- order first: locking each row twice cost a third of the statement on PGlite (issue 10).
    advanced as (
      update alert_escalations e
      set step_index = p.next_step_index, repeat_cycle = p.next_repeat_cycle, status = p.next_status,
        next_step_at = p.next_step_at, last_error = null, consecutive_failures = 0, updated_at = ${now}::timestamptz
      from member m join plan p on p.g = m.g
      where e.alert_id = m.alert_id and e.alert_id = any(array(select id from alert)) and e.status = 'active'
        and e.step_index = m.from_step_index and e.repeat_cycle = m.from_repeat_cycle
      returning e.alert_id, m.g
    ),
    -- The notifications of the step: one pending row per advanced alert and recipient.
    notified as (${insertStepNotifications(sql`advanced s join plan p on p.g = s.g`, now)}),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select a.alert_id, x.type, ${escalationActor}, x.message, x.data, ${now}::timestamptz
      from advanced a join plan p on p.g = a.g,
        jsonb_to_recordset(p.events) as x(ord int, type text, message text, data jsonb)
      order by a.alert_id, x.ord
    ),
    -- delivery (issue 12): the turn's notifications owe their deliveries, in this same statement: one
    -- effect per service for the members that notified someone.
    deliver as (${insertEffects(
      sql`select ${deliverEffect}::text, al.service_id, jsonb_agg(al.id order by al.id), '{}'::jsonb
        from advanced a join plan p on p.g = a.g join alerts al on al.id = a.alert_id
        where jsonb_array_length(p.notifications) > 0
        group by al.service_id`,
      input.now,
    )})
    select alert_id from advanced
  `.execute(db);
  return new Set(rows.map((r) => Number(r.alert_id)));
}

/**
 * Ends escalations (`stopped`: the alert is no longer triggered; `completed`: the policy is
 * exhausted), each if it is still active at its `from`, in one statement. A completion is logged on
 * the alert; a stop is not (the acknowledge or resolve that caused it is). Returns those ended.
 */
export async function finishCohortMembers(
  db: Db,
  input: { members: readonly CohortFinish[]; now: Date },
): Promise<Set<number>> {
  if (input.members.length === 0) return new Set();
  const now = input.now.toISOString();
  const members = JSON.stringify(
    input.members.map((m) => ({
      alert_id: m.alertId,
      from_step_index: m.from.stepIndex,
      from_repeat_cycle: m.from.repeatCycle,
      status: m.status,
      log: m.status === "completed" ? escalationCompleted(m.from, m.reason) : null,
    })),
  );
  const { rows } = await sql<{ alert_id: number }>`
    with member as (
      select * from jsonb_to_recordset(${members}::jsonb)
        as m(alert_id bigint, from_step_index int, from_repeat_cycle int, status text, log jsonb)
    ),
    locked as (
      select alert_id from alert_escalations where alert_id = any(array(select alert_id from member))
      order by alert_id for update
    ),
    finished as (
      update alert_escalations e
      set status = m.status, next_step_at = null, updated_at = ${now}::timestamptz
      from locked l join member m on m.alert_id = l.alert_id
      where e.alert_id = l.alert_id and e.status = 'active'
        and e.step_index = m.from_step_index and e.repeat_cycle = m.from_repeat_cycle
      returning e.alert_id, m.log
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select f.alert_id, f.log->>'type', ${escalationActor}, f.log->>'message', f.log->'data', ${now}::timestamptz
      from finished f where f.log is not null
      order by f.alert_id
    )
    select alert_id from finished
  `.execute(db);
  return new Set(rows.map((r) => Number(r.alert_id)));
}

/**
 * Stops the active escalations of `alertIds` (acknowledged or resolved) in one statement and returns
 * the executions left with no active escalation, for the runner to stop: an execution still walking
 * other alerts of its cohort goes on (their next step drops the stopped ones). Escalations already
 * over are left as they are.
 */
export async function stopEscalations(
  db: Db,
  input: { alertIds: readonly number[]; now: Date },
): Promise<PendingStart[]> {
  if (input.alertIds.length === 0) return [];
  const { rows } = await sql<{ execution_name: string; alert_ids: number[] }>`
    with locked as (
      select alert_id from alert_escalations
      where alert_id = any(array(select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.alertIds)}::jsonb)))
        and status = 'active'
      order by alert_id
      for update
    ),
    stopped as (
      update alert_escalations e
      set status = 'stopped', next_step_at = null, updated_at = ${input.now.toISOString()}::timestamptz
      from locked l
      where e.alert_id = l.alert_id and e.status = 'active'
      returning e.alert_id, e.execution_name
    )
    select s.execution_name, json_agg(s.alert_id order by s.alert_id) as alert_ids
    from stopped s
    where not exists (
      select 1 from alert_escalations o
      where o.execution_name = s.execution_name and o.status = 'active'
        and o.alert_id not in (select alert_id from stopped)
    )
    group by s.execution_name
    order by min(s.alert_id)
  `.execute(db);
  return rows.map((r) => ({ executionName: r.execution_name, alertIds: r.alert_ids.map(Number) }));
}

/**
 * Records a failed turn on the cohort's active escalations whose alerts are still triggered
 * (`last_error`, and `escalation_failed` on each alert's log). Returns the number of failures in a
 * row (since the last step that was recorded; the most of any member), or undefined when none is
 * active any more.
 */
export async function recordCohortFailure(
  db: Db,
  input: { executionName: string; error: { name: string; cause: string }; now: Date },
): Promise<number | undefined> {
  const now = input.now.toISOString();
  const lastError = `${input.error.name}: ${input.error.cause}`.slice(0, 4000);
  const { rows } = await sql<{ failures: number | null }>`
    with current as (
      select e.alert_id from alert_escalations e join alerts a on a.id = e.alert_id
      where e.execution_name = ${input.executionName} and e.status = 'active' and a.status = ${TRIGGERED}
      order by e.alert_id
      for update of e
    ),
    updated as (
      update alert_escalations e
      set last_error = ${lastError}, consecutive_failures = e.consecutive_failures + 1, updated_at = ${now}::timestamptz
      from current c where e.alert_id = c.alert_id
      returning e.alert_id, e.consecutive_failures
    ),
    logged as (${logEntry("updated", escalationFailed(input.error), escalationActor, now)})
    select max(consecutive_failures)::int as failures from updated
  `.execute(db);
  return rows[0]?.failures ?? undefined;
}

/** What a manual escalation of `alertId` starts from; undefined when the alert does not exist. */
export async function loadManualEscalationContext(
  db: Db,
  alertId: number,
): Promise<ManualEscalationContext | undefined> {
  const { rows } = await sql<
    { alert_status: AlertStatus; service_policy_id: string | null } & {
      [K in keyof EscalationRow]: EscalationRow[K] | null;
    }
  >`
    select a.status as alert_status, s.escalation_policy_id as service_policy_id, ${escalationColumns}
    from alerts a join services s on s.id = a.service_id
    left join alert_escalations e on e.alert_id = a.id
    where a.id = ${alertId}::bigint
  `.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return {
    alertStatus: row.alert_status,
    policyId: row.service_policy_id,
    current: row.alert_id === null ? undefined : toRecord(row as EscalationRow),
  };
}

/**
 * Writes a manual escalation (planManualEscalation) in one statement, if the alert is still
 * triggered and its escalation still where `expected` says (undefined: it has none): the step is
 * due now under the new execution, logged by `actor`, and the start of that execution is owed in
 * the effects outbox. Undefined when something moved meanwhile (nothing written).
 */
export async function applyManualEscalation(
  db: Db,
  input: {
    alertId: number;
    expected: { status: EscalationStatus; position: EscalationPosition } | undefined;
    plan: Extract<ManualEscalation, { outcome: "escalated" }>;
    actor: string;
    now: Date;
  },
): Promise<OwedEffect[] | undefined> {
  const { alertId, expected, plan } = input;
  const start: EffectKind = "escalation.start";
  const now = input.now.toISOString();
  const matches = expected
    ? sql`e.status = ${expected.status} and e.step_index = ${expected.position.stepIndex}::int
        and e.repeat_cycle = ${expected.position.repeatCycle}::int`
    : sql`false`;
  const { rows } = await sql<{ effects: EffectTuple[] }>`
    with alert as (
      select id, service_id from alerts where id = ${alertId}::bigint and status = ${TRIGGERED} for update
    ),
    upserted as (
      insert into alert_escalations as e (alert_id, policy_id, status, step_index, repeat_cycle, next_step_at,
        execution_name, created_at, updated_at)
      select id, ${plan.policyId}::uuid, 'active', ${plan.position.stepIndex}::int, ${plan.position.repeatCycle}::int,
        ${now}::timestamptz, ${plan.executionName}, ${now}::timestamptz, ${now}::timestamptz
      from alert
      on conflict (alert_id) do update set
        status = 'active', step_index = excluded.step_index, repeat_cycle = excluded.repeat_cycle,
        next_step_at = excluded.next_step_at, execution_name = excluded.execution_name,
        last_error = null, consecutive_failures = 0, updated_at = excluded.updated_at
      where ${matches}
      returning e.alert_id
    ),
    logged as (${logEntry("upserted", plan.log, input.actor, now)}),
    effects as (${insertEffects(
      sql`select ${start}::text, a.service_id, jsonb_build_array(a.id), jsonb_build_object('policyId', ${plan.policyId}::text)
        from alert a where exists (select 1 from upserted)`,
      input.now,
    )})
    select coalesce(json_agg(effect), '[]'::json) as effects from effects
    having exists (select 1 from upserted)
  `.execute(db);
  return rows[0] ? rows[0].effects.map(effectOf) : undefined;
}

/** Active escalations, soonest due first. */
export async function findActiveEscalations(
  db: Db,
  input: { limit?: number } = {},
): Promise<EscalationRecord[]> {
  const { rows } = await sql<EscalationRow>`
    select ${escalationColumns} from alert_escalations e
    where e.status = 'active'
    order by e.next_step_at nulls first, e.alert_id
    limit ${input.limit ?? 10_000}::int
  `.execute(db);
  return rows.map(toRecord);
}

/**
 * One page of the executions that have active escalations, by name after `afterName` (keyset
 * paging): the embedded runtime resumes all of them, page by page, however many there are.
 */
export async function findActiveExecutionsAfter(
  db: Db,
  input: { afterName: string; limit: number },
): Promise<string[]> {
  const { rows } = await sql<{ execution_name: string }>`
    select distinct e.execution_name from alert_escalations e
    where e.status = 'active' and e.execution_name > ${input.afterName}
    order by e.execution_name
    limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => r.execution_name);
}

export interface NotificationRecord {
  readonly id: number;
  readonly alertId: number;
  readonly repeatCycle: number;
  readonly stepIndex: number;
  readonly targetKind: "user" | "channel";
  readonly targetId: string;
  readonly reason: Json;
  readonly status: string;
  readonly createdAt: Date;
}

/** The notification records of an alert, in the order they were made. */
export async function listNotifications(db: Db, alertId: number): Promise<NotificationRecord[]> {
  const { rows } = await sql<{
    id: number;
    alert_id: number;
    repeat_cycle: number;
    step_index: number;
    target_kind: "user" | "channel";
    target_id: string;
    reason: Json;
    status: string;
    created_at: Date;
  }>`
    select id, alert_id, repeat_cycle, step_index, target_kind, target_id, reason, status, created_at
    from notifications where alert_id = ${alertId}::bigint order by id
  `.execute(db);
  return rows.map((r) => ({
    id: r.id,
    alertId: r.alert_id,
    repeatCycle: r.repeat_cycle,
    stepIndex: r.step_index,
    targetKind: r.target_kind,
    targetId: r.target_id,
    reason: r.reason,
    status: r.status,
    createdAt: r.created_at,
  }));
}

/** Active escalations whose workflow is gone, grouped by the execution that walked them. */
export interface StrandedExecution {
  readonly executionName: string;
  readonly policyId: string;
  readonly alertIds: readonly number[];
}

/**
 * Active escalations whose next step was due before `dueBefore`, unchanged since then (a re-drive
 * waits as long again before the next), and whose start is not owed (no
 * pending `escalation.start` effect names the alert): nothing walks them any more — their
 * execution failed and the failure could not be recorded, or their start was given up. At most
 * `limit` alerts, the most overdue first.
 */
export async function findStrandedEscalations(
  db: Db,
  input: { dueBefore: Date; limit: number },
): Promise<StrandedExecution[]> {
  const { rows } = await sql<{ execution_name: string; policy_id: string; alert_ids: number[] }>`
    select s.execution_name, s.policy_id, json_agg(s.alert_id order by s.alert_id) as alert_ids
    from (
      select e.alert_id, e.execution_name, e.policy_id from alert_escalations e
      where e.status = 'active' and e.next_step_at < ${input.dueBefore.toISOString()}::timestamptz
        -- moved (or stepped) since: given the same time again before it counts as stranded
        and e.updated_at < ${input.dueBefore.toISOString()}::timestamptz
        and not exists (
          select 1 from alert_effects f
          where f.status = 'pending' and f.kind = 'escalation.start' and f.alert_ids @> jsonb_build_array(e.alert_id)
        )
      order by e.next_step_at, e.alert_id
      limit ${input.limit}::int
    ) s
    group by s.execution_name, s.policy_id
    order by min(s.alert_id)
  `.execute(db);
  return rows.map((r) => ({
    executionName: r.execution_name,
    policyId: r.policy_id,
    alertIds: r.alert_ids.map(Number),
  }));
}

/**
 * Moves the still-stranded members of `stranded` (active, due before `dueBefore`, still in its
 * execution) to the execution `to` and owes its start, in one statement: the outbox starts it with
 * retries, and the old execution, should it still run, finds no member and ends. Answers the
 * alerts moved and the start effects owed.
 */
export async function rehomeStrandedEscalations(
  db: Db,
  input: { stranded: StrandedExecution; to: string; dueBefore: Date; now: Date },
): Promise<{ alertIds: number[]; effects: OwedEffect[] }> {
  const { stranded, to } = input;
  const start: EffectKind = "escalation.start";
  const now = input.now.toISOString();
  const { rows } = await sql<{ alert_ids: number[] | null; effects: EffectTuple[] }>`
    with moved as (
      update alert_escalations e
      set execution_name = ${to}, updated_at = ${now}::timestamptz
      where e.alert_id = any(array(select value::bigint from jsonb_array_elements_text(${JSON.stringify(stranded.alertIds)}::jsonb)))
        and e.execution_name = ${stranded.executionName} and e.status = 'active'
        and e.next_step_at < ${input.dueBefore.toISOString()}::timestamptz
        and e.updated_at < ${input.dueBefore.toISOString()}::timestamptz
      returning e.alert_id, e.policy_id
    ),
    effects as (${insertEffects(
      sql`select ${start}::text, a.service_id, jsonb_agg(a.id order by a.id),
          jsonb_build_object('policyId', ${stranded.policyId}::text, 'executionName', ${to}::text)
        from alerts a where a.id in (select alert_id from moved) group by a.service_id`,
      input.now,
    )})
    select (select json_agg(alert_id order by alert_id) from moved) as alert_ids,
      coalesce((select json_agg(effect) from effects), '[]'::json) as effects
  `.execute(db);
  const row = rows[0];
  return { alertIds: (row?.alert_ids ?? []).map(Number), effects: (row?.effects ?? []).map(effectOf) };
}
