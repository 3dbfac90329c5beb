import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { AlertSeverity, Database } from "../schema.ts";

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
  /** Who sent it, for the event log, e.g. `integration_key:<id>`. */
  actor: string;
  now: Date;
  signals: readonly StoredSignal[];
}

/**
 * Applies a whole request's signals in ONE statement (one round trip, atomic): triggers are
 * upserted on the open-alert unique index, acknowledges and resolves update by dedup key, and
 * each change writes its event. Within a batch the last signal per dedup key wins and repeated
 * triggers add to the duplicate count. Rows are locked in dedup-key order, so concurrent batches
 * over the same keys cannot deadlock each other on the insert.
 *
 * The batch travels as one JSON parameter through jsonb_to_recordset: the Data API takes no arrays.
 *
 * @returns one result per distinct dedup key, in the order keys first appear in `signals`.
 */
export async function applySignals(db: Kysely<Database>, input: ApplySignalsInput): Promise<SignalResult[]> {
  if (input.signals.length === 0) return [];
  const batch = JSON.stringify(
    input.signals.map((s, ord) => ({
      ord,
      action: s.action,
      dedup_key: s.dedupKey,
      summary: s.summary,
      details: s.details,
      severity: s.severity,
      source: s.source,
      labels: s.labels,
      annotations: s.annotations,
      raw: s.raw ?? null,
    })),
  );
  const { serviceId, actor, now } = input;
  // Only the statements a batch needs: an UPDATE over alerts costs a scan even when it matches
  // nothing, and most batches only trigger.
  const actions = new Set(input.signals.map((s) => s.action));
  const has = (action: StoredSignal["action"]) => actions.has(action);
  const none = sql`select null::bigint as id, null::text as dedup_key where false`;
  const { rows } = await sql<{ dedup_key: string; alert_id: number | null; outcome: SignalOutcome }>`
    with input as (
      select * from jsonb_to_recordset(${batch}::jsonb) as x(
        ord int, action text, dedup_key text, summary text, details text, severity text, source text,
        labels jsonb, annotations jsonb, raw jsonb)
    ),
    last_signal as (
      select distinct on (dedup_key) *,
        count(*) filter (where action = 'trigger') over (partition by dedup_key) as triggers
      from input
      order by dedup_key, ord desc
    ),
    triggered as (
      insert into alerts as a (
        service_id, dedup_key, status, severity, summary, details, source, labels, annotations, raw,
        duplicate_count, created_at, last_seen_at)
      select ${serviceId}::uuid, dedup_key, 'triggered', severity, summary, details, source, labels, annotations, raw,
        triggers - 1, ${now}::timestamptz, ${now}::timestamptz
      from last_signal
      where action = 'trigger'
      order by dedup_key
      on conflict (service_id, dedup_key) where status <> 'resolved'
      do update set
        last_seen_at = excluded.last_seen_at,
        labels = excluded.labels,
        annotations = excluded.annotations,
        raw = excluded.raw,
        duplicate_count = a.duplicate_count + excluded.duplicate_count + 1
      returning a.id, a.dedup_key, (a.xmax = 0) as inserted
    ),
    acknowledged as (${
      has("acknowledge")
        ? sql`
      update alerts a
      set status = 'acknowledged', acknowledged_at = ${now}::timestamptz, acknowledged_by = ${actor}
      where a.service_id = ${serviceId}::uuid and a.status = 'triggered' and a.status <> 'resolved'
        and a.dedup_key in (select dedup_key from last_signal where action = 'acknowledge')
      returning a.id, a.dedup_key`
        : none
    }),
    resolved as (${
      has("resolve")
        ? sql`
      update alerts a
      set status = 'resolved', resolved_at = ${now}::timestamptz, resolved_by = ${actor}
      where a.service_id = ${serviceId}::uuid and a.status <> 'resolved'
        and a.dedup_key in (select dedup_key from last_signal where action = 'resolve')
      returning a.id, a.dedup_key`
        : none
    }),
    logged as (
      insert into alert_events (alert_id, type, actor, message, data, created_at)
      select id, case when inserted then 'created' else 'duplicate_suppressed' end, ${actor}, '',
        null::jsonb, ${now}::timestamptz
      from triggered
      union all
      select id, 'acknowledged', ${actor}, '', null, ${now}::timestamptz from acknowledged
      union all
      select id, 'resolved', ${actor}, '', null, ${now}::timestamptz from resolved
    )
    select s.dedup_key,
      coalesce(t.id, k.id, r.id) as alert_id,
      case
        when t.id is not null and t.inserted then 'created'
        when t.id is not null then 'deduplicated'
        when k.id is not null then 'acknowledged'
        when r.id is not null then 'resolved'
        else 'unchanged'
      end as outcome
    from last_signal s
    left join triggered t on t.dedup_key = s.dedup_key
    left join acknowledged k on k.dedup_key = s.dedup_key
    left join resolved r on r.dedup_key = s.dedup_key
  `.execute(db);

  const byKey = new Map(rows.map((r) => [r.dedup_key, r]));
  const seen = new Set<string>();
  const results: SignalResult[] = [];
  for (const signal of input.signals) {
    if (seen.has(signal.dedupKey)) continue;
    seen.add(signal.dedupKey);
    const row = byKey.get(signal.dedupKey);
    results.push({
      dedupKey: signal.dedupKey,
      alertId: row?.alert_id ?? null,
      outcome: row?.outcome ?? "unchanged",
    });
  }
  return results;
}
