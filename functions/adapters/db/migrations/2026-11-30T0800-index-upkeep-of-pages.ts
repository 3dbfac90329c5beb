import { type Kysely, sql } from "kysely";

// Why (issue 10): every page an escalation records writes a notification and its deliveries with
// the alert (the ingest statement writes a first step's), and each of their indexes is upkeep paid
// on that path. Two of them were not worth it:
// - `notifications_pending_idx` (created_at where status = 'pending'): no query reads notifications
//   by status (deliveries carry what was sent), and no statement moves a notification out of
//   `pending`, so it indexed every notification ever written, for nobody.
// - `deliveries_created_idx` (created_at, id), a btree entry per delivery for the `since`/`until`
//   filters of ListDeliveries only (a page of it is ordered by id). A BRIN index on `created_at`
//   serves those filters (deliveries are appended: created_at follows the physical order) at the
//   cost of a summary per 128 pages instead of an entry per row.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`drop index notifications_pending_idx`,
    sql`drop index deliveries_created_idx`,
    sql`create index deliveries_created_brin on deliveries using brin (created_at)`,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop index deliveries_created_brin`,
    sql`create index deliveries_created_idx on deliveries (created_at, id)`,
    sql`create index notifications_pending_idx on notifications (created_at) where status = 'pending'`,
  ]) {
    await statement.execute(db);
  }
}
