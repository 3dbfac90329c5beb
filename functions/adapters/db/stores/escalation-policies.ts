import { type Kysely, type RawBuilder, sql } from "kysely";
import { afterName, byName, keysetPage, type NameCursor, nameCursorOf, pageLimit } from "../keyset.ts";
import type { Database, EscalationTargetRow } from "../schema.ts";
import { routingUsersOf } from "./routing-references.ts";
import { likeContaining } from "./services.ts";

// Escalation policies and their ordered steps. Steps are replaced as a whole list, in the same
// transaction as the policy row. Step targets are JSONB (`[{kind, id}]`) without foreign keys, so the
// schedules and rotations they name are checked here, under a `for key share` lock that makes a
// concurrent delete of those rows wait until the write commits (the deletes lock `for update` first
// and then look for users; see policiesTargeting). Every parameter is cast explicitly: the RDS
// Data API sends strings as varchar.

export type EscalationTarget = EscalationTargetRow;

export interface EscalationStepRecord {
  /** Seconds to wait after this step notifies, before the next step. */
  readonly delaySeconds: number;
  readonly targets: readonly EscalationTarget[];
}

export interface EscalationPolicyRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** How many more times the steps run after the last one (0 = once through). */
  readonly repeatCount: number;
  readonly steps: readonly EscalationStepRecord[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the escalation engine needs of a policy: its steps in order and the repeat count. */
export interface EscalationPolicyDefinition {
  readonly id: string;
  readonly repeatCount: number;
  readonly steps: readonly EscalationStepRecord[];
}

export type PolicyWriteOutcome =
  | { outcome: "ok"; policy: EscalationPolicyRecord }
  | { outcome: "not_found" }
  /** A target names a schedule or rotation that does not exist: steps[stepIndex].targets[targetIndex]. */
  | { outcome: "missing_target"; stepIndex: number; targetIndex: number };

export type DeleteOutcome =
  | { outcome: "deleted" }
  | { outcome: "not_found" }
  /** Still used; `usedBy` names the users, e.g. `escalation policy "Primary" (<id>)`. */
  | { outcome: "in_use"; usedBy: string[] };

type Db = Kysely<Database>;

interface PolicyRow {
  id: string;
  name: string;
  description: string;
  repeat_count: number;
  steps: { delaySeconds: number; targets: EscalationTarget[] }[];
  created_at: Date;
  updated_at: Date;
}

const policyColumns = sql`p.id, p.name, p.description, p.repeat_count, p.created_at, p.updated_at,
  coalesce((
    select jsonb_agg(jsonb_build_object('delaySeconds', st.delay_seconds, 'targets', st.targets) order by st.position)
    from escalation_steps st where st.policy_id = p.id
  ), '[]'::jsonb) as steps`;

function toRecord(row: PolicyRow): EscalationPolicyRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    repeatCount: row.repeat_count,
    steps: row.steps.map((s) => ({ delaySeconds: s.delaySeconds, targets: s.targets })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * JSON `{ repeatCount, steps }` of the policy with id `policyId` (an SQL expression), for a statement
 * that reads a policy beside other rows (loadCohort); null when it does not exist.
 */
export function policyDefinitionJson(policyId: RawBuilder<unknown>) {
  return sql`(
    select jsonb_build_object('repeatCount', p.repeat_count, 'steps', coalesce((
      select jsonb_agg(jsonb_build_object('delaySeconds', st.delay_seconds, 'targets', st.targets) order by st.position)
      from escalation_steps st where st.policy_id = p.id
    ), '[]'::jsonb))
    from escalation_policies p where p.id = ${policyId}
  )`;
}

/** The policy with its steps, in one round trip; undefined when it does not exist. */
export async function getEscalationPolicy(db: Db, id: string): Promise<EscalationPolicyRecord | undefined> {
  const { rows } = await sql<PolicyRow>`
    select ${policyColumns} from escalation_policies p where p.id = ${id}::uuid
  `.execute(db);
  return rows[0] && toRecord(rows[0]);
}

/**
 * The policy as the escalation engine runs it (steps in order, targets as `{kind, id}`), read in one
 * round trip; undefined when it does not exist.
 *
 * @example const policy = await loadEscalationPolicy(db, alert.policyId); const step = policy?.steps[i];
 */
export async function loadEscalationPolicy(
  db: Db,
  policyId: string,
): Promise<EscalationPolicyDefinition | undefined> {
  const policy = await getEscalationPolicy(db, policyId);
  return policy && { id: policy.id, repeatCount: policy.repeatCount, steps: policy.steps };
}

/**
 * Policies as the escalation engine runs them (`{ repeatCount, steps }`, as policyDefinitionJson
 * builds them: a statement can check that a policy is still exactly this), by id, in one round trip;
 * a policy that does not exist is missing.
 */
export async function loadPolicyDefinitions(
  db: Db,
  policyIds: readonly string[],
): Promise<Map<string, Omit<EscalationPolicyDefinition, "id">>> {
  if (policyIds.length === 0) return new Map();
  const { rows } = await sql<{ id: string; definition: Omit<EscalationPolicyDefinition, "id"> | null }>`
    select ids.value as id, ${policyDefinitionJson(sql`ids.value::uuid`)} as definition
    from jsonb_array_elements_text(${JSON.stringify(policyIds)}::jsonb) as ids(value)
  `.execute(db);
  return new Map(rows.flatMap((r) => (r.definition ? [[r.id, r.definition] as const] : [])));
}

/** The last policy of the previous page: policies are listed by lower(name), then id. */
export type PolicyCursor = NameCursor;

/** A page of policies with their steps, by case-insensitive name then id; one round trip. */
export async function listEscalationPolicies(
  db: Db,
  input: { search: string; limit: number; after?: PolicyCursor | undefined },
): Promise<{ policies: EscalationPolicyRecord[]; next: PolicyCursor | undefined }> {
  const conditions: RawBuilder<unknown>[] = [afterName(input.after, "p")];
  if (input.search) conditions.push(sql`p.name ilike ${likeContaining(input.search)} escape '\\'`);
  const { rows } = await sql<PolicyRow>`
    select ${policyColumns} from escalation_policies p
    where ${sql.join(conditions, sql` and `)}
    order by ${byName("p")}
    limit ${pageLimit(input.limit)}
  `.execute(db);
  const page = keysetPage(rows.map(toRecord), input.limit, nameCursorOf);
  return { policies: page.items, next: page.next };
}

export interface PolicyInput {
  name: string;
  description: string;
  repeatCount: number;
  steps: readonly EscalationStepRecord[];
}

/** Creates the policy and its steps in one transaction. */
export async function createEscalationPolicy(
  db: Db,
  input: PolicyInput & { now: Date },
): Promise<PolicyWriteOutcome> {
  return db.transaction().execute(async (trx) => {
    const missing = await findMissingTargets(trx, input.steps);
    if (missing) return missing;
    const now = input.now.toISOString();
    const { rows } = await sql<{ id: string }>`
      insert into escalation_policies (name, description, repeat_count, created_at, updated_at)
      values (${input.name}, ${input.description}, ${input.repeatCount}::int, ${now}::timestamptz, ${now}::timestamptz)
      returning id
    `.execute(trx);
    const id = rows[0]!.id;
    await insertSteps(trx, id, input.steps, input.now);
    return { outcome: "ok", policy: (await getEscalationPolicy(trx, id))! };
  });
}

/**
 * Changes the given fields; `steps`, when given, replaces the whole list. One transaction, under a
 * row lock: `check` sees the policy as it will be committed (the patch over the stored fields) and
 * throws to roll the change back, so rules that tie fields together hold however patches interleave.
 */
export async function updateEscalationPolicy(
  db: Db,
  id: string,
  patch: Partial<PolicyInput>,
  now: Date,
  check: (policy: EscalationPolicyRecord) => void = () => {},
): Promise<PolicyWriteOutcome> {
  return db.transaction().execute(async (trx) => {
    if (patch.steps) {
      const missing = await findMissingTargets(trx, patch.steps);
      if (missing) return missing;
    }
    const sets: RawBuilder<unknown>[] = [sql`updated_at = ${now.toISOString()}::timestamptz`];
    if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
    if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`);
    if (patch.repeatCount !== undefined) sets.push(sql`repeat_count = ${patch.repeatCount}::int`);
    const { rows } = await sql<{ id: string }>`
      update escalation_policies set ${sql.join(sets)} where id = ${id}::uuid returning id
    `.execute(trx);
    if (rows.length === 0) return { outcome: "not_found" };
    if (patch.steps) {
      await sql`delete from escalation_steps where policy_id = ${id}::uuid`.execute(trx);
      await insertSteps(trx, id, patch.steps, now);
    }
    const policy = (await getEscalationPolicy(trx, id))!;
    check(policy);
    return { outcome: "ok", policy };
  });
}

/**
 * Deletes the policy (services using it are detached by the foreign key). Refused while an alert is
 * being escalated along it: deleting it would silently stop that escalation.
 */
export async function deleteEscalationPolicy(db: Db, id: string): Promise<DeleteOutcome> {
  return db.transaction().execute(async (trx) => {
    const { rows: locked } = await sql<{ id: string }>`
      select id from escalation_policies where id = ${id}::uuid for update
    `.execute(trx);
    if (locked.length === 0) return { outcome: "not_found" };
    const { rows: active } = await sql<{ alert_id: number }>`
      select alert_id from alert_escalations
      where policy_id = ${id}::uuid and status = 'active'
      order by alert_id limit 10
    `.execute(trx);
    if (active.length > 0) {
      return { outcome: "in_use", usedBy: active.map((a) => `alert ${a.alert_id} (escalating)`) };
    }
    // A routing rule that routes to it would start escalations along a policy that is gone.
    const rules = await routingUsersOf(trx, { kind: "policy", id });
    if (rules.length > 0) return { outcome: "in_use", usedBy: rules };
    await sql`delete from escalation_policies where id = ${id}::uuid`.execute(trx);
    return { outcome: "deleted" };
  });
}

async function insertSteps(db: Db, policyId: string, steps: readonly EscalationStepRecord[], now: Date) {
  if (steps.length === 0) return;
  const batch = JSON.stringify(
    steps.map((s, position) => ({ position, delay_seconds: s.delaySeconds, targets: s.targets })),
  );
  await sql`
    insert into escalation_steps (policy_id, position, delay_seconds, targets, created_at)
    select ${policyId}::uuid, x.position, x.delay_seconds, x.targets, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${batch}::jsonb) as x(position int, delay_seconds int, targets jsonb)
  `.execute(db);
}

type LockableTarget = { kind: "schedule" | "rotation" | "channel"; id: string };
const isLockable = (t: EscalationTarget): t is LockableTarget =>
  t.kind === "schedule" || t.kind === "rotation" || t.kind === "channel";

/**
 * Locks (`for key share`) the schedules, rotations and channels the steps target and reports the
 * first target that names one that does not exist. One round trip, none when no step names any.
 */
async function findMissingTargets(
  db: Db,
  steps: readonly EscalationStepRecord[],
): Promise<Extract<PolicyWriteOutcome, { outcome: "missing_target" }> | undefined> {
  const refs = steps.flatMap((s) => s.targets).filter(isLockable);
  if (refs.length === 0) return undefined;
  const found = await lockReferences(db, refs);
  for (const [stepIndex, step] of steps.entries()) {
    for (const [targetIndex, t] of step.targets.entries()) {
      if (isLockable(t) && !found.has(`${t.kind}:${t.id}`)) {
        return { outcome: "missing_target", stepIndex, targetIndex };
      }
    }
  }
  return undefined;
}

/**
 * Locks the named schedules, rotations and channels `for key share` (a concurrent delete waits for
 * this transaction) and returns those that exist as `kind:id`. One round trip; ids that are not
 * lower-case uuids exist nowhere.
 */
export async function lockReferences(db: Db, refs: readonly LockableTarget[]): Promise<Set<string>> {
  if (refs.length === 0) return new Set();
  const ids = (kind: string) =>
    JSON.stringify([...new Set(refs.filter((r) => r.kind === kind && UUID.test(r.id)).map((r) => r.id))]);
  const { rows } = await sql<{ kind: string; id: string }>`
    with s as (
      select id from schedules
      where id in (select value::uuid from jsonb_array_elements_text(${ids("schedule")}::jsonb))
      for key share
    ), r as (
      select id from rotations
      where id in (select value::uuid from jsonb_array_elements_text(${ids("rotation")}::jsonb))
      for key share
    ), c as (
      select id from notification_channels
      where id in (select value::uuid from jsonb_array_elements_text(${ids("channel")}::jsonb))
      for key share
    )
    select 'schedule' as kind, id::text as id from s
    union all
    select 'rotation', id::text from r
    union all
    select 'channel', id::text from c
  `.execute(db);
  return new Set(rows.map((r) => `${r.kind}:${r.id}`));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Escalation policies with a step that targets this schedule, rotation or channel, as `escalation
 * policy "<name>" (<id>)`, at most 10. Callers lock the target's row `for update` first, so that a
 * policy write that checked it (lockReferences) has committed and is seen here.
 */
export async function policiesTargeting(db: Db, target: LockableTarget): Promise<string[]> {
  const { rows } = await sql<{ id: string; name: string }>`
    select p.id, p.name from escalation_policies p
    where exists (
      select 1 from escalation_steps st
      where st.policy_id = p.id and st.targets @> ${JSON.stringify([target])}::jsonb
    )
    order by lower(p.name), p.id
    limit 10
  `.execute(db);
  return rows.map((r) => `escalation policy ${JSON.stringify(r.name)} (${r.id})`);
}
