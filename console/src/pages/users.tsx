import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation } from "wouter";
import {
  type ContactMethod,
  ContactMethodType,
  UserDirectoryService,
} from "../../../functions/gen/kneutral/directory/v1/user_directory_pb.ts";
import { NotificationService } from "../../../functions/gen/oncall/v1/notifications_pb.ts";
import { useSession } from "../auth.tsx";
import {
  BackLink,
  Badge,
  CheckField,
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  FormError,
  Loading,
  PageTitle,
  SelectField,
  TableHead,
  TextField,
} from "../ui.tsx";

// People and how they are paged, from the user directory (the embedded one, or kneutral-api when
// ONCALL_DIRECTORY_URL is set: then the directory refuses changes and says where to make them).
// Reads take any token; changes take the admin token.

const typeLabels: Record<number, string> = {
  [ContactMethodType.EMAIL]: "Email",
  [ContactMethodType.SMS]: "SMS",
  [ContactMethodType.VOICE]: "Voice",
  [ContactMethodType.SLACK_DM]: "Slack DM",
  [ContactMethodType.TEAMS]: "Teams",
  [ContactMethodType.WEBHOOK]: "Webhook",
};
const placeholders: Record<number, string> = {
  [ContactMethodType.EMAIL]: "ada@example.com",
  [ContactMethodType.SMS]: "+4915123456789",
  [ContactMethodType.VOICE]: "+4915123456789",
  [ContactMethodType.SLACK_DM]: "U024BE7LH",
  [ContactMethodType.TEAMS]: "Entra ID user id",
  [ContactMethodType.WEBHOOK]: "https://…",
};

export function UsersPage() {
  const session = useSession();
  const [query, setQuery] = useState("");
  const users = useQuery(UserDirectoryService.method.searchUsers, { query: query.trim(), pageSize: 100 });
  const list = users.data?.users ?? [];
  return (
    <>
      <PageTitle>Users</PageTitle>
      <div className="field">
        <label htmlFor="user-search">Search by name or email</label>
        <input id="user-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <ErrorNote error={users.error} />
      {users.isPending ? (
        <Loading what="users" />
      ) : list.length === 0 ? (
        <Empty>{query ? "Nobody matches." : "No users yet — create one below."}</Empty>
      ) : (
        <table className="list">
          <TableHead columns={["Name", "Email", { label: "Time zone", wide: true }]} />
          <tbody>
            {list.map((u) => (
              <tr key={u.id}>
                <td>
                  <Link href={`/users/${encodeURIComponent(u.id)}`}>{u.name}</Link>{" "}
                  <code className="muted">{u.id}</code>
                </td>
                <td>{u.email}</td>
                <td className="wide">{u.timeZone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {users.data && list.length === 100 ? <p className="muted">The first 100; search to narrow.</p> : null}
      {session.isAdmin ? <NewUserForm /> : null}
    </>
  );
}

function NewUserForm() {
  const [, navigate] = useLocation();
  const [userId, setUserId] = useState("");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [timeZone, setTimeZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const create = useMutation(UserDirectoryService.method.createUser, {
    onSuccess: (r) => r.user && navigate(`/users/${encodeURIComponent(r.user.id)}`),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ userId, name, email, timeZone });
  };
  return (
    <form onSubmit={submit} className="card" noValidate aria-label="New user">
      <h2>New user</h2>
      <TextField label="Name" name="name" value={name} onChange={setName} error={create.error} />
      <TextField
        label="Email"
        name="email"
        type="email"
        value={email}
        onChange={setEmail}
        error={create.error}
      />
      <TextField
        label="Time zone"
        name="time_zone"
        hint="IANA, e.g. Europe/Berlin"
        value={timeZone}
        onChange={setTimeZone}
        error={create.error}
      />
      <TextField
        label="User id"
        name="user_id"
        hint="Optional; empty: a generated id"
        value={userId}
        onChange={setUserId}
        error={create.error}
      />
      <FormError error={create.error} fields={["name", "email", "time_zone", "user_id"]} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Create user
      </button>
    </form>
  );
}

export function UserPage({ id }: { id: string }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const userId = decodeURIComponent(id);
  const users = useQuery(UserDirectoryService.method.getUsers, { ids: [userId] });
  const methods = useQuery(UserDirectoryService.method.listContactMethods, { userId });
  const remove = useMutation(UserDirectoryService.method.deleteUser, { onSuccess: () => navigate("/users") });
  const user = users.data?.users[0];
  if (users.isPending) return <Loading what="the user" />;
  if (!user)
    return (
      <>
        <BackLink href="/users">Users</BackLink>
        <ErrorNote error={users.error} />
        {users.error ? null : <p>There is no user {userId}.</p>}
      </>
    );
  const list = methods.data?.contactMethods ?? [];
  return (
    <>
      <BackLink href="/users">Users</BackLink>
      <PageTitle
        actions={
          session.isAdmin ? (
            <button
              type="button"
              className="danger"
              onClick={() =>
                window.confirm(`Delete ${user.name} and their contact methods?`) &&
                remove.mutate({ id: user.id })
              }
            >
              Delete user
            </button>
          ) : null
        }
      >
        {user.name}
      </PageTitle>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code>{user.id}</code>
        </dd>
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Time zone</dt>
        <dd>{user.timeZone}</dd>
        {user.slackUserId ? (
          <>
            <dt>Slack</dt>
            <dd>{user.slackUserId}</dd>
          </>
        ) : null}
      </dl>
      <ErrorNote error={remove.error} />
      <h2>Contact methods</h2>
      <ErrorNote error={methods.error} />
      {methods.isPending ? (
        <Loading what="contact methods" />
      ) : list.length === 0 ? (
        <Empty>No contact methods: {user.name} cannot be paged yet.</Empty>
      ) : (
        <table className="list">
          <TableHead columns={["Contact method", "Value", "Status", session.isAdmin ? "Actions" : null]} />
          <tbody>
            {list.map((cm) => (
              <ContactMethodRow key={cm.id} cm={cm} admin={session.isAdmin} />
            ))}
          </tbody>
        </table>
      )}
      {session.isAdmin ? <NewContactMethodForm userId={user.id} /> : null}
      <NotificationRules userId={user.id} userName={user.name} methods={list} canWrite={session.canWrite} />
    </>
  );
}

/** How this user is paged: each rule sends to one contact method after a delay (GoAlert's model). */
function NotificationRules({
  userId,
  userName,
  methods,
  canWrite,
}: {
  userId: string;
  userName: string;
  methods: ContactMethod[];
  canWrite: boolean;
}) {
  const rules = useQuery(NotificationService.method.listNotificationRules, { userId });
  const [methodId, setMethodId] = useState("");
  const [delay, setDelay] = useState("0");
  const createRule = useMutation(NotificationService.method.createNotificationRule, {
    onSuccess: () => setDelay("0"),
  });
  const remove = useMutation(NotificationService.method.deleteNotificationRule);
  const statusUpdates = useMutation(NotificationService.method.setStatusUpdates);
  const method = new Map(methods.map((m) => [m.id, m]));
  const list = [...(rules.data?.rules ?? [])].sort((a, b) => a.delayMinutes - b.delayMinutes);
  const chosen = methodId || methods[0]?.id || "";
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // An empty or partial number goes as NaN → 0 would hide the mistake; send what was typed, checked.
    const minutes = delay.trim() === "" ? Number.NaN : Number(delay);
    createRule.mutate({
      userId,
      contactMethodId: chosen,
      delayMinutes: Number.isInteger(minutes) ? minutes : -1,
    });
  };
  return (
    <section aria-labelledby="notification-rules">
      <h2 id="notification-rules">Notification rules</h2>
      <ErrorNote error={rules.error ?? remove.error ?? statusUpdates.error} />
      {rules.isPending ? (
        <Loading what="notification rules" />
      ) : list.length === 0 ? (
        <Empty>
          No notification rules: when an escalation step notifies {userName}, nothing is sent and the alert
          records “no contact method”.{" "}
          {canWrite ? "Add one below, e.g. SMS at once and email after 5 minutes." : ""}
        </Empty>
      ) : (
        <ul className="plain notification-rules">
          {list.map((r) => {
            const cm = method.get(r.contactMethodId);
            const what = cm ? `${cm.name} (${typeLabels[cm.type] ?? "?"} ${cm.value})` : r.contactMethodId;
            return (
              <li key={r.id} data-delay={r.delayMinutes}>
                {r.delayMinutes === 0 ? "At once" : `After ${r.delayMinutes} min`}: {what}
                {cm && !cm.enabled ? <Badge kind="revoked">contact method disabled</Badge> : null}{" "}
                {canWrite ? (
                  <ConfirmButton
                    className="danger"
                    label={`Delete rule: ${r.delayMinutes} min, ${cm?.name ?? r.contactMethodId}`}
                    question="Delete this notification rule?"
                    onConfirm={() => remove.mutate({ userId, id: r.id })}
                  >
                    Delete rule
                  </ConfirmButton>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      {rules.data && canWrite ? (
        <CheckField
          label="Tell them when an alert they were paged for is acknowledged or resolved"
          checked={rules.data.statusUpdates}
          onChange={(enabled) => statusUpdates.mutate({ userId, enabled })}
        />
      ) : rules.data?.statusUpdates ? (
        <p className="muted">Status updates: on.</p>
      ) : null}
      {canWrite ? (
        methods.length === 0 ? (
          <p className="muted">Add a contact method first; then a rule can send to it.</p>
        ) : (
          <form onSubmit={submit} className="card" noValidate aria-label="New notification rule">
            <h3>New notification rule</h3>
            <div className="row">
              <SelectField
                label="Send to"
                name="contact_method_id"
                value={chosen}
                onChange={setMethodId}
                options={methods.map((m) => ({
                  value: m.id,
                  label: `${m.name} (${typeLabels[m.type] ?? "?"})${m.enabled ? "" : " — disabled"}`,
                }))}
                error={createRule.error}
              />
              <TextField
                label="Delay (minutes)"
                name="delay_minutes"
                type="number"
                hint="0: at once; at most 1440."
                value={delay}
                onChange={setDelay}
                error={createRule.error}
              />
            </div>
            <FormError error={createRule.error} fields={["contact_method_id", "delay_minutes"]} />
            <button type="submit" className="primary" disabled={createRule.isPending}>
              Add rule
            </button>
          </form>
        )
      ) : null}
    </section>
  );
}

function ContactMethodRow({ cm, admin }: { cm: ContactMethod; admin: boolean }) {
  const [code, setCode] = useState("");
  const [note, setNote] = useState("");
  const verify = useMutation(UserDirectoryService.method.verifyContactMethod, {
    onSuccess: () => setNote("Verified."),
  });
  const send = useMutation(UserDirectoryService.method.sendContactMethodVerification, {
    onSuccess: () => setNote("A new code was sent."),
  });
  const test = useMutation(UserDirectoryService.method.testContactMethod, {
    onSuccess: () => setNote("Test message sent."),
  });
  const toggle = useMutation(UserDirectoryService.method.updateContactMethod);
  const remove = useMutation(UserDirectoryService.method.deleteContactMethod);
  const error = verify.error ?? send.error ?? test.error ?? toggle.error ?? remove.error;
  const codeId = `code-${cm.id}`;
  return (
    <tr>
      <td>
        {cm.name}
        <div className="muted">{typeLabels[cm.type] ?? "unknown type"}</div>
      </td>
      <td className="mono">{cm.value}</td>
      <td>
        {cm.verified ? null : <Badge kind="new">unverified</Badge>}
        {cm.enabled ? <Badge kind="oncall">enabled</Badge> : <Badge kind="revoked">disabled</Badge>}
        {note ? (
          <div className="muted" aria-live="polite">
            {note}
          </div>
        ) : null}
        <ErrorNote error={error} />
      </td>
      {admin ? (
        <td>
          {cm.verified ? (
            <>
              <button type="button" onClick={() => test.mutate({ id: cm.id })} disabled={test.isPending}>
                Send test
              </button>{" "}
              <button
                type="button"
                onClick={() =>
                  toggle.mutate({
                    contactMethod: { id: cm.id, enabled: !cm.enabled },
                    updateMask: { paths: ["enabled"] },
                  })
                }
              >
                {cm.enabled ? "Disable" : "Enable"}
              </button>
            </>
          ) : (
            <form
              className="inline-code"
              onSubmit={(e) => {
                e.preventDefault();
                verify.mutate({ id: cm.id, code });
              }}
            >
              <label htmlFor={codeId}>Code</label>{" "}
              <input
                id={codeId}
                inputMode="numeric"
                size={7}
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />{" "}
              <button type="submit" disabled={verify.isPending}>
                Verify
              </button>{" "}
              <button type="button" onClick={() => send.mutate({ id: cm.id })} disabled={send.isPending}>
                Send a new code
              </button>
            </form>
          )}{" "}
          <button
            type="button"
            className="danger"
            onClick={() => window.confirm(`Delete “${cm.name}”?`) && remove.mutate({ id: cm.id })}
          >
            Delete
          </button>
        </td>
      ) : null}
    </tr>
  );
}

function NewContactMethodForm({ userId }: { userId: string }) {
  const [type, setType] = useState<ContactMethodType>(ContactMethodType.EMAIL);
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [note, setNote] = useState("");
  const create = useMutation(UserDirectoryService.method.createContactMethod, {
    onSuccess: (r) => {
      setName("");
      setValue("");
      setNote(
        r.verificationCodeSent
          ? "A code was sent to it: enter it beside the contact method to enable it."
          : r.verificationError
            ? `Created, but the code could not be sent: ${r.verificationError}`
            : "Created.",
      );
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setNote("");
    create.mutate({ userId, type, name, value });
  };
  return (
    <form onSubmit={submit} className="card" noValidate aria-label="New contact method">
      <h2>New contact method</h2>
      <Field label="Type" name="type" error={create.error}>
        {(p) => (
          <select {...p} value={type} onChange={(e) => setType(Number(e.target.value) as ContactMethodType)}>
            {Object.entries(typeLabels).map(([t, label]) => (
              <option key={t} value={t}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Value"
        name="value"
        error={create.error}
        hint="Email, SMS and voice are enabled once the code sent to them is entered."
      >
        {(p) => (
          <input
            {...p}
            placeholder={placeholders[type]}
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        )}
      </Field>
      <Field label="Label" name="name" error={create.error}>
        {(p) => (
          <input
            {...p}
            placeholder={typeLabels[type]}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <FormError error={create.error} fields={["type", "value", "name"]} />
      {note ? <p aria-live="polite">{note}</p> : null}
      <button type="submit" className="primary" disabled={create.isPending}>
        Add contact method
      </button>
    </form>
  );
}
