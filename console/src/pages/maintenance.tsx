import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import {
  MaintenanceAction,
  MaintenanceService,
  MaintenanceState,
  type MaintenanceWindow,
} from "../../../functions/gen/oncall/v1/maintenance_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, relative, toLocalInput, viewerZone } from "../format.ts";
import { useNames, useServices } from "../lookups.ts";
import {
  Badge,
  CheckField,
  CheckListField,
  ConfirmButton,
  Empty,
  ErrorNote,
  FormActions,
  Loading,
  PageTitle,
  SelectField,
  TableHead,
  TextAreaField,
  TextField,
  WeekdaysField,
} from "../ui.tsx";

const stateLabel: Record<number, string> = {
  [MaintenanceState.SCHEDULED]: "scheduled",
  [MaintenanceState.ACTIVE]: "active",
  [MaintenanceState.ENDED]: "ended",
};
const dayNames = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function scheduleSummary(w: MaintenanceWindow): string {
  const k = w.schedule?.kind;
  if (k?.case === "oneTime") return `${formatTime(k.value.startTime)} – ${formatTime(k.value.endTime)}`;
  if (k?.case === "weekly") {
    const days = k.value.weekdays.map((d) => dayNames[d]).join(", ");
    return `Weekly ${days} at ${k.value.startTime} for ${k.value.durationMinutes} min (${k.value.timeZone})`;
  }
  return "—";
}

function scopeSummary(w: MaintenanceWindow, names: ReturnType<typeof useNames>): string {
  const s = w.scope;
  const parts: string[] = [];
  if (s?.serviceIds.length) parts.push(s.serviceIds.map((id) => names.service.get(id) ?? id).join(", "));
  if (s?.labelMatchers.length) parts.push(s.labelMatchers.join(", "));
  if (s?.cel) parts.push(`CEL ${s.cel}`);
  return parts.join(" AND ") || "everything";
}

export function MaintenancePage() {
  const session = useSession();
  const names = useNames();
  const [includeEnded, setIncludeEnded] = useState(false);
  const [history, setHistory] = useState<MaintenanceWindow | null>(null);
  const [editing, setEditing] = useState<MaintenanceWindow | null>(null);
  const windows = useQuery(
    MaintenanceService.method.listMaintenanceWindows,
    { includeEnded, pageSize: 200 },
    { refetchInterval: 15_000 },
  );
  const cancel = useMutation(MaintenanceService.method.cancelMaintenanceWindow);
  const extend = useMutation(MaintenanceService.method.extendMaintenanceWindow);
  const list = windows.data?.windows ?? [];
  const extendBy = (w: MaintenanceWindow, hours: number) => {
    const k = w.schedule?.kind;
    if (k?.case !== "oneTime" || !k.value.endTime) return;
    const end = new Date(timestampDate(k.value.endTime).getTime() + hours * 3_600_000);
    extend.mutate({ id: w.id, endTime: timestampFromDate(end) });
  };
  return (
    <>
      <PageTitle>Maintenance windows</PageTitle>
      <p className="muted">
        While a window is active, new alerts in its scope are suppressed (stored, not escalated until the
        window ends) or annotated (escalated, marked “in maintenance”).
      </p>
      <CheckField label="Show ended windows" checked={includeEnded} onChange={setIncludeEnded} />
      <ErrorNote error={windows.error ?? cancel.error ?? extend.error} />
      {windows.isPending ? (
        <Loading what="maintenance windows" />
      ) : list.length === 0 ? (
        <Empty>
          No {includeEnded ? "" : "current or upcoming "}maintenance windows.{" "}
          {session.canWrite
            ? "Before planned work, create one below so its alerts do not page anyone."
            : "Someone with a write key can create one."}
        </Empty>
      ) : (
        <table className="list">
          <TableHead
            columns={[
              "Window",
              "State",
              { label: "When", wide: true },
              { label: "Scope", wide: true },
              "Actions",
            ]}
          />
          <tbody>
            {list.map((w) => {
              const state = stateLabel[w.state] ?? "unknown";
              const oneTime = w.schedule?.kind.case === "oneTime";
              return (
                <tr key={w.id} data-window={w.name}>
                  <td>
                    <strong>{w.name}</strong>{" "}
                    <Badge kind={w.action === MaintenanceAction.SUPPRESS ? "sev-3" : "revoked"}>
                      {w.action === MaintenanceAction.SUPPRESS ? "suppress" : "annotate"}
                    </Badge>
                    {w.reason ? <div>{w.reason}</div> : null}
                    <div className="muted">Owner {w.owner}</div>
                    <div className="narrow">
                      {scheduleSummary(w)}; {scopeSummary(w, names)}
                    </div>
                  </td>
                  <td>
                    <Badge kind={`mw-${state}`}>{state}</Badge>
                    {w.state === MaintenanceState.ACTIVE && w.currentEndTime ? (
                      <div className="muted">ends {relative(w.currentEndTime)}</div>
                    ) : null}
                    {w.state === MaintenanceState.SCHEDULED && w.nextStartTime ? (
                      <div className="muted">starts {relative(w.nextStartTime)}</div>
                    ) : null}
                    {w.cancelTime ? <div className="muted">cancelled {relative(w.cancelTime)}</div> : null}
                  </td>
                  <td className="wide">{scheduleSummary(w)}</td>
                  <td className="wide">
                    <code>{scopeSummary(w, names)}</code>
                  </td>
                  <td className="row-actions">
                    <button type="button" aria-label={`History of ${w.name}`} onClick={() => setHistory(w)}>
                      History
                    </button>
                    {session.canWrite ? (
                      <>
                        {w.state !== MaintenanceState.ENDED ? (
                          <button type="button" aria-label={`Edit ${w.name}`} onClick={() => setEditing(w)}>
                            Edit
                          </button>
                        ) : null}
                        {w.state !== MaintenanceState.ENDED && oneTime ? (
                          <button
                            type="button"
                            aria-label={`Extend 1 h: ${w.name}`}
                            disabled={extend.isPending}
                            onClick={() => extendBy(w, 1)}
                          >
                            Extend 1 h
                          </button>
                        ) : null}
                        {w.state !== MaintenanceState.ENDED ? (
                          <ConfirmButton
                            className="danger"
                            label={`Cancel ${w.name}`}
                            question={`End maintenance window “${w.name}” now? Alerts it suppressed escalate.`}
                            onConfirm={() => cancel.mutate({ id: w.id })}
                          >
                            Cancel
                          </ConfirmButton>
                        ) : null}
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {history ? <WindowHistory window={history} onClose={() => setHistory(null)} /> : null}
      {session.canWrite ? (
        <WindowForm
          key={editing?.id ?? "new"}
          owner={session.principal}
          initial={editing ?? undefined}
          onDone={editing ? () => setEditing(null) : undefined}
        />
      ) : null}
    </>
  );
}

const windowFields = [
  "name",
  "reason",
  "owner",
  "action",
  "schedule",
  "schedule.one_time.start_time",
  "schedule.one_time.end_time",
  "schedule.weekly.time_zone",
  "schedule.weekly.weekdays",
  "schedule.weekly.start_time",
  "schedule.weekly.duration_minutes",
  "scope.service_ids",
  "scope.label_matchers",
  "scope.cel",
];

const allWindowFields = ["name", "reason", "owner", "action", "schedule", "scope"];

/** Creates a window, or edits `initial` (a scheduled or active one; an ended window is history). */
function WindowForm({
  owner: defaultOwner,
  initial,
  onDone,
}: {
  owner: string;
  initial?: MaintenanceWindow;
  onDone?: () => void;
}) {
  const services = useServices();
  const now = new Date();
  const once = initial?.schedule?.kind.case === "oneTime" ? initial.schedule.kind.value : undefined;
  const weekly = initial?.schedule?.kind.case === "weekly" ? initial.schedule.kind.value : undefined;
  const localOf = (ts: Timestamp | undefined, fallback: Date) =>
    toLocalInput(ts ? timestampDate(ts) : fallback);
  const initialStart = localOf(once?.startTime, now);
  const initialEnd = localOf(once?.endTime, new Date(now.getTime() + 2 * 3_600_000));
  const [name, setName] = useState(initial?.name ?? "");
  const [reason, setReason] = useState(initial?.reason ?? "");
  const [owner, setOwner] = useState(initial?.owner ?? defaultOwner);
  const [action, setAction] = useState(String(initial?.action ?? MaintenanceAction.SUPPRESS));
  const [kind, setKind] = useState<"oneTime" | "weekly">(weekly ? "weekly" : "oneTime");
  const [start, setStart] = useState(initialStart);
  const [end, setEnd] = useState(initialEnd);
  const [zone, setZone] = useState(weekly?.timeZone ?? viewerZone);
  const [weekdays, setWeekdays] = useState<number[]>(weekly ? [...weekly.weekdays] : [6]);
  const [startTime, setStartTime] = useState(weekly?.startTime ?? "02:00");
  const [duration, setDuration] = useState(String(weekly?.durationMinutes ?? 120));
  const [serviceIds, setServiceIds] = useState<string[]>(initial?.scope?.serviceIds ?? []);
  const [matchers, setMatchers] = useState(initial?.scope?.labelMatchers.join("\n") ?? "");
  const [cel, setCel] = useState(initial?.scope?.cel ?? "");
  const createWindow = useMutation(MaintenanceService.method.createMaintenanceWindow, {
    onSuccess: () => {
      setName("");
      setReason("");
    },
  });
  const update = useMutation(MaintenanceService.method.updateMaintenanceWindow, { onSuccess: onDone });
  const m = initial ? update : createWindow;
  // An untouched time keeps the stored instant (the input holds minutes, the window may hold seconds).
  const stamp = (local: string, unchanged: string, stored: Timestamp | undefined) => {
    if (stored && local === unchanged) return stored;
    const d = new Date(local);
    return Number.isNaN(d.getTime()) ? undefined : timestampFromDate(d);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const window = {
      id: initial?.id ?? "",
      name,
      reason,
      owner,
      action: Number(action) as MaintenanceAction,
      schedule: {
        kind:
          kind === "oneTime"
            ? {
                case: "oneTime" as const,
                value: {
                  startTime: stamp(start, initialStart, once?.startTime),
                  endTime: stamp(end, initialEnd, once?.endTime),
                },
              }
            : {
                case: "weekly" as const,
                value: {
                  timeZone: zone,
                  weekdays,
                  startTime,
                  durationMinutes: Number(duration) || 0,
                  // An edit keeps the recurrence's bounds.
                  fromTime: weekly?.fromTime,
                  untilTime: weekly?.untilTime,
                },
              },
      },
      scope: {
        serviceIds,
        labelMatchers: matchers
          .split("\n")
          .map((x) => x.trim())
          .filter(Boolean),
        cel,
      },
    };
    if (initial) update.mutate({ window, updateMask: { paths: allWindowFields } });
    else createWindow.mutate({ window });
  };
  const title = initial ? `Edit window “${initial.name}”` : "New maintenance window";
  const e = m.error;
  return (
    <form onSubmit={submit} className="card" noValidate aria-label={title}>
      <h2>{title}</h2>
      {createWindow.data?.window ? (
        <p className="notice" role="status">
          Window “{createWindow.data.window.name}” created ({stateLabel[createWindow.data.window.state]}).
        </p>
      ) : null}
      <div className="row">
        <TextField label="Window name" name="name" value={name} onChange={setName} error={e} />
        <TextField label="Owner" name="owner" hint="A user id." value={owner} onChange={setOwner} error={e} />
        <SelectField
          label="During the window"
          name="action"
          value={action}
          onChange={setAction}
          error={e}
          options={[
            { value: String(MaintenanceAction.SUPPRESS), label: "Suppress alerts (escalate when it ends)" },
            { value: String(MaintenanceAction.ANNOTATE), label: "Annotate alerts (still escalate)" },
          ]}
        />
      </div>
      <TextField label="Reason" name="reason" value={reason} onChange={setReason} error={e} />
      <fieldset>
        <legend>When</legend>
        <SelectField
          label="Repeats"
          name="schedule"
          value={kind}
          onChange={(v) => setKind(v as typeof kind)}
          error={e}
          options={[
            { value: "oneTime", label: "Once" },
            { value: "weekly", label: "Weekly" },
          ]}
        />
        {kind === "oneTime" ? (
          <div className="row">
            <TextField
              label="Starts"
              name="schedule.one_time.start_time"
              type="datetime-local"
              value={start}
              onChange={setStart}
              error={e}
            />
            <TextField
              label="Ends"
              name="schedule.one_time.end_time"
              type="datetime-local"
              value={end}
              onChange={setEnd}
              error={e}
            />
          </div>
        ) : (
          <>
            <WeekdaysField
              legend="On"
              name="schedule.weekly.weekdays"
              value={weekdays}
              onChange={setWeekdays}
              error={e}
            />
            <div className="row">
              <TextField
                label="At"
                name="schedule.weekly.start_time"
                type="time"
                value={startTime}
                onChange={setStartTime}
                error={e}
              />
              <TextField
                label="For (minutes)"
                name="schedule.weekly.duration_minutes"
                type="number"
                value={duration}
                onChange={setDuration}
                error={e}
              />
              <TextField
                label="Time zone"
                name="schedule.weekly.time_zone"
                value={zone}
                onChange={setZone}
                error={e}
              />
            </div>
          </>
        )}
      </fieldset>
      <fieldset>
        <legend>Scope (every part given must hold; give at least one)</legend>
        <CheckListField
          legend="Services"
          name="scope.service_ids"
          options={(services.data?.services ?? []).map((s) => ({ value: s.id, label: s.name }))}
          value={serviceIds}
          onChange={setServiceIds}
          error={e}
        />
        <TextAreaField
          label="Label matchers"
          name="scope.label_matchers"
          className="mono"
          rows={2}
          placeholder={'env="staging"\ninstance=~"db-.*"'}
          hint="Prometheus style, one per line: =, !=, =~, !~."
          value={matchers}
          onChange={setMatchers}
          error={e}
        />
        <TextAreaField
          label="Scope CEL condition"
          name="scope.cel"
          className="mono"
          rows={2}
          placeholder='alert.severity != "critical"'
          value={cel}
          onChange={setCel}
          error={e}
        />
      </fieldset>
      <FormActions
        error={e}
        fields={windowFields}
        pending={m.isPending}
        submit={initial ? "Save window" : "Create window"}
        onCancel={onDone}
      />
    </form>
  );
}

/** Every change of one window: who, when, what (ListMaintenanceWindowChanges). */
function WindowHistory({ window: w, onClose }: { window: MaintenanceWindow; onClose: () => void }) {
  const changes = useQuery(MaintenanceService.method.listMaintenanceWindowChanges, {
    windowId: w.id,
    pageSize: 50,
  });
  const list = changes.data?.changes ?? [];
  return (
    <section className="card" aria-labelledby="window-history">
      <h2 id="window-history">History of “{w.name}”</h2>
      <ErrorNote error={changes.error} />
      {changes.isPending ? <Loading what="the history" /> : null}
      <ol className="timeline">
        {list.map((c) => (
          <li key={c.id} data-change={c.change}>
            <time title={formatTime(c.changeTime)}>{formatTime(c.changeTime)}</time>{" "}
            <strong>{c.change}</strong>
            <span className="muted"> by {c.actor}</span>
          </li>
        ))}
      </ol>
      <button type="button" onClick={onClose}>
        Close history
      </button>
    </section>
  );
}
