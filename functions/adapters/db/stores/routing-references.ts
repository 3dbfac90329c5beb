import { type Kysely, sql } from "kysely";
import type { Database } from "../schema.ts";

// Who names a service, escalation policy, channel, schedule or template in routing: the routing
// rules (enabled or not) and the maintenance windows that have not ended, read from
// routing_references (kept by triggers; see migration 2026-11-30T0200). Deletes call this inside
// their transaction after locking the target row, so a rule saved meanwhile is either seen here or
// stopped by the foreign key.

type Db = Kysely<Database>;

export type RoutingReferenceKind = "service" | "policy" | "channel" | "schedule" | "template";

/** How many users a refusal names. */
export const MAX_NAMED_USERS = 10;

const columnOf: Record<RoutingReferenceKind, string> = {
  service: "service_id",
  policy: "policy_id",
  channel: "channel_id",
  schedule: "schedule_id",
  template: "template_id",
};

/**
 * The rules and live windows that name the target, as `routing rule "<name>" (<id>)` /
 * `maintenance window "<name>" (<id>)`, rules first in evaluation order, at most MAX_NAMED_USERS
 * (then "and N more"). Empty when none does.
 *
 * @example await routingUsersOf(trx, { kind: "policy", id }) // ['routing rule "db" (3f…)']
 */
export async function routingUsersOf(
  db: Db,
  target: { kind: RoutingReferenceKind; id: string },
  /** Windows name services only: needed (to leave out ended windows) for kind "service". */
  now?: Date,
): Promise<string[]> {
  const column = sql.ref(`x.${columnOf[target.kind]}`);
  const { rows } = await sql<{ what: string; id: string; name: string; total: number | string }>`
    select what, id, name, count(*) over () as total from (
      select distinct 0 as o, r.position as p, 'routing rule' as what, r.id::text as id, r.name
      from routing_references x join routing_rules r on r.id = x.rule_id
      where ${column} = ${target.id}::uuid
      union all
      select distinct 1, 0, 'maintenance window', w.id::text, w.name
      from routing_references x join maintenance_windows w on w.id = x.window_id
      where ${column} = ${target.id}::uuid and w.cancelled_at is null
        and (w.ends_at is null or w.ends_at > ${(now ?? new Date(0)).toISOString()}::timestamptz)
    ) q
    order by o, p, id
    limit ${MAX_NAMED_USERS}::int
  `.execute(db);
  const names = rows.map((r) => `${r.what} ${JSON.stringify(r.name)} (${r.id})`);
  const total = Number(rows[0]?.total ?? 0);
  if (total > names.length) names.push(`and ${total - names.length} more`);
  return names;
}
