import { type Kysely, sql } from "kysely";

// Why: a start was noted on every row of its cohort (execution_arn, up to 1,000 rows updated and
// locked per start, racing the execution's first step for the same rows). An execution's id follows
// from its name (on AWS `arn:aws:states:<region>:<account>:execution:<machine>:<name>`) and a start
// still owed is its `escalation.start` effect, pending in the outbox until the start succeeded:
// the column carried nothing else (issue 10).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table alert_escalations drop column execution_arn`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table alert_escalations add column execution_arn text`.execute(db);
}
