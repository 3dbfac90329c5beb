import { timingSafeEqual } from "node:crypto";
import type { Kysely, RawBuilder } from "kysely";
import { sql } from "kysely";
import { type OwedEffect, RESOLVED, TRANSITIONS } from "../../../domain/alerts/lifecycle.ts";
import { prepared } from "../prepared-statements.ts";
import type { AlertSeverity, Database, IntegrationKeyType } from "../schema.ts";
import {
  type EffectTuple,
  effectOf,
  insertEffects,
  owedEffectRowsOfService,
  owedEffectsOf,
} from "./alert-effects.ts";
import type { FirstStep } from "./escalations.ts";
import { countKeyRequest, hashSecret, randomKeyUsageSlot } from "./integration-keys.ts";
import { type IngestRouting, ingestRoutingParts } from "./routing.ts";

/** One alert-level instruction from a sender, already parsed and validated. */
export interface StoredSignal {
  action: "trigger" | "acknowledge" | "resolve";
  dedupKey: string;
  summary: string;
  details: string;
  severity: AlertSeverity;
  source: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The sender's original entry; stored as JSONB. */
  raw?: unknown;
}

export type SignalOutcome =
  /** A new alert was opened. */
  | "created"
  /** An open alert with the same dedup key absorbed the trigger (duplicate count raised). */
  | "deduplicated"
  | "acknowledged"
  | "resolved"
  /** Nothing to change: e.g. resolve of an unknown or already resolved key, ack of an acked alert. */
  | "unchanged";

export interface SignalResult {
  dedupKey: string;
  alertId: number | null;
  outcome: SignalOutcome;
}

export interface ApplySignalsInput {
  serviceId: string;
  /** Who sent it, for the event log, e.g. `admin` or `api_key:<id>`. */
  actor: string;
  now: Date;
  signals: readonly StoredSignal[];
}

export interface AppliedSignals {
  results: SignalResult[];
  /** The effects the changes owe, written in the same statement, and older ones of the service still owed. */
  effects: OwedEffect[];
}

/** Effects of the same service, still pending after a failed run, that a request picks up at most. */
const owedEffectsPerRequest = 20;

/**
 * Applies a whole request's signals in ONE statement (one round trip, atomic): triggers are
 * upserted on the open-alert unique index, acknowledges and resolves update by dedup key, and
 * each change writes its event. Within a batch the last signal per dedup key wins and repeated
 * triggers add to the duplicate count. Rows are locked in dedup-key order, so concurrent batches
 * over the same keys cannot deadlock each other on the insert.
 *
 * @returns one result per distinct dedup key, in the order keys first appear in `signals`.
 */
export async function applySignals(db: Kysely<Database>, input: ApplySignalsInput): Promise<AppliedSignals> {
  if (input.signals.length === 0) return { results: [], effects: [] };
  const serviceId = sql`${input.serviceId}::uuid`;
  const { rows } = await sql<{ results: ResultTuple[]; effects: EffectTuple[] }>`${prepared}
    with ${signalCtes(input.signals, input.now, {
      serviceId,
      actor: sql`${input.actor}::text`,
      admitted: sql`true`,
    })},
    results as (${selectResults}),
    owed as (${owedEffectsOf(serviceId, input.now, owedEffectsPerRequest)})
    select ${resultsAsJson} as results, ${effectsAsJson} as effects
  `.execute(db);
  return {
    results: orderResults(input.signals, rows[0]?.results ?? []),
    effects: (rows[0]?.effects ?? []).map(effectOf),
  };
}

export interface KeyedIngestInput {
  /** The integration key secret as the sender gave it. */
  secret: string;
  /** The webhook the request came in on: a key of another type (not universal) is refused. */
  source: Exclude<IntegrationKeyType, "universal">;
  now: Date;
  defaultLimitPerMinute: number;
  /** Alerts (signals) per minute of a key that sets no budget of its own. */
  defaultAlertLimitPerMinute: number;
  signals: readonly StoredSignal[];
  /** Routing decided ahead, for the statement to write (if its assumptions hold: see IngestRouting). */
  routing?: IngestRouting | undefined;
  /** The first step of the escalations routing opens, planned ahead (recorded with the alerts if still valid). */
  firstSteps?: readonly FirstStep[] | undefined;
}

export interface KeyedIngestResult {
  /** Undefined when no live key has this secret. */
  key?: {
    keyId: string;
    serviceId: string;
    type: IntegrationKeyType;
    requestsThisMinute: number;
    limitPerMinute: number;
    /** Signals this minute, this request's included, and the key's budget of them. */
    alertsThisMinute: number;
    alertLimitPerMinute: number;
    /** The key's service's default escalation policy. */
    defaultPolicyId: string | null;
  };
  /** Whether the statement wrote `routing` (else the new alerts owe their `route` effect). */
  routed: boolean;
  /** Whether the key let the signals in; when false nothing was written. */
  admitted: boolean;
  results: SignalResult[];
  /** The effects the changes owe (see AppliedSignals). */
  effects: OwedEffect[];
  /** Deliveries the statement wrote (a first step planned with its deliveries), to announce. */
  deliveries: { id: number; nextAttemptAt: Date }[];
}

/**
 * A webhook request in ONE statement: the key is looked up by hash and this request (and its
 * signals) counted in its minute window, and the signals are applied only if the key admits the
 * request — its type matches the webhook (or is universal) and the window is within both the
 * request limit and the alert budget. One round trip and one commit per request.
 */
export async function ingestWithKey(
  db: Kysely<Database>,
  input: KeyedIngestInput,
): Promise<KeyedIngestResult> {
  const hash = hashSecret(input.secret);
  const routed =
    input.routing &&
    ingestRoutingParts(input.routing, {
      serviceId: sql`(select service_id from admitted)`,
      now: input.now,
      firstSteps: input.firstSteps,
    });
  const { rows } = await sql<{
    key_id: string;
    key_service_id: string;
    key_type: IntegrationKeyType;
    secret_hash: string;
    rate_window_count: number;
    limit_per_minute: number;
    alert_window_count: number;
    alert_limit_per_minute: number;
    admitted: boolean;
    default_policy_id: string | null;
    routed: boolean | null;
    results: ResultTuple[];
    effects: EffectTuple[];
    deliveries: [id: number, nextAttemptAt: string][] | null;
  }>`${prepared}
    with ${countKeyRequest({
      hash,
      now: input.now,
      defaultLimitPerMinute: input.defaultLimitPerMinute,
      alerts: input.signals.length,
      defaultAlertLimitPerMinute: input.defaultAlertLimitPerMinute,
      slot: randomKeyUsageSlot(),
    })},
    admitted as (
      select * from key
      where (type = 'universal' or type = ${input.source}) and rate_window_count <= limit_per_minute
        and alert_window_count <= alert_limit_per_minute
    ),
    ${signalCtes(
      input.signals,
      input.now,
      {
        serviceId: sql`(select service_id from admitted)`,
        actor: sql`(select 'integration_key:' || id::text from admitted)`,
        admitted: sql`exists (select 1 from admitted)`,
      },
      routed,
    )},
    results as (${selectResults}),
    owed as (${owedEffectsOf(sql`(select service_id from admitted)`, input.now, owedEffectsPerRequest)})
    select k.id as key_id, k.service_id as key_service_id, k.type as key_type, k.secret_hash,
      k.rate_window_count, k.limit_per_minute, k.alert_window_count, k.alert_limit_per_minute,
      exists (select 1 from admitted) as admitted,
      (select escalation_policy_id from services s where s.id = k.service_id) as default_policy_id,
      ${input.routing ? sql`(select ok from decided_ok)` : sql`false`} as routed,
      ${resultsAsJson} as results, ${effectsAsJson} as effects${
        routed?.delivered
          ? sql`,
      (select json_agg(json_build_array(id, next_attempt_at)) from ${routed.delivered} as delivered) as deliveries`
          : sql``
      }
    from key k
  `.execute(db);
  const first = rows[0];
  // The index found the row by hash; compare once more in constant time, as the contract asks.
  if (!first || !timingSafeEqual(Buffer.from(first.secret_hash, "hex"), Buffer.from(hash, "hex"))) {
    return { admitted: false, routed: false, results: [], effects: [], deliveries: [] };
  }
  return {
    key: {
      keyId: first.key_id,
      serviceId: first.key_service_id,
      type: first.key_type,
      requestsThisMinute: first.rate_window_count,
      limitPerMinute: first.limit_per_minute,
      alertsThisMinute: first.alert_window_count,
      alertLimitPerMinute: first.alert_limit_per_minute,
      defaultPolicyId: first.default_policy_id,
    },
    admitted: first.admitted,
    routed: first.admitted && first.routed === true,
    results: first.admitted ? orderResults(input.signals, first.results) : [],
    effects: first.admitted ? first.effects.map(effectOf) : [],
    deliveries: (first.deliveries ?? []).map(([id, at]) => ({ id: Number(id), nextAttemptAt: new Date(at) })),
  };
}

/** A result as the statement returns it: `[dedup_key, alert_id, outcome code]` (an index in `outcomeCodes`). */
type ResultTuple = [dedupKey: string, alertId: number | null, outcome: number];

/** The outcome codes of `selectResults`, in its order. */
const outcomeCodes: readonly SignalOutcome[] = [
  "created",
  "deduplicated",
  "acknowledged",
  "resolved",
  "unchanged",
];

/**
 * The CTEs that apply a batch. The batch travels as one JSON parameter through
 * jsonb_to_recordset (the Data API takes no arrays), already reduced to the last signal per dedup
 * key with its trigger count (see `lastSignalPerKey`). Only the statements a batch needs are
 * included: an UPDATE over alerts costs a scan even when it matches nothing, and most batches
 * only trigger.
 */
function signalCtes(
  signals: readonly StoredSignal[],
  now: Date,
  on: { serviceId: RawBuilder<unknown>; actor: RawBuilder<unknown>; admitted: RawBuilder<unknown> },
  /** The statement's routing parts (ingestRoutingParts), when routing was decided ahead. */
  routed?: ReturnType<typeof ingestRoutingParts>,
): RawBuilder<unknown> {
  const perKey = lastSignalPerKey(signals);
  // Each trigger's batch row carries the index of its routing decision (`g`), if routing decided.
  const decisionOf = routed?.decisionOf;
  const batch = JSON.stringify(
    perKey.map(({ signal: s, triggers }, ord) => ({
      ord,
      triggers,
      action: s.action,
      dedup_key: s.dedupKey,
      summary: s.summary,
      details: s.details,
      severity: s.severity,
      source: s.source,
      labels: s.labels,
      annotations: s.annotations,
      raw: s.raw ?? null,
      ...(decisionOf ? { g: decisionOf.get(s.dedupKey) ?? null } : {}),
    })),
  );
  const actions = new Set(perKey.map((k) => k.signal.action));
  const none = sql`select null::bigint as id, null::text as dedup_key where false`;
  const { serviceId, actor, admitted } = on;
  const { trigger, deduplicate, acknowledge, resolve } = TRANSITIONS;
  const created = routed?.created;
  const noDecision = created ? sql`, null::bigint` : sql``;
  return sql`
    last_signal as (
      select * from jsonb_to_recordset(${batch}::jsonb) as x(
        ord int, triggers int, action text, dedup_key text, summary text, details text, severity text,
        source text, labels jsonb, annotations jsonb, raw jsonb${decisionOf ? sql`, g int` : sql``})
    ),${routed ? sql`${routed.before},` : sql``}
    triggered as (
      insert into alerts as a (
        service_id, dedup_key, status, severity, summary, details, source, labels, annotations, raw,
        duplicate_count, created_at, last_seen_at${routed ? sql`, routing_state, routing_reason` : sql``})
      select ${serviceId}, dedup_key, ${trigger.to}, severity, summary, details, source, labels, annotations, raw,
        triggers - 1, ${now}::timestamptz, ${now}::timestamptz${routed ? sql`, routing_state, routing_reason` : sql``}
      from ${routed ? sql`${routed.signalsWithDecisions} as last_signal` : sql`last_signal`}
      where action = 'trigger' and ${admitted}
      order by ord
      on conflict (service_id, dedup_key) where ${openAlertIndexPredicate}
      do update set
        last_seen_at = excluded.last_seen_at,
        labels = ${
          routed?.labelsPatched
            ? // A deduplicated trigger keeps the sender's labels (routing changes only the alert it
              // opens): read from the batch, once, and only by a statement that deduplicates.
              sql`(select jsonb_object_agg(l.dedup_key, l.labels) from last_signal l) -> excluded.dedup_key`
            : sql`excluded.labels`
        },
        annotations = excluded.annotations,
        raw = excluded.raw,
        duplicate_count = a.duplicate_count + excluded.duplicate_count + 1
      returning a.id, a.dedup_key, (a.xmax = 0) as inserted
    ),
    acknowledged as (${
      actions.has("acknowledge")
        ? sql`
      update alerts a
      set status = ${acknowledge.to}, acknowledged_at = ${now}::timestamptz, acknowledged_by = ${actor}
      where a.service_id = ${serviceId} and a.status in (${statusList(acknowledge.from)})
        and a.dedup_key in (select dedup_key from last_signal where action = 'acknowledge')
      returning a.id, a.dedup_key`
        : none
    }),
    resolved as (${
      actions.has("resolve")
        ? sql`
      update alerts a
      set status = ${resolve.to}, resolved_at = ${now}::timestamptz, resolved_by = ${actor}
      where a.service_id = ${serviceId} and a.status in (${statusList(resolve.from)})
        and a.dedup_key in (select dedup_key from last_signal where action = 'resolve')
      returning a.id, a.dedup_key`
        : none
    }),${routed ? sql`${routed.after},` : sql``}
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at${created ? sql`, decision_id` : sql``})
      ${
        created
          ? // A new alert's routing decision is its created entry's message and data.
            sql`select alert_id, case when inserted then ${trigger.event} else ${deduplicate.event} end, ${actor},
        case when event is not null then message else '' end, case when event is not null then data end,
        ${now}::timestamptz, case when event is not null then decision_id end
      from ${created} as created_entries`
          : sql`select id, case when inserted then ${trigger.event} else ${deduplicate.event} end, ${actor}, '',
        null::jsonb, ${now}::timestamptz
      from triggered`
      }
      union all
      select id, ${acknowledge.event}, ${actor}, '', null, ${now}::timestamptz${noDecision} from acknowledged
      union all
      select id, ${resolve.event}, ${actor}, '', null, ${now}::timestamptz${noDecision} from resolved${
        routed
          ? sql`
      union all select *${noDecision} from (${routed.events}) as routing_events`
          : sql``
      }${
        routed?.listed
          ? sql`
      returning id, alert_id, decision_id`
          : sql``
      }
    ),${routed?.listed ? sql`${routed.listed},` : sql``}
    effects as (${insertEffects(
      routed
        ? sql`${owedEffectRowsOfService(serviceId, {
            // Routed here: the route effect is owed only if the decisions' assumptions did not hold.
            trigger: sql`select id from triggered where inserted and not ${routed.applied}`,
            acknowledge: sql`select id from acknowledged`,
            resolve: sql`select id from resolved`,
          })} union all ${routed.starts}`
        : owedEffectRowsOfService(serviceId, {
            trigger: sql`select id from triggered where inserted`,
            acknowledge: sql`select id from acknowledged`,
            resolve: sql`select id from resolved`,
          }),
      now,
    )})`;
}

/** The predicate of the partial unique index on open alerts `(service_id, dedup_key)`: not RESOLVED. */
const openAlertIndexPredicate = sql.raw(`status <> '${RESOLVED}'`);

/** `'a', 'b'` for `in (...)`: a constant list from the lifecycle table, inlined so plans stay generic-friendly. */
export function statusList(statuses: readonly string[]): RawBuilder<unknown> {
  return sql.join(statuses.map((s) => sql.lit(s)));
}

const selectResults = sql`
    select s.dedup_key,
      coalesce(t.id, k.id, r.id) as alert_id,
      case
        when t.id is not null and t.inserted then 0
        when t.id is not null then 1
        when k.id is not null then 2
        when r.id is not null then 3
        else 4
      end as outcome
    from last_signal s
    left join triggered t on t.dedup_key = s.dedup_key
    left join acknowledged k on k.dedup_key = s.dedup_key
    left join resolved r on r.dedup_key = s.dedup_key`;

/** The `results` CTE as one JSON array: one row to decode instead of one per alert. */
const resultsAsJson = sql`(
      select coalesce(json_agg(json_build_array(dedup_key, alert_id, outcome)), '[]'::json) from results)`;

/** The effects written (CTE `effects`) and those owed from before (CTE `owed`), as one JSON array. */
const effectsAsJson = sql`(
      select coalesce(json_agg(effect), '[]'::json) from (
        select effect from effects union all select effect from owed) as all_effects)`;

/**
 * The signal that decides each dedup key's fate (the last one sent) and how many triggers the key
 * got (each beyond the first counts as a duplicate), ordered by dedup key: every batch then locks
 * the rows it upserts in the same order, so concurrent batches over the same keys cannot deadlock.
 */
function lastSignalPerKey(signals: readonly StoredSignal[]): { signal: StoredSignal; triggers: number }[] {
  const byKey = new Map<string, { signal: StoredSignal; triggers: number }>();
  for (const signal of signals) {
    const entry = byKey.get(signal.dedupKey);
    const trigger = signal.action === "trigger" ? 1 : 0;
    if (entry) {
      entry.signal = signal;
      entry.triggers += trigger;
    } else {
      byKey.set(signal.dedupKey, { signal, triggers: trigger });
    }
  }
  return [...byKey.values()].sort((a, b) =>
    a.signal.dedupKey < b.signal.dedupKey ? -1 : a.signal.dedupKey > b.signal.dedupKey ? 1 : 0,
  );
}

function orderResults(signals: readonly StoredSignal[], tuples: readonly ResultTuple[]): SignalResult[] {
  const byKey = new Map(
    tuples.map(([dedupKey, alertId, code]) => [
      dedupKey,
      { alertId, outcome: outcomeCodes[code] ?? "unchanged" },
    ]),
  );
  const seen = new Set<string>();
  const results: SignalResult[] = [];
  for (const signal of signals) {
    if (seen.has(signal.dedupKey)) continue;
    seen.add(signal.dedupKey);
    const row = byKey.get(signal.dedupKey);
    results.push({
      dedupKey: signal.dedupKey,
      alertId: row?.alertId ?? null,
      outcome: row?.outcome ?? "unchanged",
    });
  }
  return results;
}
