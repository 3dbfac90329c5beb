import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import { ApiKeyScope, ApiKeyService } from "../../../functions/gen/oncall/v1/api_keys_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime, relative } from "../format.ts";
import {
  Badge,
  Empty,
  ErrorNote,
  Field,
  FormError,
  Loading,
  PageTitle,
  TableHead,
  TextField,
} from "../ui.tsx";

export function ApiKeysPage() {
  const session = useSession();
  if (!session.isAdmin)
    return (
      <>
        <PageTitle>API keys</PageTitle>
        <p>Only the admin token manages API keys. Sign in with it to create or revoke keys.</p>
      </>
    );
  return <ApiKeys />;
}

function ApiKeys() {
  const keys = useQuery(ApiKeyService.method.listApiKeys, { includeRevoked: true });
  const [name, setName] = useState("");
  const [scope, setScope] = useState<ApiKeyScope>(ApiKeyScope.READ);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const create = useMutation(ApiKeyService.method.createApiKey, {
    onSuccess: (r) => {
      setSecret({ name: r.key?.name ?? "", secret: r.secret });
      setName("");
    },
  });
  const revoke = useMutation(ApiKeyService.method.revokeApiKey);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name, scope });
  };
  const list = keys.data?.keys ?? [];
  return (
    <>
      <PageTitle>API keys</PageTitle>
      {secret ? (
        <section className="card new-key" aria-label="New API key">
          <h2>Key “{secret.name}” created</h2>
          <p>
            Copy it now: <strong>it is shown only once</strong>. Use it as{" "}
            <code>Authorization: Bearer …</code> or to sign in here.
          </p>
          <label htmlFor="api-secret">Secret</label>
          <input
            id="api-secret"
            className="mono"
            readOnly
            value={secret.secret}
            onFocus={(e) => e.target.select()}
          />
          <button type="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </section>
      ) : null}
      <ErrorNote error={keys.error ?? revoke.error} />
      {keys.isPending ? (
        <Loading what="API keys" />
      ) : list.length === 0 ? (
        <Empty>
          No API keys yet — create a read-only key for dashboards or a read-write key for automation.
        </Empty>
      ) : (
        <table className="list">
          <TableHead columns={["Name", "Scope", { label: "Created", wide: true }, "Last used", "Actions"]} />
          <tbody>
            {list.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name} <code className="muted">{k.secretPrefix}…</code>
                  {k.revokeTime ? <Badge kind="revoked">revoked</Badge> : null}
                </td>
                <td>{k.scope === ApiKeyScope.READ_WRITE ? "read-write" : "read-only"}</td>
                <td className="wide">{formatTime(k.createTime)}</td>
                <td>{k.lastUsedTime ? relative(k.lastUsedTime) : "never"}</td>
                <td>
                  {k.revokeTime ? null : (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => window.confirm(`Revoke “${k.name}”?`) && revoke.mutate({ id: k.id })}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={submit} className="card" noValidate aria-label="New API key">
        <h2>New API key</h2>
        <TextField label="Name" name="name" value={name} onChange={setName} error={create.error} />
        <Field label="Scope" name="scope" error={create.error}>
          {(p) => (
            <select {...p} value={scope} onChange={(e) => setScope(Number(e.target.value) as ApiKeyScope)}>
              <option value={ApiKeyScope.READ}>Read-only</option>
              <option value={ApiKeyScope.READ_WRITE}>Read-write</option>
            </select>
          )}
        </Field>
        <FormError error={create.error} fields={["name", "scope"]} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create API key
        </button>
      </form>
    </>
  );
}
