import { type Kysely, sql } from "kysely";
import {
  type EffectKind,
  type OwedEffect,
  SYSTEM_ACTOR,
  TRIGGERED,
} from "../../../domain/alerts/lifecycle.ts";
import {
  type AlertStatus,
  type EscalationLogEntry,
  type EscalationPosition,
  type EscalationState,
  type EscalationStatus,
  escalationCompleted,
  escalationFailed,
  escalationStarted,
  executionNameFor,
  type ManualEscalation,
  type ManualEscalationContext,
  type StepPlan,
} from "../../../domain/escalation/index.ts";
import type { Database, Json } from "../schema.ts";
import { type EffectTuple, effectOf, insertEffects } from "./alert-effects.ts";

// Each alert's escalation state (alert_escalations) and the pending deliveries it records
// (notifications). Every change is ONE statement (data-modifying CTEs): atomic without a
// transaction, one round trip on the RDS Data API. A step is recorded only if the escalation is
// still at the position the caller read (compare-and-set on step_index / repeat_cycle) and the
// alert is still triggered (read under `for share`, so an acknowledge either commits before and is
// seen, or waits until the step is recorded). notifications is unique per (alert, cycle, step,
// target): a step that is somehow recorded twice still pages once. Lists travel as one JSON
// parameter (the Data API takes no arrays); parameters are cast explicitly.

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
  readonly executionName: string;
  /** Set once the workflow was started (an ARN on AWS); null while a start is owed. */
  readonly executionArn: string | null;
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
  execution_arn: string | null;
  last_error: string | null;
}

const escalationColumns = sql.raw(
  "e.alert_id, e.policy_id, e.status, e.step_index, e.repeat_cycle, e.next_step_at, e.execution_name, e.execution_arn, e.last_error",
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
    executionArn: row.execution_arn,
    lastError: row.last_error,
  };
}

/** An execution to start: the alert and the execution's name. */
export interface PendingStart {
  readonly alertId: number;
  readonly executionName: string;
}

/**
 * Opens an escalation along `policyId` for each of `alertIds` that is triggered and has none yet:
 * step 0 due `now`, execution `executionNameFor(id)`, an `escalation_started` log entry. Idempotent.
 * Returns the escalations whose workflow must be started: those opened now, and active ones whose
 * start was never confirmed (markStarted), so that running the same start again repairs one that failed.
 */
export async function openEscalations(
  db: Db,
  input: { alertIds: readonly number[]; policyId: string; now: Date },
): Promise<PendingStart[]> {
  if (input.alertIds.length === 0) return [];
  const now = input.now.toISOString();
  const starts = JSON.stringify(
    [...input.alertIds]
      .sort((x, y) => x - y)
      .map((id) => ({ alert_id: id, execution_name: executionNameFor(id) })),
  );
  const { rows } = await sql<{ alert_id: number; execution_name: string }>`
    with candidates as (
      select x.alert_id, x.execution_name
      from jsonb_to_recordset(${starts}::jsonb) as x(alert_id bigint, execution_name text)
      join alerts a on a.id = x.alert_id
      where a.status = ${TRIGGERED}
    ),
    opened as (
      insert into alert_escalations as e (alert_id, policy_id, status, step_index, repeat_cycle, next_step_at,
        execution_name, created_at, updated_at)
      select alert_id, ${input.policyId}::uuid, 'active', 0, 0, ${now}::timestamptz, execution_name,
        ${now}::timestamptz, ${now}::timestamptz
      from candidates
      order by alert_id
      on conflict (alert_id) do nothing
      returning e.alert_id, e.execution_name
    ),
    logged as (${logEntry("opened", escalationStarted(input.policyId), escalationActor, now)})
    select alert_id, execution_name from opened
    union
    select e.alert_id, e.execution_name from alert_escalations e
    where e.alert_id in (select alert_id from candidates) and e.status = 'active' and e.execution_arn is null
    order by alert_id
  `.execute(db);
  return rows.map((r) => ({ alertId: r.alert_id, executionName: r.execution_name }));
}

/** Notes that the workflow `executionName` of the alert was started (no-op if the escalation moved on to another). */
export async function markStarted(
  db: Db,
  input: { alertId: number; executionName: string; executionArn: string; now: Date },
): Promise<void> {
  await sql`
    update alert_escalations
    set execution_arn = ${input.executionArn}, updated_at = ${input.now.toISOString()}::timestamptz
    where alert_id = ${input.alertId}::bigint and execution_name = ${input.executionName}
  `.execute(db);
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

/**
 * Records a step in one statement: its notifications (pending), its alert log entry (plus
 * `escalation_completed` when it was the last), and the new state — only if the escalation is still
 * active at `from` and the alert still triggered. False when it was not (nothing is written).
 */
/** delivery (issue 12): the effect a recorded step owes for its notifications. */
const deliverEffect: EffectKind = "notifications.deliver";

export async function commitStep(
  db: Db,
  input: { alertId: number; from: EscalationPosition; plan: StepPlan; now: Date },
): Promise<boolean> {
  const { alertId, from, plan } = input;
  const now = input.now.toISOString();
  const notifications = JSON.stringify(
    plan.notifications.map((n) => ({ kind: n.recipient.kind, id: n.recipient.id, reason: n.reason })),
  );
  const events: { type: string; message: string; data: unknown }[] = [plan.event];
  if (plan.next.status === "completed") events.push(escalationCompleted(plan.position));
  const { rows } = await sql<{ advanced: number }>`
    with alert as (
      select id from alerts where id = ${alertId}::bigint and status = ${TRIGGERED} for share
    ),
    advanced as (
      update alert_escalations e
      set step_index = ${plan.next.stepIndex}::int, repeat_cycle = ${plan.next.repeatCycle}::int,
        status = ${plan.next.status}, next_step_at = ${plan.next.nextStepAt?.toISOString() ?? null}::timestamptz,
        last_error = null, consecutive_failures = 0, updated_at = ${now}::timestamptz
      where e.alert_id = ${alertId}::bigint and e.status = 'active'
        and e.step_index = ${from.stepIndex}::int and e.repeat_cycle = ${from.repeatCycle}::int
        and exists (select 1 from alert)
      returning e.alert_id
    ),
    notified as (
      insert into notifications (alert_id, repeat_cycle, step_index, target_kind, target_id, reason, created_at,
        updated_at)
      select a.alert_id, ${plan.position.repeatCycle}::int, ${plan.position.stepIndex}::int, x.kind, x.id, x.reason,
        ${now}::timestamptz, ${now}::timestamptz
      from advanced a, jsonb_to_recordset(${notifications}::jsonb) as x(kind text, id text, reason jsonb)
      on conflict (alert_id, repeat_cycle, step_index, target_kind, target_id) do nothing
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select a.alert_id, x.type, ${escalationActor}, x.message, x.data, ${now}::timestamptz
      from advanced a, jsonb_to_recordset(${JSON.stringify(events.map((e, ord) => ({ ...e, ord })))}::jsonb)
        as x(ord int, type text, message text, data jsonb)
      order by x.ord
    ),
    -- delivery (issue 12): the step's notifications owe their deliveries, in this same statement.
    deliver as (${insertEffects(
      sql`select ${deliverEffect}::text, al.service_id, jsonb_build_array(al.id), '{}'::jsonb
        from advanced a join alerts al on al.id = a.alert_id
        where ${plan.notifications.length}::int > 0`,
      input.now,
    )})
    select count(*)::int as advanced from advanced
  `.execute(db);
  return (rows[0]?.advanced ?? 0) > 0;
}

/**
 * Ends the escalation (`stopped`: the alert is no longer triggered; `completed`: the policy is
 * exhausted) if it is still active at `from`. A completion is logged on the alert; a stop is not
 * (the acknowledge or resolve that caused it is).
 */
export async function finishEscalation(
  db: Db,
  input: {
    alertId: number;
    from: EscalationPosition;
    status: "stopped" | "completed";
    reason: string;
    now: Date;
  },
): Promise<boolean> {
  const now = input.now.toISOString();
  const { rows } = await sql<{ alert_id: number }>`
    with finished as (
      update alert_escalations e
      set status = ${input.status}, next_step_at = null, updated_at = ${now}::timestamptz
      where e.alert_id = ${input.alertId}::bigint and e.status = 'active'
        and e.step_index = ${input.from.stepIndex}::int and e.repeat_cycle = ${input.from.repeatCycle}::int
      returning e.alert_id
    ),
    logged as (${
      input.status === "completed"
        ? logEntry("finished", escalationCompleted(input.from, input.reason), escalationActor, now)
        : sql`select 1`
    })
    select alert_id from finished
  `.execute(db);
  return rows.length > 0;
}

/**
 * Stops the active escalations of `alertIds` (acknowledged or resolved) in one statement and returns
 * their executions, for the runner to stop. Escalations already over are left as they are.
 */
export async function stopEscalations(
  db: Db,
  input: { alertIds: readonly number[]; now: Date },
): Promise<PendingStart[]> {
  if (input.alertIds.length === 0) return [];
  const { rows } = await sql<{ alert_id: number; execution_name: string }>`
    update alert_escalations
    set status = 'stopped', next_step_at = null, updated_at = ${input.now.toISOString()}::timestamptz
    where alert_id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.alertIds)}::jsonb))
      and status = 'active'
    returning alert_id, execution_name
  `.execute(db);
  return rows
    .map((r) => ({ alertId: r.alert_id, executionName: r.execution_name }))
    .sort((a, b) => a.alertId - b.alertId);
}

/**
 * Records a failed step on the escalation (`last_error`) and the alert log (`escalation_failed`), if
 * the escalation is active and the alert triggered. Returns the number of failures in a row (since
 * the last step that was recorded), or undefined when the escalation is over.
 */
export async function recordStepFailure(
  db: Db,
  input: { alertId: number; error: { name: string; cause: string }; now: Date },
): Promise<number | undefined> {
  const now = input.now.toISOString();
  const lastError = `${input.error.name}: ${input.error.cause}`.slice(0, 4000);
  const { rows } = await sql<{ failures: number }>`
    with current as (
      select e.alert_id from alert_escalations e join alerts a on a.id = e.alert_id
      where e.alert_id = ${input.alertId}::bigint and e.status = 'active' and a.status = ${TRIGGERED}
      for update of e
    ),
    updated as (
      update alert_escalations e
      set last_error = ${lastError}, consecutive_failures = e.consecutive_failures + 1, updated_at = ${now}::timestamptz
      from current c where e.alert_id = c.alert_id
      returning e.alert_id, e.consecutive_failures
    ),
    logged as (${logEntry("updated", escalationFailed(input.error), escalationActor, now)})
    select consecutive_failures as failures from updated
  `.execute(db);
  return rows[0]?.failures;
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
        next_step_at = excluded.next_step_at, execution_name = excluded.execution_name, execution_arn = null,
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

/** Active escalations, soonest due first: what the embedded runtime resumes on start. */
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
 * One page of active escalations in alert id order, after `afterAlertId` (keyset paging): the
 * embedded runtime resumes all of them, page by page, however many there are.
 */
export async function findActiveEscalationsAfter(
  db: Db,
  input: { afterAlertId: number; limit: number },
): Promise<EscalationRecord[]> {
  const { rows } = await sql<EscalationRow>`
    select ${escalationColumns} from alert_escalations e
    where e.status = 'active' and e.alert_id > ${input.afterAlertId}
    order by e.alert_id
    limit ${input.limit}::int
  `.execute(db);
  return rows.map(toRecord);
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
