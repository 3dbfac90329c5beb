import { type Kysely, type RawBuilder, sql } from "kysely";
import type { AlertEventType } from "../../../domain/alerts/lifecycle.ts";
import type {
  DeliveryMessageKind,
  DeliveryStatus,
  Destination,
  DestinationKind,
  NotificationRule,
} from "../../../domain/notifications/model.ts";
import type { NotifiedRecipient, PlannedDelivery } from "../../../domain/notifications/plan.ts";
import type { Database, Json } from "../schema.ts";

// Notification rules (per user id), the status-update opt-in, and the delivery records: the outbox of
// messages that leave the building. A row moves pending → sending (claimed with a lease, `for update
// skip locked`) → sent | failed | suppressed; a lease that expires (the sender died mid-send) makes it
// due again, so a crash resends at most once and never loses a message. Every change is one statement;
// lists travel as one JSON parameter (the Data API takes no arrays); parameters are cast explicitly.

type Db = Kysely<Database>;

const PENDING: DeliveryStatus = "pending";
const SENDING: DeliveryStatus = "sending";
const SENT: DeliveryStatus = "sent";
const FAILED: DeliveryStatus = "failed";
const SUPPRESSED: DeliveryStatus = "suppressed";

// ---------------------------------------------------------------------------------------------
// Notification rules and preferences

interface RuleRow {
  id: string;
  user_id: string;
  contact_method_id: string;
  delay_minutes: number;
  created_at: Date;
}

const toRule = (r: RuleRow): NotificationRule & { createdAt: Date } => ({
  id: r.id,
  userId: r.user_id,
  contactMethodId: r.contact_method_id,
  delayMinutes: r.delay_minutes,
  createdAt: r.created_at,
});

/** The rules of each of `userIds` (by delay, then creation). */
export async function rulesOfUsers(
  db: Db,
  userIds: readonly string[],
): Promise<Map<string, (NotificationRule & { createdAt: Date })[]>> {
  const byUser = new Map<string, (NotificationRule & { createdAt: Date })[]>();
  if (userIds.length === 0) return byUser;
  const { rows } = await sql<RuleRow>`
    select id, user_id, contact_method_id, delay_minutes, created_at from notification_rules
    where user_id in (select value from jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb))
    order by user_id, delay_minutes, created_at, id
  `.execute(db);
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), toRule(row)]);
  return byUser;
}

/**
 * The version of what planning reads of recipients (directory users and contact methods, rules,
 * channels): every write to those tables bumps it (migration 2026-11-30T0700).
 */
export async function recipientsVersion(db: Db): Promise<string> {
  const { rows } = await sql<{ version: string }>`
    select version::text as version from recipients_version where id = 1
  `.execute(db);
  return rows[0]?.version ?? "0";
}

/** Whether the recipients version is still `version` (SQL text): a boolean, for a statement to check. */
export function recipientsVersionIs(version: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`coalesce((select version from recipients_version where id = 1) = (${version})::bigint, false)`;
}

/** Adds a rule (the same contact method and delay twice is one rule: the existing one is returned). */
export async function createRule(
  db: Db,
  input: { userId: string; contactMethodId: string; delayMinutes: number; maxRules: number; now: Date },
): Promise<{ outcome: "created"; rule: NotificationRule } | { outcome: "too_many" }> {
  const { rows } = await sql<RuleRow & { existing: boolean }>`
    with existing as (
      select id, user_id, contact_method_id, delay_minutes, created_at from notification_rules
      where user_id = ${input.userId} and contact_method_id = ${input.contactMethodId}
        and delay_minutes = ${input.delayMinutes}::int
    ),
    inserted as (
      insert into notification_rules (user_id, contact_method_id, delay_minutes, created_at)
      select ${input.userId}, ${input.contactMethodId}, ${input.delayMinutes}::int, ${input.now.toISOString()}::timestamptz
      where not exists (select 1 from existing)
        and (select count(*) from notification_rules where user_id = ${input.userId}) < ${input.maxRules}::int
      on conflict (user_id, contact_method_id, delay_minutes) do nothing
      returning id, user_id, contact_method_id, delay_minutes, created_at
    )
    select *, true as existing from existing union all select *, false from inserted
  `.execute(db);
  const row = rows[0];
  return row ? { outcome: "created", rule: toRule(row) } : { outcome: "too_many" };
}

/** Deletes a rule of the user; false when there is no such rule. */
export async function deleteRule(db: Db, input: { userId: string; id: string }): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    delete from notification_rules where id = ${input.id}::uuid and user_id = ${input.userId} returning id
  `.execute(db);
  return rows.length > 0;
}

/** Whether the user asked for status updates (acknowledged / resolved) of alerts they were paged for. */
export async function statusUpdatesOptIn(db: Db, userId: string): Promise<boolean> {
  const { rows } = await sql<{ status_updates: boolean }>`
    select status_updates from notification_preferences where user_id = ${userId}
  `.execute(db);
  return rows[0]?.status_updates ?? false;
}

export async function setStatusUpdatesOptIn(
  db: Db,
  input: { userId: string; enabled: boolean; now: Date },
): Promise<void> {
  await sql`
    insert into notification_preferences (user_id, status_updates, updated_at)
    values (${input.userId}, ${input.enabled}::boolean, ${input.now.toISOString()}::timestamptz)
    on conflict (user_id) do update set status_updates = excluded.status_updates, updated_at = excluded.updated_at
  `.execute(db);
}

// ---------------------------------------------------------------------------------------------
// Planning

/** Notifications of `alertIds` not yet turned into deliveries, oldest first, at most `limit`. */
export async function unplannedNotifications(
  db: Db,
  input: { alertIds: readonly number[]; limit: number },
): Promise<(NotifiedRecipient & { serviceId: string })[]> {
  if (input.alertIds.length === 0) return [];
  const { rows } = await sql<{
    id: number;
    alert_id: number;
    repeat_cycle: number;
    step_index: number;
    target_kind: "user" | "channel";
    target_id: string;
    created_at: Date;
    service_id: string;
    template_id: string | null;
  }>`
    select n.id, n.alert_id, n.repeat_cycle, n.step_index, n.target_kind, n.target_id, n.created_at, a.service_id,
      n.reason->>'templateId' as template_id
    from notifications n join alerts a on a.id = n.alert_id
    -- = any(array(...)): an index probe per alert; \`in (select ...)\` hashed the list and scanned every
    -- notification (and alert), growing with the tables (issue 10: planning runs in the ingest request).
    where n.alert_id = any(array(select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.alertIds)}::jsonb)))
      and n.planned_at is null
    order by n.id
    limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => ({
    notificationId: r.id,
    alertId: r.alert_id,
    repeatCycle: r.repeat_cycle,
    stepIndex: r.step_index,
    recipient: { kind: r.target_kind, id: r.target_id },
    notifiedAt: r.created_at,
    serviceId: r.service_id,
    ...(r.template_id ? { templateId: r.template_id } : {}),
  }));
}

/** An alert log entry the delivery pipeline writes. */
export interface DeliveryLogEntry {
  readonly alertId: number;
  readonly type: AlertEventType;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

function logJson(log: readonly DeliveryLogEntry[]): string {
  return JSON.stringify(
    log.map((e) => ({ alert_id: e.alertId, type: e.type, message: e.message, data: e.data })),
  );
}

function deliveryRowsJson(deliveries: readonly PlannedDelivery[]): string {
  return JSON.stringify(deliveries.map(deliveryRow));
}

/** A delivery as the JSON row `deliveryColumns` reads. */
export function deliveryRow(d: PlannedDelivery) {
  return {
    idempotency_key: d.idempotencyKey,
    alert_id: d.alertId,
    notification_id: d.notificationId,
    repeat_cycle: d.repeatCycle,
    step_index: d.stepIndex,
    recipient_kind: d.recipientKind,
    recipient_id: d.recipientId,
    contact_method_id: d.contactMethodId,
    channel_id: d.channelId,
    destination: d.destination,
    destination_kind: d.destination.kind,
    destination_key: d.destinationKey,
    message_kind: d.messageKind,
    rule_delay_minutes: d.ruleDelayMinutes,
    context: d.context,
    next_attempt_at: d.nextAttemptAt.toISOString(),
    max_attempts: d.maxAttempts,
    template_id: d.template?.id ?? null,
    template_version: d.template?.version ?? null,
  };
}

/** The column list of a `deliveryRow` (after `as x(`) for jsonb_to_recordset, less the keys and ids. */
export const deliveryRowColumns = sql.raw(`repeat_cycle int, step_index int, recipient_kind text,
        recipient_id text, contact_method_id text, channel_id text, destination jsonb, destination_kind text,
        destination_key text, message_kind text, rule_delay_minutes int, context jsonb, next_attempt_at timestamptz,
        max_attempts int, template_id text, template_version int`);

/**
 * Writes a plan in one statement: the deliveries (a key already there is left as it is), the
 * notifications marked planned, the problems in the alerts' logs. Returns the deliveries written now.
 */
export async function recordPlan(
  db: Db,
  input: {
    notificationIds: readonly number[];
    deliveries: readonly PlannedDelivery[];
    log: readonly DeliveryLogEntry[];
    actor: string;
    now: Date;
  },
): Promise<{ id: number; nextAttemptAt: Date }[]> {
  const now = input.now.toISOString();
  const { rows } = await sql<{ id: number; next_attempt_at: Date }>`
    with planned as (
      update notifications set planned_at = ${now}::timestamptz, updated_at = ${now}::timestamptz
      where id = any(array(select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.notificationIds)}::jsonb)))
        and planned_at is null
      returning id
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select x.alert_id, x.type, ${input.actor}, x.message, x.data, ${now}::timestamptz
      from jsonb_to_recordset(${logJson(input.log)}::jsonb) as x(alert_id bigint, type text, message text, data jsonb)
    ),
    inserted as (${insertDeliveries(deliveryRowsJson(input.deliveries), now)})
    select id, next_attempt_at from inserted order by id
  `.execute(db);
  return rows.map((r) => ({ id: r.id, nextAttemptAt: r.next_attempt_at }));
}

/** `insert into deliveries` from a JSON list of rows (deliveryRowsJson); existing keys are skipped. */
function insertDeliveries(rowsJson: string, now: string) {
  return insertDeliveryRows(
    sql`jsonb_to_recordset(${rowsJson}::jsonb) as x(idempotency_key text, alert_id bigint, notification_id bigint,
        ${deliveryRowColumns})`,
    {
      idempotencyKey: sql`x.idempotency_key`,
      alertId: sql`x.alert_id`,
      notificationId: sql`x.notification_id`,
    },
    now,
  );
}

/**
 * `insert into deliveries` of the rows `x` of `from` (a `deliveryRow` less its key and ids, which
 * `ids` give); existing keys are skipped, unless the rows are `fresh`: keyed by alerts written by
 * this very statement, so that no key can be there yet (a plain insert skips the speculative
 * insertion `on conflict` costs per row; a key there after all fails the statement, never a page
 * sent twice). Returns `id, next_attempt_at` of the rows written.
 */
export function insertDeliveryRows(
  from: RawBuilder<unknown>,
  ids: {
    idempotencyKey: RawBuilder<unknown>;
    alertId: RawBuilder<unknown>;
    notificationId: RawBuilder<unknown>;
  },
  now: string,
  options: { fresh?: boolean } = {},
) {
  return sql`
      insert into deliveries (idempotency_key, alert_id, notification_id, repeat_cycle, step_index, recipient_kind,
        recipient_id, contact_method_id, channel_id, destination, destination_kind, destination_key, message_kind,
        rule_delay_minutes, context, status, next_attempt_at, max_attempts, template_id, template_version,
        created_at, updated_at)
      select ${ids.idempotencyKey}, ${ids.alertId}, ${ids.notificationId}, x.repeat_cycle, x.step_index, x.recipient_kind,
        x.recipient_id, x.contact_method_id, x.channel_id, x.destination, x.destination_kind, x.destination_key,
        x.message_kind, x.rule_delay_minutes, x.context, ${PENDING}, x.next_attempt_at, x.max_attempts,
        x.template_id, x.template_version, ${now}::timestamptz, ${now}::timestamptz
      from ${from}
      order by x.next_attempt_at
      ${options.fresh ? sql`` : sql`on conflict (idempotency_key) do nothing`}
      returning id, next_attempt_at`;
}

/** Writes deliveries (status updates, SendNotification) in one statement; existing keys are left as they are. */
export async function insertPlannedDeliveries(
  db: Db,
  input: { deliveries: readonly PlannedDelivery[]; now: Date },
): Promise<{ id: number; nextAttemptAt: Date }[]> {
  if (input.deliveries.length === 0) return [];
  const { rows } = await sql<{ id: number; next_attempt_at: Date }>`
    with inserted as (${insertDeliveries(deliveryRowsJson(input.deliveries), input.now.toISOString())})
    select id, next_attempt_at from inserted order by id
  `.execute(db);
  return rows.map((r) => ({ id: r.id, nextAttemptAt: r.next_attempt_at }));
}

// ---------------------------------------------------------------------------------------------
// Delivery records

export interface DeliveryRecord {
  readonly id: number;
  readonly idempotencyKey: string;
  readonly alertId: number | null;
  readonly notificationId: number | null;
  readonly repeatCycle: number | null;
  readonly stepIndex: number | null;
  readonly recipientKind: "user" | "channel" | "external";
  readonly recipientId: string;
  readonly contactMethodId: string | null;
  readonly channelId: string | null;
  readonly destination: Destination;
  readonly destinationKind: DestinationKind;
  readonly destinationKey: string;
  readonly messageKind: DeliveryMessageKind;
  readonly ruleDelayMinutes: number;
  readonly templateId: string | null;
  readonly templateVersion: number | null;
  readonly context: Json;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly providerAnswer: string | null;
  readonly providerMessageId: string | null;
  readonly lastError: string | null;
  readonly bundledInto: number | null;
  readonly nextAttemptAt: Date;
  readonly leaseUntil: Date | null;
  readonly sentAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface DeliveryRow {
  id: number;
  idempotency_key: string;
  alert_id: number | null;
  notification_id: number | null;
  repeat_cycle: number | null;
  step_index: number | null;
  recipient_kind: DeliveryRecord["recipientKind"];
  recipient_id: string;
  contact_method_id: string | null;
  channel_id: string | null;
  destination: Destination;
  destination_kind: DestinationKind;
  destination_key: string;
  message_kind: DeliveryMessageKind;
  rule_delay_minutes: number;
  template_id: string | null;
  template_version: number | null;
  context: Json;
  status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  provider_answer: string | null;
  provider_message_id: string | null;
  last_error: string | null;
  bundled_into: number | null;
  next_attempt_at: Date;
  lease_until: Date | null;
  sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const columns = sql.raw(
  `d.id, d.idempotency_key, d.alert_id, d.notification_id, d.repeat_cycle, d.step_index, d.recipient_kind,
  d.recipient_id, d.contact_method_id, d.channel_id, d.destination, d.destination_kind, d.destination_key,
  d.message_kind, d.rule_delay_minutes, d.template_id, d.template_version, d.context, d.status, d.attempts,
  d.max_attempts, d.provider_answer, d.provider_message_id, d.last_error, d.bundled_into, d.next_attempt_at,
  d.lease_until, d.sent_at, d.created_at, d.updated_at`,
);

function toRecord(r: DeliveryRow): DeliveryRecord {
  return {
    id: r.id,
    idempotencyKey: r.idempotency_key,
    alertId: r.alert_id,
    notificationId: r.notification_id,
    repeatCycle: r.repeat_cycle,
    stepIndex: r.step_index,
    recipientKind: r.recipient_kind,
    recipientId: r.recipient_id,
    contactMethodId: r.contact_method_id,
    channelId: r.channel_id,
    destination: r.destination,
    destinationKind: r.destination_kind,
    destinationKey: r.destination_key,
    messageKind: r.message_kind,
    ruleDelayMinutes: r.rule_delay_minutes,
    templateId: r.template_id,
    templateVersion: r.template_version,
    context: r.context,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    providerAnswer: r.provider_answer,
    providerMessageId: r.provider_message_id,
    lastError: r.last_error,
    bundledInto: r.bundled_into,
    nextAttemptAt: r.next_attempt_at,
    leaseUntil: r.lease_until,
    sentAt: r.sent_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Takes up to `limit` due deliveries — pending and due, or sending with an expired lease (a sender
 * died mid-send) — and leases them until `now + leaseMs`; rows another sender holds are skipped.
 * With `ids`, only those (a queue message names them) plus, with `withDestinations`, every other due
 * delivery to the same destinations (so that what waited on a throttle goes out as one bundle).
 */
export async function claimDueDeliveries(
  db: Db,
  input: { now: Date; leaseMs: number; limit: number; ids?: readonly number[]; withDestinations?: boolean },
): Promise<DeliveryRecord[]> {
  const now = input.now.toISOString();
  const due = sql`(
      (d.status = ${PENDING} and d.next_attempt_at <= ${now}::timestamptz)
      or (d.status = ${SENDING} and d.lease_until <= ${now}::timestamptz))`;
  const ids = input.ids && JSON.stringify(input.ids);
  const scope = !ids
    ? sql`d.id in (
        select id from deliveries where status = ${PENDING} and next_attempt_at <= ${now}::timestamptz
        union all
        select id from deliveries where status = ${SENDING} and lease_until <= ${now}::timestamptz)`
    : input.withDestinations
      ? sql`(d.id in (select value::bigint from jsonb_array_elements_text(${ids}::jsonb))
          or (d.destination_key in (select destination_key from deliveries
                where id in (select value::bigint from jsonb_array_elements_text(${ids}::jsonb)))
              and d.recipient_kind <> 'external'))`
      : sql`d.id in (select value::bigint from jsonb_array_elements_text(${ids}::jsonb))`;
  const { rows } = await sql<DeliveryRow>`
    with due as (
      select d.id from deliveries d
      where ${scope} and ${due}
      order by d.next_attempt_at, d.id
      limit ${input.limit}::int
      for update skip locked
    )
    update deliveries d
    set status = ${SENDING}, lease_until = ${new Date(input.now.getTime() + input.leaseMs).toISOString()}::timestamptz,
      updated_at = ${now}::timestamptz
    from due where d.id = due.id
    returning ${columns}
  `.execute(db);
  return rows.map(toRecord).sort((a, b) => a.id - b.id);
}

/** When each of `keys` was last sent to, since `since` (for the throttle). */
export async function recentSends(
  db: Db,
  input: { keys: readonly string[]; since: Date },
): Promise<Map<string, Date[]>> {
  const byKey = new Map<string, Date[]>();
  if (input.keys.length === 0) return byKey;
  // A bundle is one message: the rows it carried (bundled_into set) do not count against the cap.
  const { rows } = await sql<{ destination_key: string; sent_at: Date }>`
    select destination_key, sent_at from deliveries
    where destination_key in (select value from jsonb_array_elements_text(${JSON.stringify(input.keys)}::jsonb))
      and sent_at >= ${input.since.toISOString()}::timestamptz and bundled_into is null
  `.execute(db);
  for (const row of rows)
    byKey.set(row.destination_key, [...(byKey.get(row.destination_key) ?? []), row.sent_at]);
  return byKey;
}

/** How a claimed delivery's attempt ended, as the sender records it. */
export type AttemptRecord =
  | {
      readonly outcome: "sent";
      readonly providerMessageId?: string | undefined;
      readonly answer: string;
      /** Other deliveries this one carried (a bundle): recorded sent, bundled into this one. */
      readonly carried: readonly number[];
    }
  | { readonly outcome: "retry"; readonly answer: string; readonly nextAttemptAt: Date }
  | { readonly outcome: "failed"; readonly answer: string };

/**
 * Records an attempt of a claimed delivery (and of those it carried) in one statement; a failure is
 * also written to the alert's log (`failureEvent`). Only rows still `sending` are changed.
 */
export async function recordAttempt(
  db: Db,
  input: {
    id: number;
    record: AttemptRecord;
    template: { id: string; version: number } | undefined;
    failureEvent: AlertEventType;
    actor: string;
    now: Date;
  },
): Promise<void> {
  const { record } = input;
  const now = input.now.toISOString();
  const ids = JSON.stringify([input.id, ...(record.outcome === "sent" ? record.carried : [])]);
  const status = record.outcome === "sent" ? SENT : record.outcome === "failed" ? FAILED : PENDING;
  const next = record.outcome === "retry" ? record.nextAttemptAt.toISOString() : null;
  await sql`
    with changed as (
      update deliveries d
      set status = ${status}, attempts = d.attempts + 1, provider_answer = ${record.answer.slice(0, 2000)},
        provider_message_id = ${record.outcome === "sent" ? (record.providerMessageId ?? null) : null},
        last_error = ${record.outcome === "sent" ? null : record.answer.slice(0, 2000)},
        next_attempt_at = coalesce(${next}::timestamptz, d.next_attempt_at),
        sent_at = ${record.outcome === "sent" ? now : null}::timestamptz,
        bundled_into = case when d.id = ${input.id}::bigint then null else ${input.id}::bigint end,
        template_id = coalesce(${input.template?.id ?? null}, d.template_id),
        template_version = coalesce(${input.template?.version ?? null}::int, d.template_version),
        lease_until = null, updated_at = ${now}::timestamptz
      where d.id in (select value::bigint from jsonb_array_elements_text(${ids}::jsonb)) and d.status = ${SENDING}
      returning d.id, d.alert_id, d.destination_kind, d.recipient_kind, d.recipient_id, d.message_kind, d.attempts
    ),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select c.alert_id, ${input.failureEvent}, ${input.actor},
        c.message_kind || ' to ' || c.recipient_kind || ' ' || c.recipient_id || ' by ' || c.destination_kind
          || ' failed: ' || ${record.answer.slice(0, 500)},
        jsonb_build_object('deliveryId', c.id, 'recipientKind', c.recipient_kind, 'recipientId', c.recipient_id,
          'destinationKind', c.destination_kind, 'attempts', c.attempts, 'reason', ${record.answer.slice(0, 500)}::text),
        ${now}::timestamptz
      from changed c where c.alert_id is not null and ${record.outcome === "failed"}::boolean
    )
    select count(*)::int as n from changed
  `.execute(db);
}

/** Gives claimed deliveries back, due at `at`, without counting an attempt (a throttle made them wait). */
export async function releaseDeliveries(
  db: Db,
  input: { ids: readonly number[]; at: Date; now: Date },
): Promise<void> {
  if (input.ids.length === 0) return;
  await sql`
    update deliveries
    set status = ${PENDING}, next_attempt_at = ${input.at.toISOString()}::timestamptz, lease_until = null,
      updated_at = ${input.now.toISOString()}::timestamptz
    where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      and status = ${SENDING}
  `.execute(db);
}

/** Marks claimed deliveries suppressed (their alert was acknowledged or resolved before they went). */
export async function suppressClaimed(
  db: Db,
  input: { ids: readonly number[]; reason: string; now: Date },
): Promise<void> {
  if (input.ids.length === 0) return;
  await sql`
    update deliveries
    set status = ${SUPPRESSED}, last_error = ${input.reason}, lease_until = null,
      updated_at = ${input.now.toISOString()}::timestamptz
    where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      and status = ${SENDING}
  `.execute(db);
}

/**
 * Suppresses the pending pages (message kind `pageKind`) of `alertIds`: an acknowledge or resolve
 * stops what rule delays or retries still hold back. Returns how many.
 */
export async function suppressPendingPages(
  db: Db,
  input: { alertIds: readonly number[]; pageKind: DeliveryMessageKind; reason: string; now: Date },
): Promise<number> {
  if (input.alertIds.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    with changed as (
      update deliveries
      set status = ${SUPPRESSED}, last_error = ${input.reason}, updated_at = ${input.now.toISOString()}::timestamptz
      where alert_id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.alertIds)}::jsonb))
        and status = ${PENDING} and message_kind = ${input.pageKind}
      returning 1
    )
    select count(*)::int as n from changed
  `.execute(db);
  return rows[0]?.n ?? 0;
}

/**
 * Who was paged for `alertId` (a page sent, or carried by a bundle, to a user) and where: the
 * destinations a status update goes to, one per user and contact method. A page being sent (claimed
 * before the acknowledge, so not suppressed) counts: it reaches them.
 */
export async function pagedDestinations(
  db: Db,
  input: { alertId: number; pageKind: DeliveryMessageKind },
): Promise<{ userId: string; contactMethodId: string; destination: Destination; destinationKey: string }[]> {
  const { rows } = await sql<{
    recipient_id: string;
    contact_method_id: string;
    destination: Destination;
    destination_key: string;
  }>`
    select distinct on (recipient_id, contact_method_id) recipient_id, contact_method_id, destination, destination_key
    from deliveries
    where alert_id = ${input.alertId}::bigint and message_kind = ${input.pageKind} and recipient_kind = 'user'
      and status in (${SENT}, ${SENDING}) and contact_method_id is not null
    order by recipient_id, contact_method_id, id
  `.execute(db);
  return rows.map((r) => ({
    userId: r.recipient_id,
    contactMethodId: r.contact_method_id,
    destination: r.destination,
    destinationKey: r.destination_key,
  }));
}

/** Users (of `userIds`) who opted in to status updates. */
export async function optedInUsers(db: Db, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const { rows } = await sql<{ user_id: string }>`
    select user_id from notification_preferences
    where user_id in (select value from jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb))
      and status_updates
  `.execute(db);
  return new Set(rows.map((r) => r.user_id));
}

/** The latest log entry of `type` on the alert: who acknowledged or resolved it, and when. */
export async function latestAlertEvent(
  db: Db,
  input: { alertId: number; types: readonly AlertEventType[] },
): Promise<{ type: AlertEventType; actor: string; message: string; createdAt: Date } | undefined> {
  const { rows } = await sql<{ type: AlertEventType; actor: string; message: string; created_at: Date }>`
    select type, actor, message, created_at from alert_events
    where alert_id = ${input.alertId}::bigint
      and type in (select value from jsonb_array_elements_text(${JSON.stringify(input.types)}::jsonb))
    order by id desc limit 1
  `.execute(db);
  const row = rows[0];
  return row && { type: row.type, actor: row.actor, message: row.message, createdAt: row.created_at };
}

/**
 * Gives every `sending` delivery back (due now): only for a process that knows no other sender is
 * running (the embedded runtime at start, which holds its data folder alone). Returns how many: each
 * may have reached its destination before the crash, and is sent once more (at most one duplicate).
 */
export async function reclaimAbandonedSends(db: Db, now: Date): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with reclaimed as (
      update deliveries
      set status = ${PENDING}, lease_until = null, next_attempt_at = least(next_attempt_at, ${now.toISOString()}::timestamptz),
        updated_at = ${now.toISOString()}::timestamptz
      where status = ${SENDING}
      returning 1
    )
    select count(*)::int as n from reclaimed
  `.execute(db);
  return rows[0]?.n ?? 0;
}

/** The earliest moment a pending delivery is due (a worker sleeps until then), or undefined. */
export async function nextDueAt(db: Db): Promise<Date | undefined> {
  const { rows } = await sql<{ at: Date | null }>`
    select least(
      (select min(next_attempt_at) from deliveries where status = ${PENDING}),
      (select min(lease_until) from deliveries where status = ${SENDING})) as at
  `.execute(db);
  return rows[0]?.at ?? undefined;
}

/** Those of `ids` still pending and due after `now`. */
export async function pendingLater(
  db: Db,
  input: { ids: readonly number[]; now: Date },
): Promise<{ id: number; nextAttemptAt: Date }[]> {
  if (input.ids.length === 0) return [];
  const { rows } = await sql<{ id: number; next_attempt_at: Date }>`
    select id, next_attempt_at from deliveries
    where id in (select value::bigint from jsonb_array_elements_text(${JSON.stringify(input.ids)}::jsonb))
      and status = ${PENDING} and next_attempt_at > ${input.now.toISOString()}::timestamptz
    order by id
  `.execute(db);
  return rows.map((r) => ({ id: r.id, nextAttemptAt: r.next_attempt_at }));
}

/**
 * Deliveries that should have gone by `before` but are still pending (their queue message was lost),
 * or whose lease expired: what housekeeping announces again on AWS. At most `limit`, oldest first.
 */
export async function overdueDeliveries(
  db: Db,
  input: { before: Date; limit: number },
): Promise<{ id: number; nextAttemptAt: Date }[]> {
  const before = input.before.toISOString();
  const { rows } = await sql<{ id: number; next_attempt_at: Date }>`
    select id, next_attempt_at from (
      select id, next_attempt_at from deliveries where status = ${PENDING} and next_attempt_at <= ${before}::timestamptz
      union all
      select id, lease_until from deliveries where status = ${SENDING} and lease_until <= ${before}::timestamptz
    ) x order by next_attempt_at, id limit ${input.limit}::int
  `.execute(db);
  return rows.map((r) => ({ id: r.id, nextAttemptAt: r.next_attempt_at }));
}

// ---------------------------------------------------------------------------------------------
// Reading (NotificationService)

export async function getDelivery(db: Db, id: number): Promise<DeliveryRecord | undefined> {
  const { rows } =
    await sql<DeliveryRow>`select ${columns} from deliveries d where d.id = ${id}::bigint`.execute(db);
  return rows[0] && toRecord(rows[0]);
}

export interface DeliveryFilter {
  readonly alertId?: number | undefined;
  readonly recipientId?: string | undefined;
  readonly statuses?: readonly DeliveryStatus[] | undefined;
  /** Created at or after. */
  readonly since?: Date | undefined;
  /** Created before. */
  readonly until?: Date | undefined;
}

/** Deliveries by idempotency key (in id order). */
export async function deliveriesByKeys(db: Db, keys: readonly string[]): Promise<DeliveryRecord[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<DeliveryRow>`
    select ${columns} from deliveries d
    where d.idempotency_key in (select value from jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb))
    order by d.id
  `.execute(db);
  return rows.map(toRecord);
}

/** A page of deliveries, newest first (keyset on id), after the cursor `beforeId`. */
export async function listDeliveries(
  db: Db,
  input: DeliveryFilter & { beforeId?: number | undefined; limit: number },
): Promise<{ items: DeliveryRecord[]; next: number | undefined }> {
  const where = [sql`true`];
  if (input.alertId !== undefined) where.push(sql`d.alert_id = ${input.alertId}::bigint`);
  if (input.recipientId !== undefined) where.push(sql`d.recipient_id = ${input.recipientId}`);
  if (input.statuses && input.statuses.length > 0) {
    where.push(
      sql`d.status in (select value from jsonb_array_elements_text(${JSON.stringify(input.statuses)}::jsonb))`,
    );
  }
  if (input.since) where.push(sql`d.created_at >= ${input.since.toISOString()}::timestamptz`);
  if (input.until) where.push(sql`d.created_at < ${input.until.toISOString()}::timestamptz`);
  if (input.beforeId !== undefined) where.push(sql`d.id < ${input.beforeId}::bigint`);
  const { rows } = await sql<DeliveryRow>`
    select ${columns} from deliveries d where ${sql.join(where, sql` and `)}
    order by d.id desc limit ${input.limit + 1}::int
  `.execute(db);
  const items = rows.slice(0, input.limit).map(toRecord);
  return { items, next: rows.length > input.limit ? items.at(-1)?.id : undefined };
}

/** A failed delivery due again now, with a fresh set of attempts; undefined when it is not failed. */
export async function retryFailedDelivery(
  db: Db,
  input: { id: number; now: Date },
): Promise<DeliveryRecord | undefined> {
  const now = input.now.toISOString();
  const { rows } = await sql<DeliveryRow>`
    update deliveries d
    set status = ${PENDING}, next_attempt_at = ${now}::timestamptz, max_attempts = d.attempts + d.max_attempts,
      updated_at = ${now}::timestamptz
    where d.id = ${input.id}::bigint and d.status = ${FAILED}
    returning ${columns}
  `.execute(db);
  return rows[0] && toRecord(rows[0]);
}
