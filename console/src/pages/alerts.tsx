import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import {
  type Alert,
  AlertService,
  AlertStatus,
  Severity,
} from "../../../functions/gen/oncall/v1/alerts_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, parseLabels, relative, severityLabel, statusLabel } from "../format.ts";
import { useServices } from "../lookups.ts";
import { Badge, Empty, ErrorNote, Loading, PageTitle } from "../ui.tsx";

const pageSize = 50;
const statusFilters: Record<string, AlertStatus[]> = {
  open: [AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED],
  triggered: [AlertStatus.TRIGGERED],
  acknowledged: [AlertStatus.ACKNOWLEDGED],
  resolved: [AlertStatus.RESOLVED],
  all: [],
};
const sorts = {
  newest: (a: Alert, b: Alert) => Number(b.id - a.id),
  oldest: (a: Alert, b: Alert) => Number(a.id - b.id),
  severity: (a: Alert, b: Alert) => (a.severity || 9) - (b.severity || 9) || Number(b.id - a.id),
};

/** Whether the tab is visible: polling stops while it is hidden. */
function useVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === "visible");
  useEffect(() => {
    const on = () => setVisible(document.visibilityState === "visible");
    document.addEventListener("visibilitychange", on);
    return () => document.removeEventListener("visibilitychange", on);
  }, []);
  return visible;
}

export function AlertsPage() {
  const session = useSession();
  const services = useServices();
  const [status, setStatus] = useState("open");
  const [serviceId, setServiceId] = useState("");
  const [severity, setSeverity] = useState(0);
  const [labelsText, setLabelsText] = useState("");
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<keyof typeof sorts>("newest");
  const [tokens, setTokens] = useState<string[]>([""]);
  const [selected, setSelected] = useState<Set<bigint>>(new Set());
  // The watermark: the newest alert id the viewer has seen; newer ones are marked "new".
  const [watermark, setWatermark] = useState<bigint | null>(null);
  const visible = useVisible();

  const labels = parseLabels(labelsText);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const input = {
    statuses: statusFilters[status] ?? [],
    serviceIds: serviceId ? [serviceId] : [],
    severities: severity ? [severity as Severity] : [],
    labelSelector: labels ?? {},
    search: search.trim(),
    pageSize,
    pageToken,
  };
  const list = useQuery(AlertService.method.listAlerts, input, {
    refetchInterval: visible ? 5_000 : false,
    refetchIntervalInBackground: false,
    placeholderData: (prev) => prev,
  });
  const alerts = useMemo(() => [...(list.data?.alerts ?? [])].sort(sorts[sort]), [list.data, sort]);
  const newest = alerts.reduce<bigint | null>((m, a) => (m === null || a.id > m ? a.id : m), null);
  useEffect(() => {
    if (watermark === null && newest !== null) setWatermark(newest);
  }, [newest, watermark]);
  const fresh = watermark === null ? 0 : alerts.filter((a) => a.id > watermark).length;

  const resetPaging = () => {
    setTokens([""]);
    setSelected(new Set());
  };
  const bulkAck = useMutation(AlertService.method.bulkAcknowledgeAlerts, {
    onSuccess: () => setSelected(new Set()),
  });
  const bulkResolve = useMutation(AlertService.method.bulkResolveAlerts, {
    onSuccess: () => setSelected(new Set()),
  });
  const serviceName = new Map((services.data?.services ?? []).map((s) => [s.id, s.name]));
  const allSelected = alerts.length > 0 && alerts.every((a) => selected.has(a.id));
  const toggle = (id: bigint) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const updated = list.dataUpdatedAt ? new Date(list.dataUpdatedAt) : undefined;

  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <form className="filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              resetPaging();
            }}
          >
            <option value="open">Open</option>
            <option value="triggered">Triggered</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="resolved">Resolved</option>
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Service
          <select
            value={serviceId}
            onChange={(e) => {
              setServiceId(e.target.value);
              resetPaging();
            }}
          >
            <option value="">All services</option>
            {services.data?.services.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select
            value={severity}
            onChange={(e) => {
              setSeverity(Number(e.target.value));
              resetPaging();
            }}
          >
            <option value={0}>Any</option>
            {[Severity.CRITICAL, Severity.ERROR, Severity.WARNING, Severity.INFO].map((s) => (
              <option key={s} value={s}>
                {severityLabel[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Labels
          <input
            value={labelsText}
            placeholder="team=db"
            aria-invalid={labels === undefined || undefined}
            onChange={(e) => {
              setLabelsText(e.target.value);
              resetPaging();
            }}
          />
        </label>
        <label>
          Search
          <input
            type="search"
            value={search}
            placeholder="summary text"
            onChange={(e) => {
              setSearch(e.target.value);
              resetPaging();
            }}
          />
        </label>
        <label>
          Sort
          <select value={sort} onChange={(e) => setSort(e.target.value as keyof typeof sorts)}>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
            <option value="severity">Severity</option>
          </select>
        </label>
      </form>
      {labels === undefined ? (
        <p className="error" role="alert">
          Labels: write them as key=value, separated by commas (team=db, env=prod).
        </p>
      ) : null}
      <p className="muted status-line" aria-live="polite">
        {visible ? "Refreshing every 5 s" : "Refresh paused while this tab is hidden"}
        {updated ? ` · updated ${updated.toLocaleTimeString()}` : ""}
        {fresh > 0 ? (
          <>
            {" · "}
            <button type="button" className="link" onClick={() => setWatermark(newest)}>
              {fresh} new — mark as seen
            </button>
          </>
        ) : null}
      </p>
      <ErrorNote error={list.error ?? bulkAck.error ?? bulkResolve.error} />
      {session.canWrite && alerts.length > 0 ? (
        <div className="bulk">
          <span>{selected.size} selected</span>
          <button
            type="button"
            disabled={selected.size === 0 || bulkAck.isPending}
            onClick={() => bulkAck.mutate({ ids: [...selected] })}
          >
            Acknowledge selected
          </button>
          <button
            type="button"
            disabled={selected.size === 0 || bulkResolve.isPending}
            onClick={() => bulkResolve.mutate({ ids: [...selected] })}
          >
            Resolve selected
          </button>
        </div>
      ) : null}
      {list.isPending ? (
        <Loading what="alerts" />
      ) : alerts.length === 0 ? (
        <Empty>
          {status === "open" && !serviceId && !severity && !labelsText && !search ? (
            <>
              No open alerts. Alerts arrive from the webhooks of a service's integration key:{" "}
              <Link href="/services">set one up on Services</Link>.
            </>
          ) : (
            "No alerts match these filters. Widen them (status All, any service) to see more."
          )}
        </Empty>
      ) : (
        <table className="list alerts">
          <thead>
            <tr>
              {session.canWrite ? (
                <th scope="col" className="check">
                  <input
                    type="checkbox"
                    aria-label="Select all on this page"
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(alerts.map((a) => a.id)))}
                  />
                </th>
              ) : null}
              <th scope="col">Alert</th>
              <th scope="col">Status</th>
              <th scope="col" className="wide">
                Severity
              </th>
              <th scope="col" className="wide">
                Service
              </th>
              <th scope="col" className="wide">
                Created
              </th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={String(a.id)} className={watermark !== null && a.id > watermark ? "fresh" : undefined}>
                {session.canWrite ? (
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={`Select alert ${a.id}`}
                      checked={selected.has(a.id)}
                      onChange={() => toggle(a.id)}
                    />
                  </td>
                ) : null}
                <td>
                  <Link href={`/alerts/${a.id}`}>
                    #{String(a.id)} {a.summary}
                  </Link>
                  {watermark !== null && a.id > watermark ? <Badge kind="new">new</Badge> : null}
                  {a.duplicateCount > 0n ? (
                    <span className="muted"> ×{String(a.duplicateCount + 1n)}</span>
                  ) : null}
                  <div className="narrow muted">
                    {severityLabel[a.severity]} · {relative(a.createTime)}
                  </div>
                </td>
                <td>
                  <Badge kind={statusLabel[a.status]?.toLowerCase() ?? "unknown"}>
                    {statusLabel[a.status]}
                  </Badge>
                </td>
                <td className="wide">
                  <Badge kind={`sev-${a.severity}`}>{severityLabel[a.severity]}</Badge>
                </td>
                <td className="wide">{serviceName.get(a.serviceId) ?? a.serviceId}</td>
                <td className="wide" title={formatTime(a.createTime)}>
                  {relative(a.createTime)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {tokens.length}</span>
        <button
          type="button"
          disabled={!list.data?.nextPageToken}
          onClick={() => list.data?.nextPageToken && setTokens([...tokens, list.data.nextPageToken])}
        >
          Next page
        </button>
      </nav>
    </>
  );
}
