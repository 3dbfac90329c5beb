import type { JsonObject } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { UserDirectoryService } from "../../../functions/gen/kneutral/directory/v1/user_directory_pb.ts";
import { AlertService, AlertStatus } from "../../../functions/gen/oncall/v1/alerts_pb.ts";
import {
  type Delivery,
  DeliveryStatus,
  NotificationService,
} from "../../../functions/gen/oncall/v1/notifications_pb.ts";
import { type RoutingDecision, RoutingService } from "../../../functions/gen/oncall/v1/routing_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, relative, severityLabel, statusLabel } from "../format.ts";
import { useNames } from "../lookups.ts";
import { BackLink, Badge, ErrorNote, Field, FormError, Loading, PageTitle, TableHead } from "../ui.tsx";

const escalationTypes = new Set([
  "escalation_started",
  "escalated",
  "escalated_manually",
  "no_one_to_notify",
  "escalation_completed",
  "escalation_failed",
]);

export function AlertPage({ id }: { id: string }) {
  const session = useSession();
  const names = useNames();
  const valid = /^\d+$/.test(id);
  const alertId = valid ? BigInt(id) : 0n;
  const alert = useQuery(
    AlertService.method.getAlert,
    { id: alertId },
    { enabled: valid, refetchInterval: 10_000 },
  );
  const events = useQuery(
    AlertService.method.listAlertEvents,
    { alertId, pageSize: 500 },
    { enabled: valid, refetchInterval: 5_000 },
  );
  const routing = useQuery(
    RoutingService.method.listRoutingDecisions,
    { alertId, pageSize: 5 },
    { enabled: valid, refetchInterval: 10_000 },
  );
  const ack = useMutation(AlertService.method.acknowledgeAlert);
  const resolve = useMutation(AlertService.method.resolveAlert);
  const escalate = useMutation(AlertService.method.escalateAlert);
  const note = useMutation(AlertService.method.addNote, { onSuccess: () => setText("") });
  const [text, setText] = useState("");

  if (!valid) return <p className="error">There is no alert “{id}”: alert ids are numbers.</p>;
  if (alert.isPending) return <Loading what="the alert" />;
  if (alert.error || !alert.data.alert)
    return (
      <>
        <BackLink href="/alerts">Alerts</BackLink>
        <ErrorNote error={alert.error ?? new Error("not found")} />
      </>
    );
  const a = alert.data.alert;
  const open = a.status !== AlertStatus.RESOLVED;
  const timeline = events.data?.events ?? [];
  const lastEscalation = [...timeline].reverse().find((e) => escalationTypes.has(e.type));
  const data = (lastEscalation?.data ?? {}) as JsonObject;
  const submitNote = (e: FormEvent) => {
    e.preventDefault();
    note.mutate({ alertId, text });
  };

  return (
    <>
      <BackLink href="/alerts">Alerts</BackLink>
      <PageTitle
        actions={
          session.canWrite && open ? (
            <>
              {a.status === AlertStatus.TRIGGERED ? (
                <button
                  type="button"
                  className="primary"
                  disabled={ack.isPending}
                  onClick={() => ack.mutate({ id: alertId })}
                >
                  Acknowledge
                </button>
              ) : null}
              <button
                type="button"
                disabled={resolve.isPending}
                onClick={() => resolve.mutate({ id: alertId })}
              >
                Resolve
              </button>
              <button
                type="button"
                disabled={escalate.isPending}
                onClick={() => escalate.mutate({ id: alertId })}
              >
                Escalate now
              </button>
            </>
          ) : null
        }
      >
        #{String(a.id)} {a.summary}
      </PageTitle>
      <ErrorNote error={ack.error ?? resolve.error ?? escalate.error} />
      {escalate.data ? (
        <p className="notice" role="status">
          Escalated to step {escalate.data.stepIndex + 1} (pass {escalate.data.repeatCycle + 1}).
        </p>
      ) : null}
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Badge kind={statusLabel[a.status]?.toLowerCase() ?? "unknown"}>{statusLabel[a.status]}</Badge>
        </dd>
        <dt>Severity</dt>
        <dd>
          <Badge kind={`sev-${a.severity}`}>{severityLabel[a.severity]}</Badge>
        </dd>
        <dt>Service</dt>
        <dd>
          <Link href={`/services/${a.serviceId}`}>{names.service.get(a.serviceId) ?? a.serviceId}</Link>
        </dd>
        <dt>Source</dt>
        <dd>{a.source || "—"}</dd>
        <dt>Created</dt>
        <dd>{formatTime(a.createTime)}</dd>
        <dt>Last seen</dt>
        <dd>
          {formatTime(a.lastSeenTime)} ({String(a.duplicateCount)} duplicate
          {a.duplicateCount === 1n ? "" : "s"})
        </dd>
        {a.acknowledgeTime ? (
          <>
            <dt>Acknowledged</dt>
            <dd>{formatTime(a.acknowledgeTime)}</dd>
          </>
        ) : null}
        {a.resolveTime ? (
          <>
            <dt>Resolved</dt>
            <dd>{formatTime(a.resolveTime)}</dd>
          </>
        ) : null}
        <dt>Routing</dt>
        <dd data-routing={a.routingState || routing.data?.decisions[0]?.type || ""}>
          {a.routingState ? (
            <>
              <Badge kind="routing">{a.routingState.replace(/_/g, " ")}</Badge> {a.routingReason}
            </>
          ) : routing.data?.decisions[0] ? (
            <RoutingLine decision={routing.data.decisions[0]} policyName={names.policy} />
          ) : routing.isPending ? (
            "…"
          ) : (
            "Not routed yet."
          )}
          {a.aggregatedInto ? (
            <div>
              Folded into <Link href={`/alerts/${a.aggregatedInto}`}>alert #{String(a.aggregatedInto)}</Link>.
            </div>
          ) : null}
          {a.aggregateCount > 0n ? <div>{String(a.aggregateCount)} alerts folded into this one.</div> : null}
          <ErrorNote error={routing.error} />
        </dd>
        <dt>Escalation</dt>
        <dd>
          {lastEscalation ? (
            <>
              {lastEscalation.message}
              {typeof data.stepIndex === "number" ? ` — step ${data.stepIndex + 1}` : ""}
              {typeof data.repeatCycle === "number" ? `, pass ${data.repeatCycle + 1}` : ""} (
              {relative(lastEscalation.createTime)})
            </>
          ) : (
            "Not escalated (the service may have no escalation policy)."
          )}
        </dd>
        <dt>Dedup key</dt>
        <dd>
          <code>{a.dedupKey || "—"}</code>
        </dd>
      </dl>
      {a.details ? (
        <section>
          <h2>Details</h2>
          <pre className="details">{a.details}</pre>
        </section>
      ) : null}
      <KeyValues title="Labels" values={a.labels} />
      <KeyValues title="Annotations" values={a.annotations} />
      <Deliveries alertId={alertId} />
      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ErrorNote error={events.error} />
        {events.isPending ? <Loading what="the timeline" /> : null}
        <ol className="timeline">
          {timeline.map((e) => (
            <li key={String(e.id)} data-type={e.type}>
              <time title={formatTime(e.createTime)}>{formatTime(e.createTime)}</time>{" "}
              <strong>{e.type.replace(/_/g, " ")}</strong>
              {e.actor ? <span className="muted"> by {e.actor}</span> : null}
              {e.message ? <div>{e.message}</div> : null}
            </li>
          ))}
        </ol>
        {session.canWrite ? (
          <form onSubmit={submitNote} className="inline-form" noValidate>
            <Field label="Add a note" name="text" error={note.error}>
              {(p) => <textarea {...p} rows={2} value={text} onChange={(e) => setText(e.target.value)} />}
            </Field>
            <FormError error={note.error} fields={["text"]} />
            <button type="submit" disabled={note.isPending}>
              Add note
            </button>
          </form>
        ) : null}
      </section>
    </>
  );
}

function KeyValues({ title, values }: { title: string; values: Record<string, string> }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return null;
  return (
    <section>
      <h2>{title}</h2>
      <ul className="labels">
        {entries.map(([k, v]) => (
          <li key={k}>
            <code>
              {k}={v}
            </code>
          </li>
        ))}
      </ul>
    </section>
  );
}

const deliveryStatus: Record<number, { label: string; badge: string }> = {
  [DeliveryStatus.PENDING]: { label: "pending", badge: "acknowledged" },
  [DeliveryStatus.SENDING]: { label: "sending", badge: "acknowledged" },
  [DeliveryStatus.SENT]: { label: "sent", badge: "resolved" },
  [DeliveryStatus.FAILED]: { label: "failed", badge: "triggered" },
  [DeliveryStatus.SUPPRESSED]: { label: "not sent (acknowledged or resolved first)", badge: "revoked" },
};

function recipientOf(d: Delivery, channelName: Map<string, string>, userName: Map<string, string>): string {
  if (d.recipientKind === "channel") return `channel ${channelName.get(d.channelId) ?? d.channelId}`;
  if (d.recipientKind === "user") return userName.get(d.recipientId) ?? `user ${d.recipientId}`;
  return d.recipientId || d.recipientKind;
}

/** Every message sent (or owed) for this alert, and what the provider answered. */
function Deliveries({ alertId }: { alertId: bigint }) {
  const session = useSession();
  const names = useNames();
  const deliveries = useQuery(
    NotificationService.method.listDeliveries,
    { alertId, pageSize: 100 },
    { refetchInterval: 5_000 },
  );
  const retry = useMutation(NotificationService.method.retryDelivery);
  const list = deliveries.data?.deliveries ?? [];
  // People by name from the directory (at most 100 ids a call; unknown ids keep their id).
  const userIds = [...new Set(list.filter((d) => d.recipientKind === "user").map((d) => d.recipientId))]
    .sort()
    .slice(0, 100);
  const users = useQuery(
    UserDirectoryService.method.getUsers,
    { ids: userIds },
    { enabled: userIds.length > 0 },
  );
  const userName = new Map((users.data?.users ?? []).map((u) => [u.id, u.name]));
  return (
    <section aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries</h2>
      <ErrorNote error={deliveries.error ?? retry.error} />
      {deliveries.isPending ? (
        <Loading what="deliveries" />
      ) : list.length === 0 ? (
        <p className="muted">
          No messages for this alert yet. They appear when an escalation step or a routing rule notifies
          someone (check the service's escalation policy and the users' notification rules).
        </p>
      ) : (
        <table className="list deliveries">
          <TableHead
            columns={[
              "To",
              "Status",
              { label: "Provider's answer", wide: true },
              session.canWrite ? "Actions" : null,
            ]}
          />
          <tbody>
            {list.map((d) => {
              const status = deliveryStatus[d.status] ?? { label: "unknown", badge: "revoked" };
              return (
                <tr key={String(d.id)} data-status={status.label}>
                  <td>
                    {recipientOf(d, names.channel, userName)}{" "}
                    <span className="muted">
                      by {d.destinationKind.replace(/_/g, " ")}, {d.messageKind.replace(/_/g, " ")}
                      {d.ruleDelayMinutes ? `, after ${d.ruleDelayMinutes} min` : ""}
                    </span>
                    <div className="muted">
                      step {d.stepIndex + 1}, {relative(d.createdAt)}
                    </div>
                  </td>
                  <td>
                    <Badge kind={status.badge}>{status.label}</Badge>
                    <div className="muted">
                      attempt {d.attempts} of {d.maxAttempts}
                      {d.bundledInto ? `, bundled into #${String(d.bundledInto)}` : ""}
                    </div>
                  </td>
                  <td className="wide">{d.providerAnswer || "—"}</td>
                  {session.canWrite ? (
                    <td>
                      {d.status === DeliveryStatus.FAILED ? (
                        <button
                          type="button"
                          aria-label={`Retry delivery ${String(d.id)}`}
                          disabled={retry.isPending}
                          onClick={() => retry.mutate({ id: d.id })}
                        >
                          Retry
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The latest routing decision, its policy by name (the stored message names it by id). */
function RoutingLine({
  decision: d,
  policyName,
}: {
  decision: RoutingDecision;
  policyName: Map<string, string>;
}) {
  const policyId = typeof d.decision?.policyId === "string" ? d.decision.policyId : "";
  const source =
    typeof d.decision?.policySource === "string" ? d.decision.policySource.replace(/_/g, " ") : "";
  if (d.type === "routed" && policyId) {
    return (
      <>
        routed to <Link href={`/policies/${policyId}`}>{policyName.get(policyId) ?? policyId}</Link>
        {source ? <span className="muted"> ({source})</span> : null}
      </>
    );
  }
  return (
    <>
      {d.type}: {d.message}
    </>
  );
}
