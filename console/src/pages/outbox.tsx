import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { LocalOutboxService, type OutboxMessage } from "../../../functions/gen/oncall/v1/local_outbox_pb.ts";
import { formatTime, relative } from "../format.ts";
import { Empty, ErrorNote, Loading, PageTitle, SelectField, TextField } from "../ui.tsx";

/** The email and SMS the embedded runtime kept instead of sending (no SMTP or SNS configured). */
export function OutboxPage() {
  const [kind, setKind] = useState("");
  const [recipient, setRecipient] = useState("");
  const [pageToken, setPageToken] = useState("");
  const messages = useQuery(
    LocalOutboxService.method.listOutboxMessages,
    { destinationKind: kind, recipient: recipient.trim(), pageSize: 50, pageToken },
    { refetchInterval: 5_000 },
  );
  const list = messages.data?.messages ?? [];
  return (
    <>
      <PageTitle>Local outbox</PageTitle>
      <p className="muted">
        Without ONCALL_SMTP_URL (email) or AWS SNS (SMS), the embedded runtime keeps these messages here
        instead of sending them: this is what people would have received. On AWS the outbox stays empty.
      </p>
      <div className="filters">
        <SelectField
          label="Kind"
          name="destination_kind"
          value={kind}
          onChange={(v) => {
            setKind(v);
            setPageToken("");
          }}
          options={[
            { value: "", label: "Email and SMS" },
            { value: "email", label: "Email" },
            { value: "sms", label: "SMS" },
          ]}
          error={messages.error}
        />
        <TextField
          label="Recipient"
          name="recipient"
          type="search"
          placeholder="exact address or +number"
          value={recipient}
          onChange={(v) => {
            setRecipient(v);
            setPageToken("");
          }}
          error={messages.error}
        />
      </div>
      <ErrorNote error={messages.error} />
      {messages.isPending ? (
        <Loading what="the outbox" />
      ) : list.length === 0 ? (
        <Empty>
          The outbox is empty. Create an email channel and press “Send test” on the Channels page, or give a
          user an email or SMS contact method and trigger an alert: the message appears here.
        </Empty>
      ) : (
        <ul className="outbox">
          {list.map((m) => (
            <OutboxItem key={String(m.id)} message={m} />
          ))}
        </ul>
      )}
      <div className="pager">
        {pageToken ? (
          <button type="button" onClick={() => setPageToken("")}>
            Newest
          </button>
        ) : null}
        {messages.data?.nextPageToken ? (
          <button type="button" onClick={() => setPageToken(messages.data.nextPageToken)}>
            Older
          </button>
        ) : null}
      </div>
    </>
  );
}

function OutboxItem({ message: m }: { message: OutboxMessage }) {
  const subject = m.parts.subject;
  const text = m.parts.text ?? "";
  return (
    <li className="card" data-kind={m.destinationKind} data-message-kind={m.messageKind}>
      <p>
        <strong>{m.destinationKind === "sms" ? "SMS" : "Email"}</strong> to {m.recipients.join(", ")}{" "}
        <span className="muted">
          ({m.messageKind.replace(/_/g, " ")},{" "}
          <time title={formatTime(m.createTime)}>{relative(m.createTime)}</time>)
        </span>
      </p>
      {subject ? <h2 className="subject">{subject}</h2> : null}
      {text ? <pre className="details">{text}</pre> : null}
      {m.parts.html ? (
        <details>
          <summary>HTML part ({m.parts.html.length} characters)</summary>
          <pre className="details">{m.parts.html}</pre>
        </details>
      ) : null}
    </li>
  );
}
