import { type Kysely, sql } from "kysely";

// Why (issue 10): the key of a delivery to the bundle that carried it (`bundled_into`, 2026-11-29T1700)
// queued an RI check per inserted row although every page is written without a bundle: 200 trigger
// events per 100-alert request paging two contact methods (~0.25 ms of the ~14 ms ingest statement on
// PGlite). Only the sender sets it, to the id of the row it is sending in that very statement, so
// the insert-side check never had anything to refuse. What the key still did, clearing the pointer when
// the bundle row goes (with its alert: 2026-11-30T0710), a statement trigger now does.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`alter table deliveries drop constraint deliveries_bundled_into_fkey`,
    sql`
      create function unbundle_deliveries_of_deleted_bundles() returns trigger
      language plpgsql as $$
      begin
        update deliveries set bundled_into = null
        where bundled_into in (select id from deleted_deliveries);
        return null;
      end
      $$
    `,
    sql`
      create trigger deliveries_unbundle after delete on deliveries
      referencing old table as deleted_deliveries
      for each statement execute function unbundle_deliveries_of_deleted_bundles()
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger deliveries_unbundle on deliveries`,
    sql`drop function unbundle_deliveries_of_deleted_bundles()`,
    sql`
      update deliveries d set bundled_into = null
      where d.bundled_into is not null and not exists (select 1 from deliveries b where b.id = d.bundled_into)
    `,
    sql`
      alter table deliveries add constraint deliveries_bundled_into_fkey
      foreign key (bundled_into) references deliveries (id) on delete set null
    `,
  ]) {
    await statement.execute(db);
  }
}
