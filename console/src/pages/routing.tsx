import { type JsonObject, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { Severity } from "../../../functions/gen/oncall/v1/alerts_pb.ts";
import {
  type Matcher,
  MatchField,
  MatchOperator,
  type RoutingAction,
  type RoutingRule,
  type RoutingRuleSchema,
  RoutingService,
  RuleOutcome,
  type SimulateRoutingResponse,
  type TestRoutingRuleResponse,
} from "../../../functions/gen/oncall/v1/routing_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, parseLabels, relative, severityLabel, viewerZone } from "../format.ts";
import { useChannels, useNames, usePolicies, useSchedules, useServices, useTemplates } from "../lookups.ts";
import { alertRequestOf, newSample, type SampleDraft } from "../sample.ts";
import {
  Badge,
  CheckField,
  CheckListField,
  Empty,
  ErrorNote,
  FormActions,
  FormError,
  Loading,
  PageTitle,
  RowEditDelete,
  SelectField,
  TableHead,
  TextAreaField,
  TextField,
  WeekdaysField,
} from "../ui.tsx";
import { SampleAlertFields, sampleFields, severities } from "./sample-alert.tsx";

type Names = ReturnType<typeof useNames>;

const matchFields = [
  { value: String(MatchField.LABEL), label: "Label" },
  { value: String(MatchField.ANNOTATION), label: "Annotation" },
  { value: String(MatchField.SEVERITY), label: "Severity" },
  { value: String(MatchField.SOURCE), label: "Source" },
  { value: String(MatchField.SERVICE), label: "Service" },
  { value: String(MatchField.SUMMARY), label: "Summary" },
];
const operators = [
  { value: String(MatchOperator.EQUALS), label: "equals", symbol: "=" },
  { value: String(MatchOperator.NOT_EQUALS), label: "does not equal", symbol: "≠" },
  { value: String(MatchOperator.CONTAINS), label: "contains", symbol: "contains" },
  { value: String(MatchOperator.STARTS_WITH), label: "starts with", symbol: "starts with" },
  { value: String(MatchOperator.ENDS_WITH), label: "ends with", symbol: "ends with" },
  { value: String(MatchOperator.REGEX), label: "matches regex (RE2)", symbol: "=~" },
  { value: String(MatchOperator.NOT_REGEX), label: "does not match regex", symbol: "!~" },
  { value: String(MatchOperator.IN), label: "is one of", symbol: "in" },
  { value: String(MatchOperator.NOT_IN), label: "is none of", symbol: "not in" },
  { value: String(MatchOperator.EXISTS), label: "exists", symbol: "exists" },
  { value: String(MatchOperator.NOT_EXISTS), label: "does not exist", symbol: "does not exist" },
  { value: String(MatchOperator.GREATER_THAN), label: "greater than (number)", symbol: ">" },
  { value: String(MatchOperator.LESS_THAN), label: "less than (number)", symbol: "<" },
];
const operatorSymbol = new Map(operators.map((o) => [Number(o.value), o.symbol]));
const listOperators = new Set<number>([MatchOperator.IN, MatchOperator.NOT_IN]);
const valueless = new Set<number>([MatchOperator.EXISTS, MatchOperator.NOT_EXISTS]);
const dayNames = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

type ActionKind = NonNullable<RoutingAction["kind"]["case"]>;
const actionKinds: { value: ActionKind; label: string }[] = [
  { value: "route", label: "Route to escalation policy" },
  { value: "notifyChannel", label: "Notify a channel (no escalation)" },
  { value: "notifyUser", label: "Notify a user" },
  { value: "notifySchedule", label: "Notify who is on call (schedule)" },
  { value: "setLabels", label: "Set labels" },
  { value: "setSeverity", label: "Set severity" },
  { value: "suppress", label: "Suppress (store, never escalate)" },
  { value: "aggregate", label: "Aggregate into one alert" },
  { value: "createTicket", label: "Create a ticket (recorded as pending)" },
];

function matcherText(m: Matcher, names: Names): string {
  const field =
    m.field === MatchField.LABEL
      ? `label ${m.name}`
      : m.field === MatchField.ANNOTATION
        ? `annotation ${m.name}`
        : (matchFields.find((f) => Number(f.value) === m.field)?.label.toLowerCase() ?? "?");
  const op = operatorSymbol.get(m.operator) ?? "?";
  if (valueless.has(m.operator)) return `${field} ${op}`;
  if (listOperators.has(m.operator)) return `${field} ${op} (${m.values.join(", ")})`;
  const value = m.field === MatchField.SERVICE ? (names.service.get(m.value) ?? m.value) : m.value;
  return `${field} ${op} ${value}`;
}

/** "label team = db AND CEL … AND Mon–Fri 09:00–17:00 (Europe/Berlin)" — or "every alert". */
export function conditionSummary(rule: RoutingRule, names: Names): string {
  const c = rule.condition;
  const parts = (c?.matchers ?? []).map((m) => matcherText(m, names));
  if (c?.cel.trim()) parts.push(`CEL ${c.cel.trim()}`);
  if (c?.time) {
    const windows = c.time.windows
      .map((w) => `${w.weekdays.map((d) => dayNames[d]).join(",")} ${w.start}–${w.end}`)
      .join(" or ");
    parts.push(`${windows} (${c.time.zone})`);
  }
  return parts.length ? parts.join(" AND ") : "every alert";
}

export function actionSummary(a: RoutingAction, names: Names): string {
  const k = a.kind;
  switch (k.case) {
    case "route":
      return `route to ${names.policy.get(k.value.escalationPolicyId) ?? k.value.escalationPolicyId}`;
    case "notifyChannel":
      return `notify channel ${names.channel.get(k.value.channelId) ?? k.value.channelId}`;
    case "notifyUser":
      return `notify user ${k.value.userId}`;
    case "notifySchedule":
      return `notify on-call of ${names.schedule.get(k.value.scheduleId) ?? k.value.scheduleId}`;
    case "setLabels":
      return `set labels ${Object.entries(k.value.labels)
        .map(([n, v]) => `${n}=${v}`)
        .join(", ")}`;
    case "setSeverity":
      return `set severity ${severityLabel[k.value.severity]?.toLowerCase() ?? "?"}`;
    case "suppress":
      return `suppress (${k.value.reason})`;
    case "aggregate":
      return `aggregate by ${k.value.keyLabels.join(", ") || "service"} for ${k.value.windowSeconds} s`;
    case "createTicket":
      return `ticket in ${k.value.system}${k.value.project ? `/${k.value.project}` : ""}`;
    default:
      return "?";
  }
}

/**
 * The page's draft rule set: the saved rules in order with the one being edited as the form holds
 * it, or with the new rule from the form appended once it has a name.
 */
export function draftOf(
  saved: readonly RoutingRule[],
  editing: RoutingRule | null,
  form: DraftRule | undefined,
): { draft: DraftRule[]; draftNote: string } {
  if (form && editing) {
    return {
      draft: saved.map((r) => (r.id === editing.id ? form : r)),
      draftNote: `The ${saved.length} saved rules, with your unsaved edits to “${editing.name}”.`,
    };
  }
  if (form?.name?.trim()) {
    return {
      draft: [...saved, form],
      draftNote: `The ${saved.length} saved rules, then the new rule “${form.name.trim()}” from the form (last).`,
    };
  }
  return { draft: [...saved], draftNote: `The ${saved.length} saved rules (the form is empty).` };
}

export function RoutingPage() {
  const session = useSession();
  const names = useNames();
  const rules = useQuery(RoutingService.method.listRoutingRules, { pageSize: 500 });
  const [editing, setEditing] = useState<RoutingRule | null>(null);
  // A new, empty form after each creation (every field back to its default).
  const [created, setCreated] = useState<{ count: number; rule?: RoutingRule }>({ count: 0 });
  // The rule in the form as edited (unsaved): with the saved rules, the simulator's draft set.
  const [formRule, setFormRule] = useState<DraftRule | undefined>();
  const reorder = useMutation(RoutingService.method.reorderRoutingRules);
  const remove = useMutation(RoutingService.method.deleteRoutingRule);
  const list = rules.data?.rules ?? [];
  // Reordering sends every rule's id; with more than a page of rules the console cannot.
  const canReorder = session.canWrite && !rules.data?.nextPageToken;
  const move = (index: number, by: -1 | 1) => {
    const ids = list.map((r) => r.id);
    const [moved] = ids.splice(index, 1);
    if (!moved) return;
    ids.splice(index + by, 0, moved);
    reorder.mutate({ ruleIds: ids, expectedVersion: rules.data?.ruleSetVersion ?? 0n });
  };
  return (
    <>
      <PageTitle>Routing rules</PageTitle>
      <p className="muted">
        Every new alert walks these rules in order. A matching rule's actions run; a matching{" "}
        <em>terminal</em> rule stops the walk. When no rule picks a policy or a direct notification, the
        service's escalation policy applies; without one the alert is recorded as unrouted.
        {rules.data ? ` Rule set version ${String(rules.data.ruleSetVersion)}.` : ""}
      </p>
      <ErrorNote error={rules.error ?? reorder.error ?? remove.error} />
      {rules.isPending ? (
        <Loading what="routing rules" />
      ) : list.length === 0 ? (
        <Empty>
          No routing rules yet: every alert follows its service's escalation policy.{" "}
          {session.canWrite
            ? "Add a rule below (for example, suppress env=staging or send severity info straight to a channel), then try it in the simulator."
            : "Someone with a write key can add rules."}
        </Empty>
      ) : (
        <table className="list rules">
          <TableHead
            columns={[
              "#",
              "Rule",
              { label: "When", wide: true },
              "Then",
              session.canWrite ? "Actions" : null,
            ]}
          />
          <tbody>
            {list.map((r, i) => (
              <tr key={r.id} data-rule={r.name}>
                <td>{r.priority}</td>
                <td>
                  <strong>{r.name}</strong>
                  {r.enabled ? null : <Badge kind="revoked">disabled</Badge>}
                  {r.terminal ? <Badge kind="terminal">terminal</Badge> : null}
                  {r.description ? <div className="muted">{r.description}</div> : null}
                  <div className="muted">
                    {r.serviceIds.length
                      ? `Services: ${r.serviceIds.map((id) => names.service.get(id) ?? id).join(", ")}`
                      : "All services"}
                  </div>
                  <div className="narrow">When {conditionSummary(r, names)}</div>
                </td>
                <td className="wide">
                  <code className="condition">{conditionSummary(r, names)}</code>
                </td>
                <td>
                  <ul className="plain">
                    {r.actions.map((a, ai) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: actions are positional
                      <li key={ai}>{actionSummary(a, names)}</li>
                    ))}
                  </ul>
                  {r.terminal ? <div className="muted">then stop</div> : null}
                </td>
                {session.canWrite ? (
                  <td className="row-actions">
                    {canReorder ? (
                      <>
                        <button
                          type="button"
                          aria-label={`Move ${r.name} up`}
                          disabled={i === 0 || reorder.isPending}
                          onClick={() => move(i, -1)}
                        >
                          ↑
                        </button>
                        <button
                          type="button"
                          aria-label={`Move ${r.name} down`}
                          disabled={i === list.length - 1 || reorder.isPending}
                          onClick={() => move(i, 1)}
                        >
                          ↓
                        </button>
                      </>
                    ) : null}
                    <RowEditDelete
                      name={r.name}
                      what="routing rule"
                      onEdit={() => setEditing(r)}
                      onDelete={() => remove.mutate({ id: r.id })}
                    />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rules.data?.nextPageToken ? (
        <p className="muted">The first 500 rules are shown; reorder the rest with the API.</p>
      ) : null}
      {session.canWrite ? (
        <>
          {created.rule && !editing ? (
            <p className="notice" role="status">
              Rule “{created.rule.name}” added as number {created.rule.priority}.
            </p>
          ) : null}
          <RuleForm
            key={editing?.id ?? `new-${created.count}`}
            initial={editing ?? undefined}
            onDone={() => setEditing(null)}
            onCreated={(rule) => setCreated((c) => ({ count: c.count + 1, rule }))}
            onDraft={setFormRule}
          />
        </>
      ) : null}
      <SimulatePanel {...draftOf(list, editing, session.canWrite ? formRule : undefined)} />
      <Decisions ruleName={new Map(list.map((r) => [r.id, r.name]))} />
      <RuleChanges />
    </>
  );
}

interface MatcherDraft {
  field: string;
  name: string;
  operator: string;
  value: string;
}
interface WindowDraft {
  weekdays: number[];
  start: string;
  end: string;
}
interface ActionDraft {
  kind: ActionKind;
  policyId: string;
  channelId: string;
  templateId: string;
  userId: string;
  scheduleId: string;
  labels: string;
  severity: string;
  reason: string;
  keyLabels: string;
  windowSeconds: string;
  system: string;
  project: string;
}

const emptyAction: ActionDraft = {
  kind: "route",
  policyId: "",
  channelId: "",
  templateId: "",
  userId: "",
  scheduleId: "",
  labels: "",
  severity: String(Severity.WARNING),
  reason: "",
  keyLabels: "",
  windowSeconds: "300",
  system: "jira",
  project: "",
};

function actionDraftOf(a: RoutingAction): ActionDraft {
  const k = a.kind;
  const d = { ...emptyAction, kind: k.case ?? "route" };
  switch (k.case) {
    case "route":
      return { ...d, policyId: k.value.escalationPolicyId };
    case "notifyChannel":
      return { ...d, channelId: k.value.channelId, templateId: k.value.templateId };
    case "notifyUser":
      return { ...d, userId: k.value.userId };
    case "notifySchedule":
      return { ...d, scheduleId: k.value.scheduleId };
    case "setLabels":
      return {
        ...d,
        labels: Object.entries(k.value.labels)
          .map(([n, v]) => `${n}=${v}`)
          .join(", "),
      };
    case "setSeverity":
      return { ...d, severity: String(k.value.severity) };
    case "suppress":
      return { ...d, reason: k.value.reason };
    case "aggregate":
      return { ...d, keyLabels: k.value.keyLabels.join(", "), windowSeconds: String(k.value.windowSeconds) };
    case "createTicket":
      return { ...d, system: k.value.system, project: k.value.project };
    default:
      return d;
  }
}

const splitList = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** The action as the API takes it; a malformed labels text is sent empty so the server names the field. */
function actionOf(d: ActionDraft) {
  switch (d.kind) {
    case "route":
      return { kind: { case: "route" as const, value: { escalationPolicyId: d.policyId } } };
    case "notifyChannel":
      return {
        kind: { case: "notifyChannel" as const, value: { channelId: d.channelId, templateId: d.templateId } },
      };
    case "notifyUser":
      return { kind: { case: "notifyUser" as const, value: { userId: d.userId.trim() } } };
    case "notifySchedule":
      return { kind: { case: "notifySchedule" as const, value: { scheduleId: d.scheduleId } } };
    case "setLabels":
      return { kind: { case: "setLabels" as const, value: { labels: parseLabels(d.labels) ?? {} } } };
    case "setSeverity":
      return { kind: { case: "setSeverity" as const, value: { severity: Number(d.severity) as Severity } } };
    case "suppress":
      return { kind: { case: "suppress" as const, value: { reason: d.reason } } };
    case "aggregate":
      return {
        kind: {
          case: "aggregate" as const,
          value: { keyLabels: splitList(d.keyLabels), windowSeconds: Number(d.windowSeconds) || 0 },
        },
      };
    case "createTicket":
      return { kind: { case: "createTicket" as const, value: { system: d.system, project: d.project } } };
  }
}

const ruleFields = ["name", "description", "service_ids", "condition.cel", "condition.matchers", "actions"];

/** Creates a rule (appended last), or edits `initial`. */
function RuleForm({
  initial,
  onDone,
  onCreated,
  onDraft,
}: {
  initial?: RoutingRule;
  onDone: () => void;
  onCreated: (rule: RoutingRule | undefined) => void;
  /** Called with the rule as edited, unsaved, whenever a field changes. */
  onDraft: (rule: DraftRule) => void;
}) {
  const services = useServices();
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const [terminal, setTerminal] = useState(initial?.terminal ?? false);
  const [serviceIds, setServiceIds] = useState<string[]>(initial?.serviceIds ?? []);
  const [matchers, setMatchers] = useState<MatcherDraft[]>(
    (initial?.condition?.matchers ?? []).map((m) => ({
      field: String(m.field),
      name: m.name,
      operator: String(m.operator),
      value: listOperators.has(m.operator) ? m.values.join(", ") : m.value,
    })),
  );
  const [cel, setCel] = useState(initial?.condition?.cel ?? "");
  const [timed, setTimed] = useState(Boolean(initial?.condition?.time));
  const [zone, setZone] = useState(initial?.condition?.time?.zone ?? viewerZone);
  const [windows, setWindows] = useState<WindowDraft[]>(
    initial?.condition?.time?.windows.map((w) => ({
      weekdays: [...w.weekdays],
      start: w.start,
      end: w.end,
    })) ?? [{ weekdays: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" }],
  );
  const [actions, setActions] = useState<ActionDraft[]>(
    initial?.actions.map(actionDraftOf) ?? [{ ...emptyAction }],
  );
  const createRule = useMutation(RoutingService.method.createRoutingRule, {
    onSuccess: (r) => onCreated(r.rule),
  });
  const update = useMutation(RoutingService.method.updateRoutingRule, { onSuccess: onDone });
  const m = initial ? update : createRule;

  // The rule as the form holds it: what Save sends, what "Test this rule" tests, and the page's draft.
  const rule = useMemo(
    () => ({
      id: initial?.id ?? "",
      name,
      description,
      enabled,
      terminal,
      serviceIds,
      condition: {
        matchers: matchers.map((x) => {
          const op = Number(x.operator) as MatchOperator;
          return {
            field: Number(x.field) as MatchField,
            name: x.name.trim(),
            operator: op,
            value: listOperators.has(op) || valueless.has(op) ? "" : x.value,
            values: listOperators.has(op) ? splitList(x.value) : [],
          };
        }),
        cel,
        ...(timed ? { time: { zone, windows } } : {}),
      },
      actions: actions.map(actionOf),
    }),
    [
      initial?.id,
      name,
      description,
      enabled,
      terminal,
      serviceIds,
      matchers,
      cel,
      timed,
      zone,
      windows,
      actions,
    ],
  );
  useEffect(() => onDraft(rule), [rule, onDraft]);
  const test = useMutation(RoutingService.method.testRoutingRule);
  // A test's result (or error) speaks of the rule as it was: an edit clears it.
  const resetTest = test.reset;
  useEffect(() => {
    if (rule) resetTest();
  }, [rule, resetTest]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    test.reset();
    if (initial)
      update.mutate({
        rule,
        updateMask: {
          paths: ["name", "description", "enabled", "service_ids", "condition", "actions", "terminal"],
        },
      });
    else createRule.mutate({ rule });
  };
  // The last of saving and testing says what is wrong with the rule's fields.
  const ruleError = m.error ?? test.error;
  const title = initial ? `Edit rule “${initial.name}”` : "New routing rule";
  const setMatcher = (i: number, patch: Partial<MatcherDraft>) =>
    setMatchers((xs) => xs.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const setWindow = (i: number, patch: Partial<WindowDraft>) =>
    setWindows((xs) => xs.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const setAction = (i: number, patch: Partial<ActionDraft>) =>
    setActions((xs) => xs.map((x, j) => (j === i ? { ...x, ...patch } : x)));

  return (
    <form onSubmit={submit} className="card" noValidate aria-label={title}>
      <h2>{title}</h2>
      <div className="row">
        <TextField label="Rule name" name="name" value={name} onChange={setName} error={ruleError} />
        <TextField
          label="Description"
          name="description"
          value={description}
          onChange={setDescription}
          error={ruleError}
        />
      </div>
      <div className="row">
        <CheckField label="Enabled" checked={enabled} onChange={setEnabled} />
        <CheckField
          label="Terminal"
          hint="When it matches, later rules are not evaluated."
          checked={terminal}
          onChange={setTerminal}
        />
      </div>
      <CheckListField
        legend="Services (none ticked: every service)"
        options={(services.data?.services ?? []).map((s) => ({ value: s.id, label: s.name }))}
        value={serviceIds}
        onChange={setServiceIds}
      />
      <fieldset>
        <legend>Conditions (all must hold; none: every alert)</legend>
        {matchers.length === 0 ? <p className="muted">No matchers.</p> : null}
        {matchers.map((x, i) => {
          const at = `condition.matchers[${i}]`;
          const op = Number(x.operator);
          const named = x.field === String(MatchField.LABEL) || x.field === String(MatchField.ANNOTATION);
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: matchers are positional
            <div key={i} className="target matcher">
              <SelectField
                label={`Matcher ${i + 1} field`}
                name={`${at}.field`}
                value={x.field}
                onChange={(v) => setMatcher(i, { field: v })}
                options={matchFields}
                error={ruleError}
              />
              {named ? (
                <TextField
                  label={`Matcher ${i + 1} name`}
                  name={`${at}.name`}
                  value={x.name}
                  onChange={(v) => setMatcher(i, { name: v })}
                  error={ruleError}
                />
              ) : null}
              <SelectField
                label={`Matcher ${i + 1} operator`}
                name={`${at}.operator`}
                value={x.operator}
                onChange={(v) => setMatcher(i, { operator: v })}
                options={operators}
                error={ruleError}
              />
              {valueless.has(op) ? null : (
                <TextField
                  label={`Matcher ${i + 1} ${listOperators.has(op) ? "values (comma-separated)" : "value"}`}
                  name={listOperators.has(op) ? `${at}.values` : `${at}.value`}
                  value={x.value}
                  onChange={(v) => setMatcher(i, { value: v })}
                  error={ruleError}
                />
              )}
              <button type="button" onClick={() => setMatchers((xs) => xs.filter((_, j) => j !== i))}>
                Remove matcher {i + 1}
              </button>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            setMatchers((xs) => [
              ...xs,
              {
                field: String(MatchField.LABEL),
                name: "",
                operator: String(MatchOperator.EQUALS),
                value: "",
              },
            ])
          }
        >
          Add matcher
        </button>
        <TextAreaField
          label="CEL expression"
          name="condition.cel"
          className="mono"
          rows={3}
          placeholder='alert.labels.env == "prod" && inBusinessHours(now, "default")'
          hint="Optional. Variables: alert (summary, severity, source, service, labels, annotations…) and now."
          value={cel}
          onChange={setCel}
          error={ruleError}
        />
        <CheckField label="Only at certain times" checked={timed} onChange={setTimed} />
        {timed ? (
          <>
            <TextField
              label="Time zone"
              name="condition.time.zone"
              value={zone}
              onChange={setZone}
              error={ruleError}
            />
            {windows.map((w, i) => {
              const at = `condition.time.windows[${i}]`;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: windows are positional
                <div key={i} className="rule">
                  <WeekdaysField
                    legend={`Window ${i + 1} days`}
                    name={`${at}.weekdays`}
                    value={w.weekdays}
                    onChange={(days) => setWindow(i, { weekdays: days })}
                    error={ruleError}
                  />
                  <div className="row">
                    <TextField
                      label={`Window ${i + 1} from`}
                      name={`${at}.start`}
                      type="time"
                      value={w.start}
                      onChange={(v) => setWindow(i, { start: v })}
                      error={ruleError}
                    />
                    <TextField
                      label={`Window ${i + 1} until`}
                      name={`${at}.end`}
                      type="time"
                      value={w.end}
                      onChange={(v) => setWindow(i, { end: v })}
                      error={ruleError}
                    />
                    {windows.length > 1 ? (
                      <button type="button" onClick={() => setWindows((xs) => xs.filter((_, j) => j !== i))}>
                        Remove window {i + 1}
                      </button>
                    ) : null}
                  </div>
                </div>
              );
            })}
            <button
              type="button"
              onClick={() => setWindows((xs) => [...xs, { weekdays: [6, 7], start: "00:00", end: "24:00" }])}
            >
              Add window
            </button>
          </>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Actions (in order)</legend>
        {actions.map((a, i) => (
          <ActionEditor
            // biome-ignore lint/suspicious/noArrayIndexKey: actions are positional
            key={i}
            index={i}
            action={a}
            error={ruleError}
            onChange={(patch) => setAction(i, patch)}
            onRemove={actions.length > 1 ? () => setActions((xs) => xs.filter((_, j) => j !== i)) : undefined}
          />
        ))}
        <button type="button" onClick={() => setActions((xs) => [...xs, { ...emptyAction }])}>
          Add action
        </button>
      </fieldset>
      <RuleTest
        run={(alert) => {
          m.reset();
          test.mutate({ ruleSource: { case: "rule", value: rule }, ...alert });
        }}
        result={test.data}
        error={test.error}
        pending={test.isPending}
      />
      <FormActions
        error={m.error}
        fields={ruleFields}
        pending={m.isPending}
        submit={initial ? "Save rule" : "Create rule"}
        onCancel={initial ? onDone : undefined}
      />
    </form>
  );
}

function ActionEditor({
  index,
  action: a,
  error,
  onChange,
  onRemove,
}: {
  index: number;
  action: ActionDraft;
  error: unknown;
  onChange: (patch: Partial<ActionDraft>) => void;
  onRemove?: () => void;
}) {
  const policies = usePolicies();
  const channels = useChannels();
  const schedules = useSchedules();
  const templates = useTemplates();
  const n = index + 1;
  const at = `actions[${index}]`;
  const choose = (what: string, xs: { id: string; name: string }[] | undefined) => [
    { value: "", label: `Choose ${what}` },
    ...(xs ?? []).map((x) => ({ value: x.id, label: x.name })),
  ];
  return (
    <div className="target action">
      <SelectField
        label={`Action ${n}`}
        name={at}
        value={a.kind}
        onChange={(v) => onChange({ kind: v as ActionKind })}
        options={actionKinds}
        error={error}
      />
      {a.kind === "route" ? (
        <SelectField
          label={`Action ${n} escalation policy`}
          name={`${at}.route.escalation_policy_id`}
          value={a.policyId}
          onChange={(v) => onChange({ policyId: v })}
          options={choose("a policy", policies.data?.policies)}
          error={error}
        />
      ) : null}
      {a.kind === "notifyChannel" ? (
        <>
          <SelectField
            label={`Action ${n} channel`}
            name={`${at}.notify_channel.channel_id`}
            value={a.channelId}
            onChange={(v) => onChange({ channelId: v })}
            options={choose("a channel", channels.data?.channels)}
            error={error}
          />
          <SelectField
            label={`Action ${n} template`}
            name={`${at}.notify_channel.template_id`}
            value={a.templateId}
            onChange={(v) => onChange({ templateId: v })}
            options={[
              { value: "", label: "The service's alert template" },
              ...(templates.data?.templates ?? []).map((t) => ({ value: t.id, label: t.name })),
            ]}
            error={error}
          />
        </>
      ) : null}
      {a.kind === "notifyUser" ? (
        <TextField
          label={`Action ${n} user id`}
          name={`${at}.notify_user.user_id`}
          value={a.userId}
          onChange={(v) => onChange({ userId: v })}
          error={error}
        />
      ) : null}
      {a.kind === "notifySchedule" ? (
        <SelectField
          label={`Action ${n} schedule`}
          name={`${at}.notify_schedule.schedule_id`}
          value={a.scheduleId}
          onChange={(v) => onChange({ scheduleId: v })}
          options={choose("a schedule", schedules.data?.schedules)}
          error={error}
        />
      ) : null}
      {a.kind === "setLabels" ? (
        <TextField
          label={`Action ${n} labels`}
          name={`${at}.set_labels.labels`}
          placeholder="team=db, env=prod"
          value={a.labels}
          onChange={(v) => onChange({ labels: v })}
          error={error}
        />
      ) : null}
      {a.kind === "setSeverity" ? (
        <SelectField
          label={`Action ${n} severity`}
          name={`${at}.set_severity.severity`}
          value={a.severity}
          onChange={(v) => onChange({ severity: v })}
          options={severities}
          error={error}
        />
      ) : null}
      {a.kind === "suppress" ? (
        <TextField
          label={`Action ${n} reason`}
          name={`${at}.suppress.reason`}
          value={a.reason}
          onChange={(v) => onChange({ reason: v })}
          error={error}
        />
      ) : null}
      {a.kind === "aggregate" ? (
        <>
          <TextField
            label={`Action ${n} key labels`}
            name={`${at}.aggregate.key_labels`}
            placeholder="alertname, cluster"
            value={a.keyLabels}
            onChange={(v) => onChange({ keyLabels: v })}
            error={error}
          />
          <TextField
            label={`Action ${n} window (seconds)`}
            name={`${at}.aggregate.window_seconds`}
            type="number"
            value={a.windowSeconds}
            onChange={(v) => onChange({ windowSeconds: v })}
            error={error}
          />
        </>
      ) : null}
      {a.kind === "createTicket" ? (
        <>
          <TextField
            label={`Action ${n} ticket system`}
            name={`${at}.create_ticket.system`}
            value={a.system}
            onChange={(v) => onChange({ system: v })}
            error={error}
          />
          <TextField
            label={`Action ${n} project`}
            name={`${at}.create_ticket.project`}
            value={a.project}
            onChange={(v) => onChange({ project: v })}
            error={error}
          />
        </>
      ) : null}
      {onRemove ? (
        <button type="button" onClick={onRemove}>
          Remove action {n}
        </button>
      ) : null}
    </div>
  );
}

const outcomeLabel: Record<number, string> = {
  [RuleOutcome.MATCHED]: "matched",
  [RuleOutcome.NOT_MATCHED]: "not matched",
  [RuleOutcome.ERROR]: "error",
  [RuleOutcome.DISABLED]: "disabled",
  [RuleOutcome.OUT_OF_SCOPE]: "other service",
  [RuleOutcome.NOT_REACHED]: "not reached",
};

type DraftRule = MessageInitShape<typeof RoutingRuleSchema>;
type AlertRequest = Exclude<ReturnType<typeof alertRequestOf>, { error: unknown }>;

/** A sample alert's form and its run button; `run` gets the request's alert and time. */
function useSampleRequest(run: (req: AlertRequest) => void) {
  const services = useServices();
  const [sample, setSample] = useState(() => newSample());
  const [localError, setLocalError] = useState<ConnectError | undefined>();
  const patch = (p: Partial<SampleDraft>) => setSample((d) => ({ ...d, ...p }));
  const submit = () => {
    const req = alertRequestOf(sample, services.data?.services[0]?.id ?? "");
    if ("error" in req) {
      setLocalError(req.error);
      return;
    }
    setLocalError(undefined);
    run(req);
  };
  return { sample, patch, submit, localError };
}

/** "Test this rule" in a rule's form: the rule as edited, unsaved, against one alert (TestRoutingRule). */
function RuleTest({
  run,
  result,
  error,
  pending,
}: {
  run: (req: AlertRequest) => void;
  result: TestRoutingRuleResponse | undefined;
  error: unknown;
  pending: boolean;
}) {
  const names = useNames();
  const { sample, patch, submit, localError } = useSampleRequest(run);
  const shown = localError ?? error;
  const r = result?.result;
  return (
    <fieldset className="rule-test">
      <legend>Test this rule</legend>
      <p className="muted">
        The rule as it stands in this form (not saved) against one alert: whether its condition matches, and
        what it would do. Nothing is written.
      </p>
      <SampleAlertFields
        prefix="Test alert"
        storedLabel="Test with a stored alert number"
        value={sample}
        onChange={patch}
        error={shown}
      />
      <FormError error={shown} fields={[...ruleFields, ...sampleFields, "rule"]} />
      <button type="button" onClick={submit} disabled={pending}>
        Test this rule
      </button>
      {r && !shown ? (
        <div
          className="card simulation"
          role="status"
          aria-label="Rule test result"
          data-result={outcomeLabel[r.outcome]}
        >
          <p>
            <OutcomeBadge outcome={r.outcome} /> {r.message}
          </p>
          {r.outcome === RuleOutcome.MATCHED ? (
            <>
              <p>It would:</p>
              <ol>
                {(result?.actions ?? []).map((a, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: actions are positional
                  <li key={i}>{actionSummary(a, names)}</li>
                ))}
              </ol>
            </>
          ) : null}
        </div>
      ) : null}
    </fieldset>
  );
}

function OutcomeBadge({ outcome }: { outcome: RuleOutcome }) {
  return (
    <Badge
      kind={
        outcome === RuleOutcome.MATCHED ? "resolved" : outcome === RuleOutcome.ERROR ? "triggered" : "revoked"
      }
    >
      {outcomeLabel[outcome] ?? "?"}
    </Badge>
  );
}

/**
 * A sample or stored alert at a chosen time against the live rules, or the draft (the rules as
 * edited on this page, unsaved): every rule's result, the actions, the maintenance verdict.
 * Nothing is written.
 */
function SimulatePanel({ draft, draftNote }: { draft: DraftRule[]; draftNote: string }) {
  const names = useNames();
  const [ruleSet, setRuleSet] = useState<"live" | "draft">("live");
  const simulate = useMutation(RoutingService.method.simulateRouting);
  const { sample, patch, submit, localError } = useSampleRequest((req) =>
    simulate.mutate({ ...req, ...(ruleSet === "draft" ? { draft: { rules: draft } } : {}) }),
  );
  const shown = localError ?? simulate.error;
  const r = simulate.data;
  return (
    <section aria-labelledby="simulate">
      <h2 id="simulate">Simulate</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
        className="card"
        noValidate
        aria-label="Simulate routing"
      >
        <p className="muted">
          A made-up (or stored) alert at a chosen time against the live rules or your unsaved draft. Nothing
          is written.
        </p>
        <SelectField
          label="Rules"
          name="draft"
          value={ruleSet}
          onChange={(v) => setRuleSet(v as "live" | "draft")}
          options={[
            { value: "live", label: "The live rules" },
            { value: "draft", label: "Draft: the rules as edited on this page (unsaved)" },
          ]}
          hint={ruleSet === "draft" ? draftNote : undefined}
          error={shown}
        />
        <SampleAlertFields
          prefix="Sample"
          storedLabel="Or a stored alert number"
          value={sample}
          onChange={patch}
          error={shown}
        />
        <FormError error={shown} fields={[...sampleFields, "draft"]} />
        <button type="submit" className="primary" disabled={simulate.isPending}>
          Simulate
        </button>
      </form>
      {r && !shown ? <SimulationResult result={r} names={names} /> : null}
    </section>
  );
}

function SimulationResult({ result: r, names }: { result: SimulateRoutingResponse; names: Names }) {
  const ruleName = new Map(r.results.map((x) => [x.ruleId, x.name]));
  return (
    <div className="card simulation" role="status" aria-label="Simulation result">
      <p className="muted">
        {r.ruleSetVersion ? `Live rules, version ${String(r.ruleSetVersion)}.` : "Draft rules (unsaved)."}
      </p>
      <p>
        <strong data-outcome={r.outcome}>Outcome: {r.outcome}</strong>
        {r.escalationPolicyId
          ? ` — escalates along ${names.policy.get(r.escalationPolicyId) ?? r.escalationPolicyId}`
          : ""}
        {r.reason ? <span className="muted"> ({r.reason})</span> : null}
      </p>
      {r.maintenance && r.maintenance.action !== "none" && r.maintenance.action ? (
        <p>
          Maintenance: {r.maintenance.action} by “{r.maintenance.windowName}”
          {r.maintenance.reason ? ` (${r.maintenance.reason})` : ""}
        </p>
      ) : (
        <p className="muted">No maintenance window covers it.</p>
      )}
      {r.results.length === 0 ? (
        <p className="muted">There are no rules to evaluate.</p>
      ) : (
        <table className="list">
          <caption>Every rule, in order</caption>
          <TableHead columns={["Rule", "Result", "Why"]} />
          <tbody>
            {r.results.map((x) => (
              <tr key={x.ruleId} data-result={outcomeLabel[x.outcome]}>
                <td>{x.name}</td>
                <td>
                  <OutcomeBadge outcome={x.outcome} />
                </td>
                <td>{x.message || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Actions that would run</h3>
      {r.actions.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ol>
          {r.actions.map((a, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: actions are positional
            <li key={i}>
              {a.action ? actionSummary(a.action, names) : "?"}
              <span className="muted"> — rule {ruleName.get(a.ruleId) ?? a.ruleId}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The audit trail: the newest routing decisions. */
function Decisions({ ruleName }: { ruleName: Map<string, string> }) {
  const names = useNames();
  const decisions = useQuery(
    RoutingService.method.listRoutingDecisions,
    { pageSize: 20 },
    { refetchInterval: 10_000 },
  );
  const list = decisions.data?.decisions ?? [];
  return (
    <section aria-labelledby="decisions">
      <h2 id="decisions">Recent decisions</h2>
      <ErrorNote error={decisions.error} />
      {decisions.isPending ? (
        <Loading what="decisions" />
      ) : list.length === 0 ? (
        <Empty>
          No routing decisions recorded yet: each new alert's decision (rules matched, outcome) shows here
          once rules exist.
        </Empty>
      ) : (
        <table className="list">
          <TableHead columns={["When", "Alert", "Decision", { label: "Rules matched", wide: true }]} />
          <tbody>
            {list.map((d) => (
              <tr key={`${d.alertId}-${d.createTime?.seconds}`}>
                <td title={formatTime(d.createTime)}>{relative(d.createTime)}</td>
                <td>
                  <Link href={`/alerts/${d.alertId}`}>#{String(d.alertId)}</Link>{" "}
                  <span className="muted">{names.service.get(d.serviceId) ?? ""}</span>
                </td>
                <td>
                  <strong>{d.type}</strong> {d.message}
                </td>
                <td className="wide">{matchedOf(d.decision, ruleName)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The decision's matched rules (`matched`: rule ids) by name; a deleted rule shows its id. */
export function matchedOf(decision: JsonObject | undefined, ruleName: Map<string, string>): string {
  const matched = decision?.matched;
  if (!Array.isArray(matched) || matched.length === 0) return "none";
  return matched.map((id) => ruleName.get(String(id)) ?? String(id)).join(", ");
}

/** Who changed the rule set, when (ListRoutingRuleChanges): the newest ten. */
function RuleChanges() {
  const changes = useQuery(RoutingService.method.listRoutingRuleChanges, { pageSize: 10 });
  const list = changes.data?.changes ?? [];
  // before/after are google.protobuf.Value messages: the rule as stored, or unset.
  const nameOf = (v: Value | undefined): string => {
    const json = v ? toJson(ValueSchema, v) : null;
    return json && typeof json === "object" && !Array.isArray(json) && typeof json.name === "string"
      ? json.name
      : "";
  };
  return (
    <section aria-labelledby="rule-changes">
      <h2 id="rule-changes">Recent rule changes</h2>
      <ErrorNote error={changes.error} />
      {changes.isPending ? (
        <Loading what="rule changes" />
      ) : list.length === 0 ? (
        <p className="muted">No changes yet: every create, edit, reorder and delete is recorded here.</p>
      ) : (
        <ol className="timeline">
          {list.map((c) => (
            <li key={String(c.id)} data-change={c.change}>
              <time title={formatTime(c.createTime)}>{formatTime(c.createTime)}</time>{" "}
              <strong>{c.change}</strong> {nameOf(c.after) || nameOf(c.before)}
              <span className="muted">
                {" "}
                by {c.actor}, version {String(c.ruleSetVersion)}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
