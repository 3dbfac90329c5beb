import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { Link } from "wouter";
import { AlertService, AlertStatus, Severity } from "../../../functions/gen/oncall/v1/alerts_pb.ts";
import { type Schedule, ScheduleService } from "../../../functions/gen/oncall/v1/schedules_pb.ts";
import { formatTime, relative, severityLabel } from "../format.ts";
import { useRotations, useSchedules, useServices } from "../lookups.ts";
import { Empty, ErrorNote, Loading, PageTitle } from "../ui.tsx";
import { RotationNow } from "./schedules.tsx";

const severities = [Severity.CRITICAL, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.UNSPECIFIED];

export function NowPage() {
  const schedules = useSchedules();
  const rotations = useRotations();
  return (
    <>
      <PageTitle>Now</PageTitle>
      <OpenAlerts />
      <section aria-labelledby="oncall-h">
        <h2 id="oncall-h">On call now</h2>
        <ErrorNote error={schedules.error ?? rotations.error} />
        {schedules.isPending || rotations.isPending ? (
          <Loading what="schedules" />
        ) : !schedules.data?.schedules.length && !rotations.data?.rotations.length ? (
          <Empty>
            No schedules or rotations yet — <Link href="/schedules">create a rotation and a schedule</Link> so
            alerts reach someone.
          </Empty>
        ) : (
          <ul className="cards">
            {schedules.data?.schedules.map((s) => (
              <li key={s.id} className="card">
                <h3>
                  Schedule <Link href={`/schedules/${s.id}`}>{s.name}</Link>
                </h3>
                <ScheduleNow schedule={s} />
              </li>
            ))}
            {rotations.data?.rotations.map((r) => (
              <li key={r.id} className="card">
                <h3>
                  Rotation <Link href={`/rotations/${r.id}`}>{r.name}</Link>
                </h3>
                <RotationNow rotation={r} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function ScheduleNow({ schedule }: { schedule: Schedule }) {
  const onCall = useQuery(
    ScheduleService.method.getOnCall,
    { scheduleId: schedule.id },
    { refetchInterval: 60_000 },
  );
  const range = useMemo(() => {
    const now = new Date();
    return {
      startTime: timestampFromDate(now),
      endTime: timestampFromDate(new Date(now.getTime() + 14 * 86_400_000)),
    };
  }, []);
  const shifts = useQuery(ScheduleService.method.listShifts, { scheduleId: schedule.id, ...range });
  // The next handoff: the first shift start or end after now.
  const next = useMemo(() => {
    const now = Date.now();
    let best: Date | undefined;
    for (const s of shifts.data?.shifts ?? []) {
      for (const t of [s.startTime, s.endTime]) {
        if (!t) continue;
        const d = timestampDate(t);
        if (d.getTime() > now + 1000 && (!best || d < best)) best = d;
      }
    }
    return best;
  }, [shifts.data]);
  if (onCall.error) return <ErrorNote error={onCall.error} />;
  if (onCall.isPending) return <Loading what="who is on call" />;
  return (
    <p>
      On call:{" "}
      {onCall.data.users.length ? (
        onCall.data.users.map((u) => (
          <strong key={u.userId} className="person" data-oncall={u.userId}>
            {u.userId}
          </strong>
        ))
      ) : (
        <span className="muted">nobody</span>
      )}
      {next ? (
        <span className="muted">
          {" "}
          · next handoff {relative(next)} ({formatTime(next)})
        </span>
      ) : null}
    </p>
  );
}

function OpenAlerts() {
  const services = useServices();
  const alerts = useQuery(
    AlertService.method.listAlerts,
    { statuses: [AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED], pageSize: 500 },
    { refetchInterval: 10_000 },
  );
  const rows = useMemo(() => {
    const by = new Map<string, Map<number, number>>();
    for (const a of alerts.data?.alerts ?? []) {
      const m = by.get(a.serviceId) ?? new Map<number, number>();
      m.set(a.severity, (m.get(a.severity) ?? 0) + 1);
      by.set(a.serviceId, m);
    }
    return [...by.entries()];
  }, [alerts.data]);
  const name = new Map((services.data?.services ?? []).map((s) => [s.id, s.name]));
  // Only the severities that occur: a narrow table that fits a phone.
  const columns = severities.filter((s) => rows.some(([, counts]) => counts.has(s)));
  const total = alerts.data?.alerts.length ?? 0;
  const more = Boolean(alerts.data?.nextPageToken);
  return (
    <section aria-labelledby="open-h">
      <h2 id="open-h">
        Open alerts: {total}
        {more ? "+" : ""}
      </h2>
      <ErrorNote error={alerts.error} />
      {alerts.isPending ? (
        <Loading what="open alerts" />
      ) : rows.length === 0 ? (
        <Empty>
          Nothing is firing. New alerts show up here and on <Link href="/alerts">Alerts</Link>.
        </Empty>
      ) : (
        <table className="list">
          {more ? <caption className="muted">Counted over the newest 500 open alerts.</caption> : null}
          <thead>
            <tr>
              <th scope="col">Service</th>
              {columns.map((s) => (
                <th scope="col" key={s}>
                  {severityLabel[s] === "—" ? "Other" : severityLabel[s]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(([serviceId, counts]) => (
              <tr key={serviceId}>
                <th scope="row">
                  <Link href="/alerts">{name.get(serviceId) ?? serviceId}</Link>
                </th>
                {columns.map((s) => (
                  <td key={s} className={counts.get(s) ? `count sev-${s}` : "count muted"}>
                    {counts.get(s) ?? 0}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
