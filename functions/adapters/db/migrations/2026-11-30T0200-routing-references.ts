import { type Kysely, sql } from "kysely";

// Why (issue 13, referential integrity of routing): a rule's scope and actions and a maintenance
// window's scope name services, escalation policies, channels, schedules and templates by id inside
// JSONB, which no foreign key sees. Save checked that they existed, but a delete afterwards (or one
// racing the save: check, then someone deletes, then the rule is written) left rules pointing at
// nothing. routing_references holds one row per (rule or window, thing it names), kept by triggers on
// routing_rules and maintenance_windows (the writers are unchanged), with real foreign keys:
// - a hard delete (policy, channel, schedule, template) fails while a rule names it, whatever the
//   timing: the row that names it either is committed (the delete's check sees it) or holds the
//   target's key-share lock (the delete waits, then its foreign key check sees the row);
// - a service is archived (an update of deleted_at, which a key-share lock does not block), so the
//   reference trigger takes a share lock on the services it names and refuses archived ones, and a
//   trigger on services refuses the archive while a rule or a window that has not ended names it.
// The stores read the names for their FAILED_PRECONDITION from here (indexed per target) instead of
// a JSONB containment scan of every rule. Cancelled windows name nothing; windows that ended by time
// keep their rows but the archive trigger ignores them. Backfill: only references to things that
// exist (a rule saved before this change may name a deleted one: routing records that as the rule's
// error and falls back, app/routing.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: the RDS Data API runs a single statement per request.
  for (const statement of [
    sql`
      create table routing_references (
        rule_id uuid references routing_rules (id) on delete cascade,
        window_id uuid references maintenance_windows (id) on delete cascade,
        service_id uuid references services (id),
        policy_id uuid references escalation_policies (id),
        channel_id uuid references notification_channels (id),
        schedule_id uuid references schedules (id),
        template_id uuid references templates (id),
        check (num_nonnulls(rule_id, window_id) = 1),
        check (num_nonnulls(service_id, policy_id, channel_id, schedule_id, template_id) = 1)
      )
    `,
    sql`create index routing_references_rule_idx on routing_references (rule_id) where rule_id is not null`,
    sql`create index routing_references_window_idx on routing_references (window_id) where window_id is not null`,
    sql`create index routing_references_service_idx on routing_references (service_id) where service_id is not null`,
    sql`create index routing_references_policy_idx on routing_references (policy_id) where policy_id is not null`,
    sql`create index routing_references_channel_idx on routing_references (channel_id) where channel_id is not null`,
    sql`create index routing_references_schedule_idx on routing_references (schedule_id) where schedule_id is not null`,
    sql`create index routing_references_template_idx on routing_references (template_id) where template_id is not null`,
    // The (kind, id) pairs a rule names; ids that are not uuids (the built-in "default-alert"
    // template) name no row.
    sql`
      create function routing_rule_refs(service_ids jsonb, actions jsonb)
      returns table (kind text, ref uuid)
      language sql immutable as $$
        select r.kind, r.ref::uuid from (
          select 'service' as kind, s as ref from jsonb_array_elements_text(coalesce(service_ids, '[]'::jsonb)) s
          union all select 'policy', a->>'policyId' from jsonb_array_elements(actions) a where a->>'kind' = 'route'
          union all select 'channel', a->>'channelId' from jsonb_array_elements(actions) a where a->>'kind' = 'notify_channel'
          union all select 'template', a->>'templateId' from jsonb_array_elements(actions) a where a->>'kind' = 'notify_channel'
          union all select 'schedule', a->>'scheduleId' from jsonb_array_elements(actions) a where a->>'kind' = 'notify_schedule'
        ) r
        where r.ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      $$
    `,
    // Share-locks the services the owner names (an archive waits for this transaction) and refuses
    // archived ones, as their foreign key refuses missing ones.
    sql`
      create function routing_refuse_archived_services(owner_rule uuid, owner_window uuid)
      returns void language plpgsql as $$
      declare archived uuid;
      begin
        perform 1 from services s where s.id in (
          select service_id from routing_references
          where (rule_id = owner_rule or window_id = owner_window) and service_id is not null
        ) for share of s;
        select s.id into archived from services s where s.deleted_at is not null and s.id in (
          select service_id from routing_references
          where (rule_id = owner_rule or window_id = owner_window) and service_id is not null
        ) limit 1;
        if archived is not null then
          raise exception 'service % is deleted', archived using errcode = '23503';
        end if;
      end
      $$
    `,
    sql`
      create function routing_rule_references() returns trigger
      language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and new.service_ids is not distinct from old.service_ids
          and new.actions is not distinct from old.actions then
          return null;
        end if;
        delete from routing_references where rule_id = new.id;
        insert into routing_references (rule_id, service_id, policy_id, channel_id, schedule_id, template_id)
        select distinct new.id,
          case when r.kind = 'service' then r.ref end, case when r.kind = 'policy' then r.ref end,
          case when r.kind = 'channel' then r.ref end, case when r.kind = 'schedule' then r.ref end,
          case when r.kind = 'template' then r.ref end
        from routing_rule_refs(new.service_ids, new.actions) r;
        perform routing_refuse_archived_services(new.id, null);
        return null;
      end
      $$
    `,
    sql`
      create trigger routing_rules_references after insert or update on routing_rules
      for each row execute function routing_rule_references()
    `,
    sql`
      create function maintenance_window_references() returns trigger
      language plpgsql as $$
      begin
        if tg_op = 'UPDATE' and new.scope is not distinct from old.scope
          and new.cancelled_at is not distinct from old.cancelled_at then
          return null;
        end if;
        delete from routing_references where window_id = new.id;
        if new.cancelled_at is not null then
          return null;
        end if;
        insert into routing_references (window_id, service_id)
        select distinct new.id, r.ref from routing_rule_refs(new.scope->'serviceIds', '[]'::jsonb) r;
        perform routing_refuse_archived_services(null, new.id);
        return null;
      end
      $$
    `,
    sql`
      create trigger maintenance_windows_references after insert or update on maintenance_windows
      for each row execute function maintenance_window_references()
    `,
    // The archive's own statement names the users first (stores/services.ts); this is the guard for
    // a rule or window committed between that statement's snapshot and its row lock.
    sql`
      create function routing_refuse_archiving_named_service() returns trigger
      language plpgsql as $$
      declare users text;
      begin
        if old.deleted_at is not null or new.deleted_at is null then
          return new;
        end if;
        select string_agg(u, ', ') into users from (
          select 'routing rule "' || r.name || '" (' || r.id || ')' as u
          from routing_references x join routing_rules r on r.id = x.rule_id
          where x.service_id = new.id
          union all
          select 'maintenance window "' || w.name || '" (' || w.id || ')'
          from routing_references x join maintenance_windows w on w.id = x.window_id
          where x.service_id = new.id and (w.ends_at is null or w.ends_at > new.deleted_at)
          limit 10
        ) q;
        if users is not null then
          raise exception 'service % is named by %', new.id, users using errcode = '23503';
        end if;
        return new;
      end
      $$
    `,
    sql`
      create trigger services_refuse_archiving_named before update of deleted_at on services
      for each row execute function routing_refuse_archiving_named_service()
    `,
    // Backfill what exists (a dangling reference cannot be a foreign key row).
    sql`
      insert into routing_references (rule_id, service_id, policy_id, channel_id, schedule_id, template_id)
      select distinct ru.id,
        case when r.kind = 'service' then r.ref end, case when r.kind = 'policy' then r.ref end,
        case when r.kind = 'channel' then r.ref end, case when r.kind = 'schedule' then r.ref end,
        case when r.kind = 'template' then r.ref end
      from routing_rules ru cross join lateral routing_rule_refs(ru.service_ids, ru.actions) r
      where case r.kind
        when 'service' then exists (select 1 from services s where s.id = r.ref)
        when 'policy' then exists (select 1 from escalation_policies p where p.id = r.ref)
        when 'channel' then exists (select 1 from notification_channels c where c.id = r.ref)
        when 'schedule' then exists (select 1 from schedules s where s.id = r.ref)
        else exists (select 1 from templates t where t.id = r.ref) end
    `,
    sql`
      insert into routing_references (window_id, service_id)
      select distinct w.id, r.ref
      from maintenance_windows w cross join lateral routing_rule_refs(w.scope->'serviceIds', '[]'::jsonb) r
      where w.cancelled_at is null and exists (select 1 from services s where s.id = r.ref)
    `,
  ]) {
    await statement.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    sql`drop trigger services_refuse_archiving_named on services`,
    sql`drop trigger maintenance_windows_references on maintenance_windows`,
    sql`drop trigger routing_rules_references on routing_rules`,
    sql`drop function routing_refuse_archiving_named_service()`,
    sql`drop function maintenance_window_references()`,
    sql`drop function routing_rule_references()`,
    sql`drop function routing_refuse_archived_services(uuid, uuid)`,
    sql`drop function routing_rule_refs(jsonb, jsonb)`,
    sql`drop table routing_references`,
  ]) {
    await statement.execute(db);
  }
}
