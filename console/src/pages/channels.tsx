import { create } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import {
  type ChannelConfig,
  ChannelConfigSchema,
  ChannelService,
  DeliveryOutcome,
  type NotificationChannel,
  type TestChannelResponse,
} from "../../../functions/gen/oncall/v1/channels_pb.ts";
import { useSession } from "../auth.tsx";
import { formatTime } from "../format.ts";
import { useChannels } from "../lookups.ts";
import {
  Empty,
  ErrorNote,
  FormActions,
  Loading,
  PageTitle,
  RowEditDelete,
  SelectField,
  TableHead,
  TextAreaField,
  TextField,
} from "../ui.tsx";

type Kind = "slack" | "teams" | "email" | "webhook";
const kinds: { value: Kind; label: string }[] = [
  { value: "slack", label: "Slack" },
  { value: "teams", label: "Microsoft Teams" },
  { value: "email", label: "Email list" },
  { value: "webhook", label: "Webhook (signed JSON POST)" },
];
const kindLabel = new Map(kinds.map((k) => [k.value, k.label]));

/** Where a channel's messages go, in a few words (no secret: only references are stored). */
export function destinationOf(config: ChannelConfig | undefined): string {
  const k = config?.kind;
  switch (k?.case) {
    case "slack":
      return k.value.webhookUrl
        ? `incoming webhook ${hostOf(k.value.webhookUrl)}`
        : `bot (${k.value.botTokenRef}) → ${k.value.channelId}`;
    case "teams":
      return `webhook ${hostOf(k.value.webhookUrl)}`;
    case "email":
      return k.value.addresses.join(", ");
    case "webhook":
      return `${k.value.url}${k.value.signingSecretRef ? ` (signed with ${k.value.signingSecretRef})` : " (unsigned)"}`;
    default:
      return "—";
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const outcomeText: Record<number, string> = {
  [DeliveryOutcome.SENT]: "sent",
  [DeliveryOutcome.RETRY]: "temporary failure (a delivery would retry)",
  [DeliveryOutcome.FAILED]: "failed (retrying will not help)",
};

export function ChannelsPage() {
  const session = useSession();
  const channels = useChannels();
  const [editing, setEditing] = useState<NotificationChannel | null>(null);
  const [tested, setTested] = useState<{ name: string; answer: TestChannelResponse } | null>(null);
  const remove = useMutation(ChannelService.method.deleteChannel);
  const test = useMutation(ChannelService.method.testChannel);
  const list = channels.data?.channels ?? [];
  return (
    <>
      <PageTitle>Channels</PageTitle>
      <p className="muted">
        Named destinations — a Slack or Teams channel, an email list, a signed webhook — that escalation steps
        and routing rules notify. Secrets are never stored here: fields ending in “reference” name a secret
        (ONCALL_SECRET_&lt;NAME&gt; when embedded, Secrets Manager oncall/&lt;name&gt; on AWS).
      </p>
      <ErrorNote error={channels.error ?? remove.error ?? test.error} />
      {tested ? <TestResult name={tested.name} answer={tested.answer} /> : null}
      {channels.isPending ? (
        <Loading what="channels" />
      ) : list.length === 0 ? (
        <Empty>
          No channels yet —{" "}
          {session.canWrite ? "create one below" : "someone with a write key can create one"}, then use it as
          an escalation target or in a routing rule, and press “Send test” to check it.
        </Empty>
      ) : (
        <table className="list">
          <TableHead
            columns={[
              "Channel",
              "Type",
              { label: "Destination", wide: true },
              { label: "Updated", wide: true },
              session.canWrite ? "Actions" : null,
            ]}
          />
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-channel={c.name}>
                <td>
                  {c.name}
                  {c.description ? <div className="muted">{c.description}</div> : null}
                  <div className="narrow muted">{destinationOf(c.config)}</div>
                </td>
                <td>{kindLabel.get(c.config?.kind.case as Kind) ?? "—"}</td>
                <td className="wide">
                  <code>{destinationOf(c.config)}</code>
                </td>
                <td className="wide">{formatTime(c.updateTime)}</td>
                {session.canWrite ? (
                  <td className="row-actions">
                    <button
                      type="button"
                      disabled={test.isPending}
                      aria-label={`Send test to ${c.name}`}
                      onClick={() =>
                        test.mutate(
                          { id: c.id },
                          { onSuccess: (answer) => setTested({ name: c.name, answer }) },
                        )
                      }
                    >
                      Send test
                    </button>
                    <RowEditDelete
                      name={c.name}
                      what="channel"
                      onEdit={() => setEditing(c)}
                      onDelete={() => remove.mutate({ id: c.id })}
                    />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {session.canWrite ? (
        <ChannelForm
          key={editing?.id ?? "new"}
          initial={editing ?? undefined}
          onDone={() => setEditing(null)}
        />
      ) : null}
    </>
  );
}

function TestResult({ name, answer }: { name: string; answer: TestChannelResponse }) {
  const ok = answer.outcome === DeliveryOutcome.SENT;
  return (
    <div className={ok ? "notice" : "error"} role="status" data-test-outcome={ok ? "sent" : "failed"}>
      Test message to “{name}”: <strong>{outcomeText[answer.outcome] ?? "no answer"}</strong>
      {answer.detail ? ` — ${answer.detail}` : ""}
      {answer.providerMessageId ? (
        <>
          {" "}
          (message id <code>{answer.providerMessageId}</code>)
        </>
      ) : null}
      {answer.retryAfterMs > 0n ? ` The provider asked to wait ${String(answer.retryAfterMs)} ms.` : ""}
    </div>
  );
}

interface Draft {
  kind: Kind;
  slackMode: "webhook" | "bot";
  webhookUrl: string;
  botTokenRef: string;
  slackChannelId: string;
  addresses: string;
  url: string;
  signingSecretRef: string;
}

function draftOf(config: ChannelConfig | undefined): Draft {
  const d: Draft = {
    kind: "slack",
    slackMode: "webhook",
    webhookUrl: "",
    botTokenRef: "",
    slackChannelId: "",
    addresses: "",
    url: "",
    signingSecretRef: "",
  };
  const k = config?.kind;
  switch (k?.case) {
    case "slack":
      return {
        ...d,
        slackMode: k.value.webhookUrl ? "webhook" : "bot",
        webhookUrl: k.value.webhookUrl,
        botTokenRef: k.value.botTokenRef,
        slackChannelId: k.value.channelId,
      };
    case "teams":
      return { ...d, kind: "teams", webhookUrl: k.value.webhookUrl };
    case "email":
      return { ...d, kind: "email", addresses: k.value.addresses.join("\n") };
    case "webhook":
      return { ...d, kind: "webhook", url: k.value.url, signingSecretRef: k.value.signingSecretRef };
    default:
      return d;
  }
}

function configOf(d: Draft): ChannelConfig {
  switch (d.kind) {
    case "slack":
      return create(ChannelConfigSchema, {
        kind: {
          case: "slack",
          value:
            d.slackMode === "webhook"
              ? { webhookUrl: d.webhookUrl.trim() }
              : { botTokenRef: d.botTokenRef.trim(), channelId: d.slackChannelId.trim() },
        },
      });
    case "teams":
      return create(ChannelConfigSchema, {
        kind: { case: "teams", value: { webhookUrl: d.webhookUrl.trim() } },
      });
    case "email":
      return create(ChannelConfigSchema, {
        kind: {
          case: "email",
          value: {
            addresses: d.addresses
              .split(/[\s,;]+/)
              .map((a) => a.trim())
              .filter(Boolean),
          },
        },
      });
    case "webhook":
      return create(ChannelConfigSchema, {
        kind: { case: "webhook", value: { url: d.url.trim(), signingSecretRef: d.signingSecretRef.trim() } },
      });
  }
}

const formFields = [
  "name",
  "description",
  "config",
  "config.slack.webhook_url",
  "config.slack.bot_token_ref",
  "config.slack.channel_id",
  "config.teams.webhook_url",
  "config.email.addresses",
  "config.webhook.url",
  "config.webhook.signing_secret_ref",
];

/** Creates a channel, or edits `initial`. */
function ChannelForm({ initial, onDone }: { initial?: NotificationChannel; onDone: () => void }) {
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [d, setDraft] = useState<Draft>(() => draftOf(initial?.config));
  const set = (patch: Partial<Draft>) => setDraft((x) => ({ ...x, ...patch }));
  const createChannel = useMutation(ChannelService.method.createChannel, {
    onSuccess: () => {
      setName("");
      setDescription("");
      setDraft(draftOf(undefined));
    },
  });
  const update = useMutation(ChannelService.method.updateChannel, { onSuccess: onDone });
  const m = initial ? update : createChannel;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const channel = { id: initial?.id ?? "", name, description, config: configOf(d) };
    if (initial) update.mutate({ channel, updateMask: { paths: ["name", "description", "config"] } });
    else createChannel.mutate({ channel });
  };
  const title = initial ? `Edit channel “${initial.name}”` : "New channel";
  return (
    <form onSubmit={submit} className="card" noValidate aria-label={title}>
      <h2>{title}</h2>
      {createChannel.data?.channel && !initial ? (
        <p className="notice" role="status">
          Channel “{createChannel.data.channel.name}” created.
        </p>
      ) : null}
      <TextField label="Name" name="name" value={name} onChange={setName} error={m.error} />
      <TextField
        label="Description"
        name="description"
        value={description}
        onChange={setDescription}
        error={m.error}
      />
      <SelectField
        label="Type"
        name="config"
        value={d.kind}
        onChange={(v) => set({ kind: v as Kind })}
        options={kinds}
        error={m.error}
      />
      {d.kind === "slack" ? (
        <>
          <SelectField
            label="Slack connection"
            name="slack_mode"
            value={d.slackMode}
            onChange={(v) => set({ slackMode: v as Draft["slackMode"] })}
            options={[
              { value: "webhook", label: "Incoming webhook URL" },
              { value: "bot", label: "Bot token and channel id" },
            ]}
          />
          {d.slackMode === "webhook" ? (
            <TextField
              label="Slack webhook URL"
              name="config.slack.webhook_url"
              type="url"
              placeholder="https://hooks.slack.com/services/…"
              value={d.webhookUrl}
              onChange={(v) => set({ webhookUrl: v })}
              error={m.error}
            />
          ) : (
            <div className="row">
              <TextField
                label="Bot token reference"
                name="config.slack.bot_token_ref"
                hint="The name of the secret holding the xoxb-… token, e.g. slack-bot."
                value={d.botTokenRef}
                onChange={(v) => set({ botTokenRef: v })}
                error={m.error}
              />
              <TextField
                label="Slack channel id"
                name="config.slack.channel_id"
                placeholder="C0123456789"
                value={d.slackChannelId}
                onChange={(v) => set({ slackChannelId: v })}
                error={m.error}
              />
            </div>
          )}
        </>
      ) : null}
      {d.kind === "teams" ? (
        <TextField
          label="Teams webhook URL"
          name="config.teams.webhook_url"
          type="url"
          hint="A Workflows “when a webhook request is received” URL, or an incoming webhook."
          value={d.webhookUrl}
          onChange={(v) => set({ webhookUrl: v })}
          error={m.error}
        />
      ) : null}
      {d.kind === "email" ? (
        <TextAreaField
          label="Email addresses"
          name="config.email.addresses"
          hint="One to 50 addresses, separated by commas or new lines."
          value={d.addresses}
          onChange={(v) => set({ addresses: v })}
          error={m.error}
        />
      ) : null}
      {d.kind === "webhook" ? (
        <div className="row">
          <TextField
            label="Webhook URL"
            name="config.webhook.url"
            type="url"
            value={d.url}
            onChange={(v) => set({ url: v })}
            error={m.error}
          />
          <TextField
            label="Signing secret reference"
            name="config.webhook.signing_secret_ref"
            hint="Optional: requests then carry X-Oncall-Signature (HMAC-SHA256)."
            value={d.signingSecretRef}
            onChange={(v) => set({ signingSecretRef: v })}
            error={m.error}
          />
        </div>
      ) : null}
      <FormActions
        error={m.error}
        fields={formFields}
        pending={m.isPending}
        submit={initial ? "Save channel" : "Create channel"}
        onCancel={initial ? onDone : undefined}
      />
    </form>
  );
}
