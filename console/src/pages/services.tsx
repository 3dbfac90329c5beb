import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useEffect, useState } from "react";
import { Link, useLocation } from "wouter";
import {
  type IntegrationKey,
  IntegrationKeyType,
  ServiceService,
} from "../../../functions/gen/oncall/v1/services_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, relative } from "../format.ts";
import { usePolicies, useServices } from "../lookups.ts";
import {
  Badge,
  DetailHeader,
  DetailMissing,
  Empty,
  ErrorNote,
  Field,
  FormActions,
  FormError,
  Loading,
  PageTitle,
  SelectField,
  TableHead,
  TextField,
} from "../ui.tsx";

export function ServicesPage() {
  const session = useSession();
  const services = useServices();
  const policies = usePolicies();
  const policyName = new Map((policies.data?.policies ?? []).map((p) => [p.id, p.name]));
  const list = services.data?.services ?? [];
  return (
    <>
      <PageTitle>Services</PageTitle>
      <ErrorNote error={services.error} />
      {services.isPending ? (
        <Loading what="services" />
      ) : list.length === 0 ? (
        <Empty>
          No services yet — create one below, then create an integration key and point Alertmanager or Grafana
          at it.
        </Empty>
      ) : (
        <table className="list">
          <TableHead columns={["Service", "Escalation policy", { label: "Created", wide: true }]} />
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link href={`/services/${s.id}`}>{s.name}</Link>
                  {s.description ? <div className="muted">{s.description}</div> : null}
                </td>
                <td>
                  {s.escalationPolicyId ? (
                    <Link href={`/policies/${s.escalationPolicyId}`}>
                      {policyName.get(s.escalationPolicyId) ?? s.escalationPolicyId}
                    </Link>
                  ) : (
                    <span className="muted">none — nobody is paged</span>
                  )}
                </td>
                <td className="wide">{formatTime(s.createTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {session.canWrite ? <ServiceForm /> : null}
    </>
  );
}

/** Creates a service, or edits `initial` when given. */
function ServiceForm({
  initial,
  onDone,
}: {
  initial?: { id: string; name: string; description: string; escalationPolicyId: string };
  onDone?: () => void;
}) {
  const [, navigate] = useLocation();
  const policies = usePolicies();
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [policyId, setPolicyId] = useState(initial?.escalationPolicyId ?? "");
  const create = useMutation(ServiceService.method.createService, {
    onSuccess: (r) => r.service && navigate(`/services/${r.service.id}`),
  });
  const update = useMutation(ServiceService.method.updateService, { onSuccess: () => onDone?.() });
  const m = initial ? update : create;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (initial)
      update.mutate({
        service: { id: initial.id, name, description, escalationPolicyId: policyId },
        updateMask: { paths: ["name", "description", "escalation_policy_id"] },
      });
    else create.mutate({ name, description, escalationPolicyId: policyId });
  };
  return (
    <form onSubmit={submit} className="card" noValidate aria-label={initial ? "Edit service" : "New service"}>
      <h2>{initial ? "Edit service" : "New service"}</h2>
      <TextField label="Name" name="name" value={name} onChange={setName} error={m.error} />
      <TextField
        label="Description"
        name="description"
        value={description}
        onChange={setDescription}
        error={m.error}
      />
      <SelectField
        label="Escalation policy"
        name="escalation_policy_id"
        error={m.error}
        hint="Who is paged for this service's alerts."
        value={policyId}
        onChange={setPolicyId}
        options={[
          { value: "", label: "None" },
          ...(policies.data?.policies ?? []).map((x) => ({ value: x.id, label: x.name })),
        ]}
      />
      <FormActions
        error={m.error}
        fields={["name", "description", "escalation_policy_id"]}
        pending={m.isPending}
        submit={initial ? "Save" : "Create service"}
        onCancel={onDone}
      />
    </form>
  );
}

export function ServicePage({ id }: { id: string }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const service = useQuery(ServiceService.method.getService, { id });
  const policies = usePolicies();
  const [editing, setEditing] = useState(false);
  const remove = useMutation(ServiceService.method.deleteService, { onSuccess: () => navigate("/services") });
  if (service.isPending) return <Loading what="the service" />;
  const s = service.data?.service;
  if (!s) return <DetailMissing back="/services" backLabel="Services" error={service.error} />;
  const policy = policies.data?.policies.find((p) => p.id === s.escalationPolicyId);
  return (
    <>
      <DetailHeader
        back="/services"
        backLabel="Services"
        title={s.name}
        canWrite={session.canWrite}
        editing={editing}
        onEdit={() => setEditing(true)}
        what={`service “${s.name}”`}
        onDelete={() => remove.mutate({ id })}
      />
      <ErrorNote error={remove.error} />
      {editing ? (
        <ServiceForm initial={s} onDone={() => setEditing(false)} />
      ) : (
        <dl className="facts">
          <dt>Description</dt>
          <dd>{s.description || "—"}</dd>
          <dt>Escalation policy</dt>
          <dd>
            {policy ? (
              <Link href={`/policies/${policy.id}`}>{policy.name}</Link>
            ) : (
              "None: alerts are recorded but nobody is paged. Edit the service to attach a policy."
            )}
          </dd>
          <dt>Alerts</dt>
          <dd>
            <Link href="/alerts">See alerts</Link>
          </dd>
        </dl>
      )}
      <IntegrationKeys serviceId={id} />
    </>
  );
}

const keyTypes: { value: IntegrationKeyType; label: string }[] = [
  { value: IntegrationKeyType.ALERTMANAGER, label: "Prometheus Alertmanager" },
  { value: IntegrationKeyType.GRAFANA, label: "Grafana" },
  { value: IntegrationKeyType.GENERIC, label: "Generic (GoAlert API)" },
  { value: IntegrationKeyType.PAGERDUTY, label: "PagerDuty Events v2" },
  { value: IntegrationKeyType.UNIVERSAL, label: "Universal (any webhook)" },
];
const keyTypeLabel = new Map(keyTypes.map((t) => [t.value, t.label]));

function IntegrationKeys({ serviceId }: { serviceId: string }) {
  const session = useSession();
  const keys = useQuery(ServiceService.method.listIntegrationKeys, { serviceId, includeRevoked: true });
  const [name, setName] = useState("");
  const [type, setType] = useState<IntegrationKeyType>(IntegrationKeyType.ALERTMANAGER);
  const [shown, setShown] = useState<{ key: IntegrationKey; secret: string } | null>(null);
  const create = useMutation(ServiceService.method.createIntegrationKey, {
    onSuccess: (r) => {
      if (r.key) setShown({ key: r.key, secret: r.secret });
      setName("");
    },
  });
  const rotate = useMutation(ServiceService.method.rotateIntegrationKey, {
    onSuccess: (r) => r.key && setShown({ key: r.key, secret: r.secret }),
  });
  const revoke = useMutation(ServiceService.method.revokeIntegrationKey);
  const list = keys.data?.keys ?? [];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ serviceId, name, type });
  };
  return (
    <section aria-labelledby="keys">
      <h2 id="keys">Integration keys</h2>
      {shown ? (
        <NewKey
          key={shown.secret}
          integrationKey={shown.key}
          secret={shown.secret}
          onClose={() => setShown(null)}
        />
      ) : null}
      <ErrorNote error={keys.error ?? rotate.error ?? revoke.error} />
      {keys.isPending ? (
        <Loading what="keys" />
      ) : list.length === 0 ? (
        <Empty>No integration keys yet — create one and point Alertmanager or Grafana at this service.</Empty>
      ) : (
        <table className="list">
          <TableHead
            columns={["Key", { label: "Type", wide: true }, "Last used", session.canWrite ? "Actions" : null]}
          />
          <tbody>
            {list.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name} <code className="muted">{k.secretPrefix}…</code>
                  {k.revokeTime ? <Badge kind="revoked">revoked</Badge> : null}
                </td>
                <td className="wide">{keyTypeLabel.get(k.type) ?? "—"}</td>
                <td>{k.lastUsedTime ? relative(k.lastUsedTime) : "never"}</td>
                {session.canWrite ? (
                  <td className="row-actions">
                    {k.revokeTime ? null : (
                      <>
                        <button
                          type="button"
                          onClick={() =>
                            window.confirm(`Rotate “${k.name}”? The old secret stops working.`) &&
                            rotate.mutate({ id: k.id })
                          }
                        >
                          Rotate
                        </button>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => window.confirm(`Revoke “${k.name}”?`) && revoke.mutate({ id: k.id })}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {session.canWrite ? (
        <form onSubmit={submit} className="card" noValidate aria-label="New integration key">
          <h3>New integration key</h3>
          <TextField label="Key name" name="name" value={name} onChange={setName} error={create.error} />
          <Field label="Sender" name="type" error={create.error}>
            {(p) => (
              <select
                {...p}
                value={type}
                onChange={(e) => setType(Number(e.target.value) as IntegrationKeyType)}
              >
                {keyTypes.map((t) => (
                  <option key={t.value} value={t.value}>
                    {t.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <FormError error={create.error} fields={["name", "type"]} />
          <button type="submit" className="primary" disabled={create.isPending}>
            Create key
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** The secret, shown once, with configuration ready to paste. */
function NewKey({
  integrationKey,
  secret,
  onClose,
}: {
  integrationKey: IntegrationKey;
  secret: string;
  onClose: () => void;
}) {
  const origin = window.location.origin;
  const t = integrationKey.type;
  const any = t === IntegrationKeyType.UNIVERSAL;
  const alertmanager = `receivers:
  - name: oncall
    webhook_configs:
      - url: ${origin}/v1/webhooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: ${secret}`;
  const grafana = `Contact point → Integration: Webhook
  URL: ${origin}/v1/webhooks/grafana
  HTTP method: POST
  Authorization header - scheme: Bearer
  Authorization header - credentials: ${secret}`;
  const path =
    t === IntegrationKeyType.ALERTMANAGER
      ? "/v1/webhooks/alertmanager"
      : t === IntegrationKeyType.GRAFANA
        ? "/v1/webhooks/grafana"
        : "/v1/webhooks/generic";
  const curl =
    t === IntegrationKeyType.PAGERDUTY
      ? `curl -X POST -H 'content-type: application/json' \\
  -d '{"routing_key":"${secret}","event_action":"trigger","payload":{"summary":"test","source":"curl","severity":"critical"}}' \\
  '${origin}/v2/enqueue'`
      : t === IntegrationKeyType.ALERTMANAGER
        ? `curl -X POST -H 'content-type: application/json' -H 'authorization: Bearer ${secret}' \\
  -d '{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Test"},"annotations":{"summary":"test"}}]}' \\
  '${origin}${path}'`
        : `curl -X POST -H 'content-type: application/json' -H 'authorization: Bearer ${secret}' \\
  -d '{"summary":"test"}' '${origin}${path}'`;
  useEffect(() => {
    document.getElementById("new-key")?.focus();
  }, []);
  return (
    <section className="card new-key" id="new-key" tabIndex={-1} aria-label="New key">
      <h3>Key “{integrationKey.name}” created</h3>
      <p>
        Copy the secret now: <strong>it is shown only once</strong>.
      </p>
      <label htmlFor="secret">Secret</label>
      <input id="secret" readOnly value={secret} onFocus={(e) => e.target.select()} className="mono" />
      {t === IntegrationKeyType.ALERTMANAGER || any ? (
        <>
          <h4>Alertmanager (alertmanager.yml)</h4>
          <pre data-snippet="alertmanager">{alertmanager}</pre>
        </>
      ) : null}
      {t === IntegrationKeyType.GRAFANA || any ? (
        <>
          <h4>Grafana</h4>
          <pre data-snippet="grafana">{grafana}</pre>
        </>
      ) : null}
      <h4>Try it with curl</h4>
      <pre data-snippet="curl">{curl}</pre>
      <button type="button" onClick={onClose}>
        I have copied it
      </button>
    </section>
  );
}
