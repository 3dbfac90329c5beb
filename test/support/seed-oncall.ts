import { type Kysely, sql } from "kysely";
import type { Database, EscalationTargetRow } from "../../functions/adapters/db/schema.ts";
import { insertUser } from "../../functions/adapters/db/stores/directory.ts";

// Rows of the on-call model written straight into the tables (no RPC): rotations, schedules and
// escalation policies for tests that are about escalating, not about editing them. Parameters are
// cast explicitly: the RDS Data API sends strings as varchar.

/** A rotation of `participants`, handing off weekly (by default) since 2026-01-05 09:00 UTC (Europe/Berlin). */
export async function seedRotation(
  db: Kysely<Database>,
  participants: string[],
  options: { start?: Date; shiftUnit?: "hour" | "day" | "week" } = {},
): Promise<string> {
  const start = (options.start ?? new Date("2026-01-05T09:00:00Z")).toISOString();
  const { rows } = await sql<{ id: string }>`
    insert into rotations (name, time_zone, shift_count, shift_unit, start_at, participants)
    values ('primary', 'Europe/Berlin', 1, ${options.shiftUnit ?? "week"}, ${start}::timestamptz,
      ${JSON.stringify(participants)}::jsonb)
    returning id
  `.execute(db);
  return rows[0]!.id;
}

/** A schedule on call around the clock, every day: one rule targeting a rotation or a user (or none). */
export async function seedSchedule(
  db: Kysely<Database>,
  target: { rotationId: string } | { userId: string } | null,
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    insert into schedules (name, time_zone) values ('primary', 'Europe/Berlin') returning id
  `.execute(db);
  const id = rows[0]!.id;
  if (target) {
    const rotationId = "rotationId" in target ? target.rotationId : null;
    const userId = "userId" in target ? target.userId : null;
    await sql`
      insert into schedule_rules (schedule_id, position, target_kind, target_user_id, target_rotation_id, weekdays,
        start_time, end_time)
      values (${id}::uuid, 0, ${rotationId ? "rotation" : "user"}, ${userId}::text, ${rotationId}::uuid,
        '[0,1,2,3,4,5,6]'::jsonb, '00:00', '00:00')
    `.execute(db);
  }
  return id;
}

/** An escalation policy with its steps. */
export async function seedPolicy(
  db: Kysely<Database>,
  steps: { delaySeconds: number; targets: EscalationTargetRow[] }[],
  options: { repeatCount?: number } = {},
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    insert into escalation_policies (name, repeat_count) values ('default', ${options.repeatCount ?? 0}::int)
    returning id
  `.execute(db);
  const id = rows[0]!.id;
  for (const [position, step] of steps.entries()) {
    await sql`
      insert into escalation_steps (policy_id, position, delay_seconds, targets)
      values (${id}::uuid, ${position}::int, ${step.delaySeconds}::int, ${JSON.stringify(step.targets)}::jsonb)
    `.execute(db);
  }
  return id;
}

export async function attachPolicy(
  db: Kysely<Database>,
  serviceId: string,
  policyId: string | null,
): Promise<void> {
  await sql`update services set escalation_policy_id = ${policyId}::uuid where id = ${serviceId}::uuid`.execute(
    db,
  );
}

/** A Slack channel (incoming webhook at `webhookUrl`) named `name`; returns its id. */
export async function seedChannel(
  db: Kysely<Database>,
  name: string,
  webhookUrl = "https://hooks.slack.com/services/T0/B0/seed",
): Promise<string> {
  const config = JSON.stringify({ type: "slack", webhookUrl });
  const { rows } = await sql<{ id: string }>`
    insert into notification_channels (name, description, type, config, created_at, updated_at)
    values (${name}::text, '', 'slack', ${config}::jsonb, now(), now())
    returning id
  `.execute(db);
  return rows[0]!.id;
}

/** Users of the embedded directory (by id, named after it), for tests whose writes check user targets. */
export async function seedDirectoryUsers(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  const now = new Date("2026-01-01T00:00:00Z");
  for (const id of ids) {
    await insertUser(
      db,
      { id, name: id, email: `${id}@example.com`, timeZone: "UTC", slackUserId: "", teamsUserId: "" },
      now,
    );
  }
}
