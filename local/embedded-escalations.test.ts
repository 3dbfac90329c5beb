import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DatabaseHandle } from "../functions/adapters/db/database.ts";
import { openTestDatabase } from "../test/support/databases.ts";
import { seedPolicy } from "../test/support/seed-oncall.ts";
import { resumeActiveEscalations } from "./embedded-escalations.ts";

// After a restart the embedded runtime resumes every active escalation, not only the first 10,000.
let database: DatabaseHandle;
const activeCount = 10_050;

beforeAll(async () => {
  database = await openTestDatabase("pglite");
  const { db } = database;
  const policyId = await seedPolicy(db, [{ delaySeconds: 60, targets: [{ kind: "user", id: "alice" }] }]);
  const { rows } = await sql<{ id: string }>`
    insert into services (name, escalation_policy_id) values ('big', ${policyId}::uuid) returning id
  `.execute(db);
  const serviceId = rows[0]!.id;
  // activeCount active escalations, plus a few finished ones that must not be resumed.
  await sql`
    insert into alerts (service_id, dedup_key, status, severity, summary, source)
    select ${serviceId}::uuid, 'k' || n, 'triggered', 'error', 'disk full', 'generic'
    from generate_series(1, ${activeCount + 5}::int) n
  `.execute(db);
  await sql`
    insert into alert_escalations (alert_id, policy_id, status, next_step_at, execution_name)
    select a.id, ${policyId}::uuid,
      case when row_number() over (order by a.id) <= ${activeCount}::int then 'active' else 'completed' end,
      now() + interval '1 hour', 'alert-' || a.id
    from alerts a
  `.execute(db);
}, 120_000);

afterAll(async () => {
  await database?.close();
});

it("resumes every active escalation, in pages", async () => {
  const resumed: string[] = [];
  const runner = {
    async resume(page: readonly string[]) {
      resumed.push(...page);
    },
  };
  const count = await resumeActiveEscalations(database.db, runner, 1_000);
  expect(count).toBe(activeCount);
  expect(new Set(resumed).size).toBe(activeCount);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from alert_escalations where status = 'active'
  `.execute(database.db);
  expect(rows[0]!.n).toBe(activeCount);
});

it("resumes all of them with the default page size too", async () => {
  let count = 0;
  const resumedCount = await resumeActiveEscalations(database.db, {
    async resume(page) {
      count += page.length;
    },
  });
  expect(resumedCount).toBe(activeCount);
  expect(count).toBe(activeCount);
});

it("resumes a cohort once: one execution for the escalations that share its name", async () => {
  await sql`
    update alert_escalations set execution_name = 'cohort-shared'
    where alert_id in (select alert_id from alert_escalations where status = 'active' order by alert_id limit 10)
  `.execute(database.db);
  const resumed: string[] = [];
  const count = await resumeActiveEscalations(database.db, {
    async resume(page) {
      resumed.push(...page);
    },
  });
  expect(count).toBe(activeCount - 9);
  expect(resumed.filter((name) => name === "cohort-shared")).toEqual(["cohort-shared"]);
});
