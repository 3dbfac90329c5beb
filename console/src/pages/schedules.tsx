import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useMemo, useState } from "react";
import { Link, useLocation } from "wouter";
import {
  OverrideKind,
  type Rotation,
  type Schedule,
  type ScheduleRule,
  ScheduleService,
  type Shift,
  ShiftUnit,
  Weekday,
} from "../../../functions/gen/oncall/v1/schedules_pb.ts";
import { useSession } from "../auth.tsx";
import { formatClock, formatTime, relative, toLocalInput, viewerZone } from "../format.ts";
import { useNames, useRotations, useSchedules } from "../lookups.ts";
import {
  Badge,
  CheckListField,
  DetailHeader,
  DetailMissing,
  Empty,
  ErrorNote,
  Field,
  FormActions,
  FormError,
  Loading,
  PageTitle,
  TableHead,
  TextField,
} from "../ui.tsx";

const dayMs = 86_400_000;
const weekdays: { value: Weekday; label: string }[] = [
  { value: Weekday.MONDAY, label: "Mon" },
  { value: Weekday.TUESDAY, label: "Tue" },
  { value: Weekday.WEDNESDAY, label: "Wed" },
  { value: Weekday.THURSDAY, label: "Thu" },
  { value: Weekday.FRIDAY, label: "Fri" },
  { value: Weekday.SATURDAY, label: "Sat" },
  { value: Weekday.SUNDAY, label: "Sun" },
];
const unitLabel: Record<number, string> = {
  [ShiftUnit.HOUR]: "hour",
  [ShiftUnit.DAY]: "day",
  [ShiftUnit.WEEK]: "week",
};
const overrideLabel: Record<number, string> = {
  [OverrideKind.ADD]: "add",
  [OverrideKind.REMOVE]: "remove",
  [OverrideKind.REPLACE]: "replace",
};
const zones: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [viewerZone, "UTC"];
  }
})();

function ZoneSelect(props: { id: string; name: string; value: string; onChange: (z: string) => void }) {
  const { onChange, ...rest } = props;
  const list = zones.includes(props.value) ? zones : [props.value, ...zones];
  return (
    <select {...rest} onChange={(e) => onChange(e.target.value)}>
      {list.map((z) => (
        <option key={z} value={z}>
          {z}
        </option>
      ))}
    </select>
  );
}

export function SchedulesPage() {
  const session = useSession();
  const schedules = useSchedules();
  const rotations = useRotations();
  const sList = schedules.data?.schedules ?? [];
  const rList = rotations.data?.rotations ?? [];
  return (
    <>
      <PageTitle>Schedules and rotations</PageTitle>
      <ErrorNote error={schedules.error ?? rotations.error} />
      <section aria-labelledby="rotations-h">
        <h2 id="rotations-h">Rotations</h2>
        {rotations.isPending ? (
          <Loading what="rotations" />
        ) : rList.length === 0 ? (
          <Empty>No rotations yet — create one below: people take turns, one shift each.</Empty>
        ) : (
          <ul className="cards">
            {rList.map((r) => (
              <li key={r.id} className="card">
                <h3>
                  <Link href={`/rotations/${r.id}`}>{r.name}</Link>
                </h3>
                <RotationNow rotation={r} />
              </li>
            ))}
          </ul>
        )}
        {session.canWrite ? <RotationForm /> : null}
      </section>
      <section aria-labelledby="schedules-h">
        <h2 id="schedules-h">Schedules</h2>
        {schedules.isPending ? (
          <Loading what="schedules" />
        ) : sList.length === 0 ? (
          <Empty>
            No schedules yet — create one below from rotations or people and the hours they cover.
          </Empty>
        ) : (
          <ul className="cards">
            {sList.map((s) => (
              <li key={s.id} className="card">
                <h3>
                  <Link href={`/schedules/${s.id}`}>{s.name}</Link>
                </h3>
                <p className="muted">
                  {s.rules.length} rule{s.rules.length === 1 ? "" : "s"} · {s.timeZone}
                </p>
              </li>
            ))}
          </ul>
        )}
        {session.canWrite ? <ScheduleForm /> : null}
      </section>
      <UserShifts />
    </>
  );
}

export function RotationNow({ rotation }: { rotation: Rotation }) {
  const shift = rotation.currentShift;
  if (!shift?.userId) return <p className="muted">Nobody: add participants.</p>;
  return (
    <p>
      On call: <strong data-oncall={shift.userId}>{shift.userId}</strong>
      {shift.endTime ? (
        <span className="muted">
          {" "}
          · next handoff {relative(shift.endTime)} ({formatTime(shift.endTime)})
        </span>
      ) : null}
    </p>
  );
}

function splitUsers(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function RotationForm({ initial, onDone }: { initial?: Rotation; onDone?: () => void }) {
  const [, navigate] = useLocation();
  const [name, setName] = useState(initial?.name ?? "");
  const [zone, setZone] = useState(initial?.timeZone ?? viewerZone);
  const [count, setCount] = useState(String(initial?.shiftLength?.count ?? 1));
  const [unit, setUnit] = useState<ShiftUnit>(initial?.shiftLength?.unit ?? ShiftUnit.WEEK);
  const [start, setStart] = useState(() => {
    const d = initial?.startTime ? timestampDate(initial.startTime) : new Date();
    // A new rotation starts at the beginning of today, so its first person is on call at once.
    if (!initial) d.setHours(0, 0, 0, 0);
    return toLocalInput(d);
  });
  const [participants, setParticipants] = useState(initial?.participants.join(", ") ?? "");
  const createM = useMutation(ScheduleService.method.createRotation, {
    onSuccess: (r) => r.rotation && navigate(`/rotations/${r.rotation.id}`),
  });
  const updateM = useMutation(ScheduleService.method.updateRotation, { onSuccess: () => onDone?.() });
  const m = initial ? updateM : createM;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const startDate = new Date(start);
    const body = {
      name,
      timeZone: zone,
      shiftLength: { count: Number(count), unit },
      ...(Number.isNaN(startDate.getTime()) ? {} : { startTime: timestampFromDate(startDate) }),
    };
    if (initial)
      updateM.mutate({
        rotation: { id: initial.id, ...body },
        updateMask: { paths: ["name", "time_zone", "shift_length", "start_time"] },
      });
    else createM.mutate({ ...body, participants: splitUsers(participants) });
  };
  return (
    <form
      onSubmit={submit}
      className="card"
      noValidate
      aria-label={initial ? "Edit rotation" : "New rotation"}
    >
      <h3>{initial ? "Edit rotation" : "New rotation"}</h3>
      <TextField label="Rotation name" name="name" value={name} onChange={setName} error={m.error} />
      <Field label="Time zone" name="time_zone" error={m.error}>
        {(p) => <ZoneSelect {...p} value={zone} onChange={setZone} />}
      </Field>
      <div className="row">
        <Field label="Shift length" name="count" error={m.error}>
          {(p) => (
            <input {...p} type="number" min={1} value={count} onChange={(e) => setCount(e.target.value)} />
          )}
        </Field>
        <Field label="Unit" name="unit" error={m.error}>
          {(p) => (
            <select {...p} value={unit} onChange={(e) => setUnit(Number(e.target.value) as ShiftUnit)}>
              <option value={ShiftUnit.HOUR}>hours</option>
              <option value={ShiftUnit.DAY}>days</option>
              <option value={ShiftUnit.WEEK}>weeks</option>
            </select>
          )}
        </Field>
      </div>
      <TextField
        label="First handoff"
        name="start_time"
        error={m.error}
        hint={`In your time zone (${viewerZone}).`}
        type="datetime-local"
        value={start}
        onChange={setStart}
      />
      {initial ? null : (
        <TextField
          label="Participants"
          name="participants"
          error={m.error}
          hint="User ids in turn order, separated by commas."
          value={participants}
          placeholder="alice, bob"
          onChange={setParticipants}
        />
      )}
      <FormActions
        error={m.error}
        fields={["name", "time_zone", "count", "unit", "start_time", "participants"]}
        pending={m.isPending}
        submit={initial ? "Save" : "Create rotation"}
        onCancel={onDone}
      />
    </form>
  );
}

interface RuleDraft {
  kind: "userId" | "rotationId";
  value: string;
  weekdays: Weekday[];
  start: string;
  end: string;
}

const allDays = weekdays.map((d) => d.value);
function draftOf(r: ScheduleRule): RuleDraft {
  return {
    kind: r.target?.kind.case === "rotationId" ? "rotationId" : "userId",
    value: String(r.target?.kind.value ?? ""),
    weekdays: [...r.weekdays],
    start: r.start,
    end: r.end,
  };
}

function ScheduleForm({ initial, onDone }: { initial?: Schedule; onDone?: () => void }) {
  const [, navigate] = useLocation();
  const rotations = useRotations();
  const [name, setName] = useState(initial?.name ?? "");
  const [zone, setZone] = useState(initial?.timeZone ?? viewerZone);
  const [rules, setRules] = useState<RuleDraft[]>(
    initial?.rules.map(draftOf) ?? [
      { kind: "rotationId", value: "", weekdays: allDays, start: "00:00", end: "00:00" },
    ],
  );
  const createM = useMutation(ScheduleService.method.createSchedule, {
    onSuccess: (r) => r.schedule && navigate(`/schedules/${r.schedule.id}`),
  });
  const updateM = useMutation(ScheduleService.method.updateSchedule, { onSuccess: () => onDone?.() });
  const m = initial ? updateM : createM;
  const setRule = (i: number, r: RuleDraft) => setRules(rules.map((x, j) => (j === i ? r : x)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = {
      name,
      timeZone: zone,
      rules: rules.map((r) => ({
        target: { kind: { case: r.kind, value: r.value } },
        weekdays: r.weekdays,
        start: r.start,
        end: r.end,
      })),
    };
    if (initial)
      updateM.mutate({
        schedule: { id: initial.id, ...body },
        updateMask: { paths: ["name", "time_zone", "rules"] },
      });
    else createM.mutate(body);
  };
  return (
    <form
      onSubmit={submit}
      className="card"
      noValidate
      aria-label={initial ? "Edit schedule" : "New schedule"}
    >
      <h3>{initial ? "Edit schedule" : "New schedule"}</h3>
      <TextField label="Schedule name" name="name" value={name} onChange={setName} error={m.error} />
      <Field label="Schedule time zone" name="time_zone" error={m.error}>
        {(p) => <ZoneSelect {...p} value={zone} onChange={setZone} />}
      </Field>
      <fieldset>
        <legend>Rules: who is on call, when (in the schedule's time zone; 00:00–00:00 is all day)</legend>
        {rules.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rules are positional
          <div key={i} className="rule">
            <div className="row">
              <label>
                Rule {i + 1} target
                <select
                  value={r.kind}
                  onChange={(e) => setRule(i, { ...r, kind: e.target.value as RuleDraft["kind"], value: "" })}
                >
                  <option value="rotationId">Rotation</option>
                  <option value="userId">User</option>
                </select>
              </label>
              {r.kind === "rotationId" ? (
                <label>
                  Rotation
                  <select
                    aria-label={`Rule ${i + 1} rotation`}
                    value={r.value}
                    onChange={(e) => setRule(i, { ...r, value: e.target.value })}
                  >
                    <option value="">Choose…</option>
                    {rotations.data?.rotations.map((x) => (
                      <option key={x.id} value={x.id}>
                        {x.name}
                      </option>
                    ))}
                  </select>
                </label>
              ) : (
                <label>
                  User
                  <input
                    aria-label={`Rule ${i + 1} user`}
                    value={r.value}
                    placeholder="alice"
                    onChange={(e) => setRule(i, { ...r, value: e.target.value })}
                  />
                </label>
              )}
            </div>
            <CheckListField
              legend={`Rule ${i + 1} weekdays`}
              options={weekdays}
              value={r.weekdays}
              onChange={(days) => setRule(i, { ...r, weekdays: days })}
            />
            <div className="row">
              <Field label={`Rule ${i + 1} from`} name="start" error={m.error}>
                {(p) => (
                  <input
                    {...p}
                    type="time"
                    value={r.start}
                    onChange={(e) => setRule(i, { ...r, start: e.target.value })}
                  />
                )}
              </Field>
              <Field label={`Rule ${i + 1} until`} name="end" error={m.error}>
                {(p) => (
                  <input
                    {...p}
                    type="time"
                    value={r.end}
                    onChange={(e) => setRule(i, { ...r, end: e.target.value })}
                  />
                )}
              </Field>
            </div>
            <button type="button" className="link" onClick={() => setRules(rules.filter((_, j) => j !== i))}>
              Remove rule {i + 1}
            </button>
          </div>
        ))}
        <button
          type="button"
          onClick={() =>
            setRules([
              ...rules,
              { kind: "userId", value: "", weekdays: allDays, start: "09:00", end: "17:00" },
            ])
          }
        >
          Add rule
        </button>
      </fieldset>
      <FormActions
        error={m.error}
        fields={["name", "time_zone", "start", "end"]}
        pending={m.isPending}
        submit={initial ? "Save" : "Create schedule"}
        onCancel={onDone}
      />
    </form>
  );
}

/** Midnight today in the viewer's zone, and the 14 days after it. */
function useWindow() {
  return useMemo(() => {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    const end = new Date(start.getTime() + 14 * dayMs);
    return { start, end };
  }, []);
}

export function SchedulePage({ id }: { id: string }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const names = useNames();
  const schedule = useQuery(ScheduleService.method.getSchedule, { id });
  const win = useWindow();
  const range = { startTime: timestampFromDate(win.start), endTime: timestampFromDate(win.end) };
  const shifts = useQuery(ScheduleService.method.listShifts, { scheduleId: id, ...range });
  const onCall = useQuery(ScheduleService.method.getOnCall, { scheduleId: id }, { refetchInterval: 60_000 });
  const overrides = useQuery(ScheduleService.method.listOverrides, {
    scheduleId: id,
    ...range,
    pageSize: 500,
  });
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<Shift | null>(null);
  const remove = useMutation(ScheduleService.method.deleteSchedule, {
    onSuccess: () => navigate("/schedules"),
  });
  const removeOverride = useMutation(ScheduleService.method.deleteOverride);
  if (schedule.isPending) return <Loading what="the schedule" />;
  const s = schedule.data?.schedule;
  if (!s) return <DetailMissing back="/schedules" backLabel="Schedules" error={schedule.error} />;
  return (
    <>
      <DetailHeader
        back="/schedules"
        backLabel="Schedules"
        title={s.name}
        canWrite={session.canWrite}
        editing={editing}
        onEdit={() => setEditing(true)}
        what={`schedule “${s.name}”`}
        onDelete={() => remove.mutate({ id })}
      />
      <ErrorNote error={remove.error ?? onCall.error} />
      <p>
        On call now:{" "}
        {onCall.data?.users.length ? (
          onCall.data.users.map((u) => (
            <strong key={u.userId} className="person" data-oncall={u.userId}>
              {u.userId}
            </strong>
          ))
        ) : (
          <span className="muted">nobody</span>
        )}
      </p>
      <p className="muted">
        Schedule time zone: {s.timeZone}; times below are in yours ({viewerZone}).
      </p>
      {editing ? (
        <ScheduleForm initial={s} onDone={() => setEditing(false)} />
      ) : (
        <RuleList schedule={s} names={names} />
      )}
      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Next 14 days</h2>
        <ErrorNote error={shifts.error} />
        {shifts.isPending ? (
          <Loading what="shifts" />
        ) : (
          <Timeline
            shifts={shifts.data?.shifts ?? []}
            start={win.start}
            end={win.end}
            onPick={session.canWrite ? setDraft : undefined}
          />
        )}
      </section>
      <section aria-labelledby="overrides-h">
        <h2 id="overrides-h">Overrides</h2>
        <ErrorNote error={overrides.error ?? removeOverride.error} />
        {overrides.data?.overrides.length ? (
          <ul className="overrides">
            {overrides.data.overrides.map((o) => (
              <li key={o.id}>
                <Badge kind="override">{overrideLabel[o.kind]}</Badge> <strong>{o.userId}</strong>
                {o.replacesUserId ? ` for ${o.replacesUserId}` : ""}, {formatTime(o.startTime)} –{" "}
                {formatTime(o.endTime)}{" "}
                {session.canWrite ? (
                  <button type="button" className="link" onClick={() => removeOverride.mutate({ id: o.id })}>
                    Delete override
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        ) : (
          <Empty>
            No overrides in the next 14 days.{" "}
            {session.canWrite ? "Pick a shift on the timeline or use the form below." : ""}
          </Empty>
        )}
        {session.canWrite ? (
          <OverrideForm
            key={draft ? `${draft.userId}-${String(draft.startTime?.seconds)}` : "new"}
            scheduleId={id}
            from={draft}
          />
        ) : null}
      </section>
    </>
  );
}

function RuleList({ schedule, names }: { schedule: Schedule; names: ReturnType<typeof useNames> }) {
  if (schedule.rules.length === 0)
    return <Empty>No rules: edit the schedule to say who is on call when.</Empty>;
  return (
    <ul>
      {schedule.rules.map((r, i) => {
        const who =
          r.target?.kind.case === "rotationId"
            ? `rotation ${names.rotation.get(r.target.kind.value) ?? r.target.kind.value}`
            : `user ${String(r.target?.kind.value ?? "?")}`;
        const days =
          r.weekdays.length === 7
            ? "every day"
            : weekdays
                .filter((d) => r.weekdays.includes(d.value))
                .map((d) => d.label)
                .join(", ");
        // biome-ignore lint/suspicious/noArrayIndexKey: rules are positional
        return <li key={i}>{`${who}, ${days}, ${r.start}–${r.end}`}</li>;
      })}
    </ul>
  );
}

/** Who is on call when, one lane per person, in the viewer's zone; overrides are hatched. */
function Timeline({
  shifts,
  start,
  end,
  onPick,
}: {
  shifts: Shift[];
  start: Date;
  end: Date;
  onPick?: ((s: Shift) => void) | undefined;
}) {
  if (shifts.length === 0)
    return <Empty>Nobody is on call in the next 14 days: add a rule or an override.</Empty>;
  const span = end.getTime() - start.getTime();
  const users = [...new Set(shifts.map((s) => s.userId))];
  const pct = (d: Date) => Math.min(100, Math.max(0, ((d.getTime() - start.getTime()) / span) * 100));
  const days = Array.from({ length: 14 }, (_, i) => new Date(start.getTime() + i * dayMs));
  const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric" });
  const now = pct(new Date());
  return (
    <>
      <div
        className="timeline-chart"
        role="img"
        aria-label="On-call timeline for the next 14 days; the list below has the same shifts"
      >
        <div className="tl-days">
          {days.map((d) => (
            <span key={d.getTime()} style={{ left: `${pct(d)}%` }}>
              {dayFmt.format(d)}
            </span>
          ))}
        </div>
        {users.map((u) => (
          <div className="tl-lane" key={u}>
            <span className="tl-user">{u}</span>
            <div className="tl-track">
              <span className="tl-now" style={{ left: `${now}%` }} />
              {shifts
                .filter((s) => s.userId === u)
                .map((s) => {
                  const a = s.startTime ? timestampDate(s.startTime) : start;
                  const b = s.endTime ? timestampDate(s.endTime) : end;
                  const override = s.source?.kind.case === "override";
                  return (
                    <span
                      key={`${a.getTime()}-${b.getTime()}`}
                      className={`tl-bar${override ? " tl-override" : ""}`}
                      style={{ left: `${pct(a)}%`, width: `${Math.max(0.4, pct(b) - pct(a))}%` }}
                    />
                  );
                })}
            </div>
          </div>
        ))}
      </div>
      <table className="list shifts">
        <caption className="muted">Shifts in your time zone ({viewerZone})</caption>
        <TableHead columns={["Who", "From", "Until", onPick ? "Override" : null]} />
        <tbody>
          {shifts.map((s) => {
            const override = s.source?.kind.case === "override";
            return (
              <tr
                key={`${s.userId}-${String(s.startTime?.seconds)}-${String(s.endTime?.seconds)}`}
                data-user={s.userId}
              >
                <td>
                  {s.userId} {override ? <Badge kind="override">override</Badge> : null}
                </td>
                <td>{s.startTime ? shortTime(timestampDate(s.startTime)) : "—"}</td>
                <td>{s.endTime ? shortTime(timestampDate(s.endTime)) : "—"}</td>
                {onPick ? (
                  <td>
                    <button type="button" className="link" onClick={() => onPick(s)}>
                      Cover this shift
                    </button>
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

const shortFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
function shortTime(d: Date): string {
  return `${shortFmt.format(d)} ${formatClock(d)}`;
}

function OverrideForm({ scheduleId, from }: { scheduleId: string; from: Shift | null }) {
  const [kind, setKind] = useState<OverrideKind>(from ? OverrideKind.REPLACE : OverrideKind.ADD);
  const [userId, setUserId] = useState("");
  const [replaces, setReplaces] = useState(from?.userId ?? "");
  const [start, setStart] = useState(() =>
    toLocalInput(
      from?.startTime
        ? timestampDate(from.startTime)
        : new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000),
    ),
  );
  const [end, setEnd] = useState(() =>
    toLocalInput(
      from?.endTime
        ? timestampDate(from.endTime)
        : new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 8 * 3_600_000),
    ),
  );
  const m = useMutation(ScheduleService.method.createOverride, { onSuccess: () => setUserId("") });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const a = new Date(start);
    const b = new Date(end);
    m.mutate({
      scheduleId,
      kind,
      userId,
      replacesUserId: kind === OverrideKind.REPLACE ? replaces : "",
      ...(Number.isNaN(a.getTime()) ? {} : { startTime: timestampFromDate(a) }),
      ...(Number.isNaN(b.getTime()) ? {} : { endTime: timestampFromDate(b) }),
    });
  };
  return (
    <form onSubmit={submit} className="card" noValidate aria-label="New override" id="override-form">
      <h3>New override</h3>
      <Field label="Kind" name="kind" error={m.error}>
        {(p) => (
          <select {...p} value={kind} onChange={(e) => setKind(Number(e.target.value) as OverrideKind)}>
            <option value={OverrideKind.ADD}>Add someone</option>
            <option value={OverrideKind.REMOVE}>Remove someone</option>
            <option value={OverrideKind.REPLACE}>Replace someone</option>
          </select>
        )}
      </Field>
      <Field label="User" name="user_id" error={m.error}>
        {(p) => (
          <input {...p} value={userId} placeholder="carol" onChange={(e) => setUserId(e.target.value)} />
        )}
      </Field>
      {kind === OverrideKind.REPLACE ? (
        <TextField
          label="Instead of"
          name="replaces_user_id"
          value={replaces}
          onChange={setReplaces}
          error={m.error}
        />
      ) : null}
      <div className="row">
        <TextField
          label="From"
          name="start_time"
          error={m.error}
          type="datetime-local"
          value={start}
          onChange={setStart}
        />
        <Field label="Until" name="end_time" error={m.error}>
          {(p) => <input {...p} type="datetime-local" value={end} onChange={(e) => setEnd(e.target.value)} />}
        </Field>
      </div>
      <FormError error={m.error} fields={["kind", "user_id", "replaces_user_id", "start_time", "end_time"]} />
      <button type="submit" className="primary" disabled={m.isPending}>
        Create override
      </button>
    </form>
  );
}

export function RotationPage({ id }: { id: string }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const rotation = useQuery(ScheduleService.method.getRotation, { id }, { refetchInterval: 60_000 });
  const [editing, setEditing] = useState(false);
  const [user, setUser] = useState("");
  const add = useMutation(ScheduleService.method.addRotationParticipant, { onSuccess: () => setUser("") });
  const removeP = useMutation(ScheduleService.method.removeRotationParticipant);
  const reorder = useMutation(ScheduleService.method.reorderRotationParticipants);
  const setCurrent = useMutation(ScheduleService.method.setCurrentRotationParticipant);
  const remove = useMutation(ScheduleService.method.deleteRotation, {
    onSuccess: () => navigate("/schedules"),
  });
  if (rotation.isPending) return <Loading what="the rotation" />;
  const r = rotation.data?.rotation;
  if (!r) return <DetailMissing back="/schedules" backLabel="Schedules" error={rotation.error} />;
  const n = r.participants.length;
  const swap = (i: number, j: number) => {
    const order = Array.from({ length: n }, (_, k) => k);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
    reorder.mutate({ rotationId: id, order });
  };
  return (
    <>
      <DetailHeader
        back="/schedules"
        backLabel="Schedules"
        title={r.name}
        canWrite={session.canWrite}
        editing={editing}
        onEdit={() => setEditing(true)}
        what={`rotation “${r.name}”`}
        onDelete={() => remove.mutate({ id })}
      />
      <RotationNow rotation={r} />
      <p className="muted">
        Shifts of {r.shiftLength?.count} {unitLabel[r.shiftLength?.unit ?? 0] ?? ""}
        {(r.shiftLength?.count ?? 1) === 1 ? "" : "s"}, handoffs from {formatTime(r.startTime)} (rotation zone{" "}
        {r.timeZone}).
      </p>
      {editing ? <RotationForm initial={r} onDone={() => setEditing(false)} /> : null}
      <ErrorNote error={removeP.error ?? reorder.error ?? setCurrent.error ?? remove.error} />
      <h2>Participants</h2>
      {n === 0 ? (
        <Empty>No participants: add someone below.</Empty>
      ) : (
        <ol className="participants">
          {r.participants.map((p, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a person may appear twice in a rotation
            <li key={i}>
              <span>
                {p}{" "}
                {r.currentShift?.participantIndex === i && r.currentShift.userId ? (
                  <Badge kind="oncall">on call</Badge>
                ) : null}
              </span>
              {session.canWrite ? (
                <span className="row-actions">
                  <button
                    type="button"
                    disabled={i === 0}
                    onClick={() => swap(i, i - 1)}
                    aria-label={`Move ${p} up`}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    disabled={i === n - 1}
                    onClick={() => swap(i, i + 1)}
                    aria-label={`Move ${p} down`}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    onClick={() => setCurrent.mutate({ rotationId: id, participantIndex: i })}
                  >
                    Make current
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => removeP.mutate({ rotationId: id, participantIndex: i, userId: p })}
                  >
                    Remove
                  </button>
                </span>
              ) : null}
            </li>
          ))}
        </ol>
      )}
      {session.canWrite ? (
        <form
          className="inline-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate({ rotationId: id, userId: user.trim() });
          }}
        >
          <Field label="Add participant" name="user_id" error={add.error}>
            {(p) => (
              <input {...p} value={user} placeholder="dave" onChange={(e) => setUser(e.target.value)} />
            )}
          </Field>
          <FormError error={add.error} fields={["user_id"]} />
          <button type="submit" disabled={add.isPending}>
            Add
          </button>
        </form>
      ) : null}
    </>
  );
}

/** A user's upcoming shifts across every schedule. */
function UserShifts() {
  const [user, setUser] = useState("");
  const [asked, setAsked] = useState("");
  const win = useWindow();
  const shifts = useQuery(
    ScheduleService.method.listUserShifts,
    { userId: asked, startTime: timestampFromDate(new Date()), endTime: timestampFromDate(win.end) },
    { enabled: asked !== "" },
  );
  return (
    <section aria-labelledby="user-shifts-h">
      <h2 id="user-shifts-h">A person's upcoming shifts</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked(user.trim());
        }}
      >
        <label htmlFor="user-shifts">User</label>
        <input id="user-shifts" value={user} placeholder="alice" onChange={(e) => setUser(e.target.value)} />
        <button type="submit">Show shifts</button>
      </form>
      <ErrorNote error={shifts.error} />
      {asked && shifts.data ? (
        shifts.data.shifts.length === 0 ? (
          <Empty>{asked} has no shifts in the next 14 days.</Empty>
        ) : (
          <ul>
            {shifts.data.shifts.map((s) => (
              <li key={`${s.scheduleId}-${String(s.startTime?.seconds)}`}>
                <Link href={`/schedules/${s.scheduleId}`}>{s.scheduleName}</Link>: {formatTime(s.startTime)} –{" "}
                {formatTime(s.endTime)}
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}
