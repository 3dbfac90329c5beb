import { type Kysely, type RawBuilder, sql } from "kysely";
import type {
  DeliveryMessageKind,
  Destination,
  OutboundMessage,
} from "../../../domain/notifications/model.ts";
import type { Database } from "../schema.ts";

// The embedded runtime's local outbox: email and SMS kept (not sent) when no SMTP server or SNS is
// configured, read through LocalOutboxService. One row per idempotency key.

type Db = Kysely<Database>;

export interface OutboxRecord {
  readonly id: number;
  readonly idempotencyKey: string;
  readonly destination: Destination;
  readonly messageKind: DeliveryMessageKind;
  readonly parts: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

interface OutboxRow {
  id: number;
  idempotency_key: string;
  destination: Destination;
  message_kind: DeliveryMessageKind;
  parts: Record<string, string>;
  created_at: Date;
}

/** Keeps the message; a second call with the same idempotency key returns the first row's id. */
export async function recordOutboxMessage(db: Db, message: OutboundMessage, now: Date): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    with inserted as (
      insert into local_outbox (idempotency_key, destination_kind, destination, message_kind, parts, created_at)
      values (${message.idempotencyKey}, ${message.destination.kind}, ${JSON.stringify(message.destination)}::jsonb,
        ${message.kind}, ${JSON.stringify(message.parts)}::jsonb, ${now.toISOString()}::timestamptz)
      on conflict (idempotency_key) do nothing
      returning id
    )
    select id from inserted
    union all
    select id from local_outbox where idempotency_key = ${message.idempotencyKey}
    limit 1
  `.execute(db);
  return rows[0]!.id;
}

/** Newest first; `before` is the last id of the previous page. */
export async function listOutboxMessages(
  db: Db,
  input: {
    destinationKind?: "email" | "sms" | undefined;
    recipient?: string | undefined;
    limit: number;
    before?: number | undefined;
  },
): Promise<{ messages: OutboxRecord[]; next: number | undefined }> {
  const conditions: RawBuilder<unknown>[] = [sql`true`];
  if (input.before !== undefined) conditions.push(sql`id < ${input.before}::bigint`);
  if (input.destinationKind) conditions.push(sql`destination_kind = ${input.destinationKind}`);
  if (input.recipient) {
    conditions.push(
      sql`(destination -> 'to' @> ${JSON.stringify([input.recipient])}::jsonb or destination ->> 'phone' = ${input.recipient}::text)`,
    );
  }
  const { rows } = await sql<OutboxRow>`
    select id, idempotency_key, destination, message_kind, parts, created_at from local_outbox
    where ${sql.join(conditions, sql` and `)}
    order by id desc
    limit ${input.limit + 1}::int
  `.execute(db);
  const messages = rows.slice(0, input.limit).map(
    (r): OutboxRecord => ({
      id: r.id,
      idempotencyKey: r.idempotency_key,
      destination: r.destination,
      messageKind: r.message_kind,
      parts: r.parts,
      createdAt: r.created_at,
    }),
  );
  return { messages, next: rows.length > input.limit ? messages.at(-1)?.id : undefined };
}
