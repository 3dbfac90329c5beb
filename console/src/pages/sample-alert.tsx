import { Code, ConnectError } from "@connectrpc/connect";
import { useState } from "react";
import { Severity } from "../../../functions/gen/oncall/v1/alerts_pb.ts";
import { useServices } from "../lookups.ts";
import { type SampleDraft, sampleFromJson } from "../sample.ts";
import { SelectField, TextAreaField, TextField } from "../ui.tsx";

export const severities = [
  { value: String(Severity.CRITICAL), label: "Critical" },
  { value: String(Severity.ERROR), label: "Error" },
  { value: String(Severity.WARNING), label: "Warning" },
  { value: String(Severity.INFO), label: "Info" },
];

/** The fields the server (or alertRequestOf) names for a sample alert. */
export const sampleFields = [
  "alert.sample.service_id",
  "alert.sample.summary",
  "alert.sample.severity",
  "alert.sample.labels",
  "alert.sample.annotations",
  "alert.alert_id",
  "alert",
  "time",
  "labels",
  "annotations",
];

/**
 * A sample alert's fields (service, severity, time, summary, labels, annotations), or a stored
 * alert's number, or a pasted alert (JSON) that fills them. `prefix` starts every label, so two
 * of these can share a page ("Sample …" in the simulator, "Test alert …" in a rule's form).
 */
export function SampleAlertFields({
  prefix,
  storedLabel,
  value: d,
  onChange,
  error,
}: {
  prefix: string;
  storedLabel: string;
  value: SampleDraft;
  onChange: (patch: Partial<SampleDraft>) => void;
  error: unknown;
}) {
  const services = useServices();
  const [json, setJson] = useState("");
  const [jsonError, setJsonError] = useState<ConnectError | undefined>();
  const [filled, setFilled] = useState(false);
  const fill = () => {
    const r = sampleFromJson(json);
    if (typeof r === "string") {
      setJsonError(new ConnectError(`pasted_alert: ${r}`, Code.InvalidArgument));
      setFilled(false);
      return;
    }
    setJsonError(undefined);
    // A pasted alert replaces the sample: its absent labels are no labels.
    onChange({ labels: "", annotations: "", storedId: "", ...r });
    setFilled(true);
  };
  return (
    <>
      <div className="row">
        <SelectField
          label={`${prefix} service`}
          name="alert.sample.service_id"
          value={d.serviceId || services.data?.services[0]?.id || ""}
          onChange={(v) => onChange({ serviceId: v })}
          options={(services.data?.services ?? []).map((s) => ({ value: s.id, label: s.name }))}
          error={error}
        />
        <SelectField
          label={`${prefix} severity`}
          name="alert.sample.severity"
          value={d.severity}
          onChange={(v) => onChange({ severity: v })}
          options={severities}
          error={error}
        />
        <TextField
          label={`${prefix} time`}
          name="time"
          type="datetime-local"
          hint="Empty: now."
          value={d.at}
          onChange={(v) => onChange({ at: v })}
          error={error}
        />
      </div>
      <TextField
        label={`${prefix} summary`}
        name="alert.sample.summary"
        value={d.summary}
        onChange={(v) => onChange({ summary: v })}
        error={error}
      />
      <div className="row">
        <TextField
          label={`${prefix} labels`}
          name="labels"
          placeholder="team=db, env=staging"
          value={d.labels}
          onChange={(v) => onChange({ labels: v })}
          error={error}
        />
        <TextField
          label={`${prefix} annotations`}
          name="annotations"
          placeholder="runbook=https://…"
          value={d.annotations}
          onChange={(v) => onChange({ annotations: v })}
          error={error}
        />
      </div>
      <TextField
        label={storedLabel}
        name="alert.alert_id"
        hint="Given: that alert (its labels, service, severity) instead of the sample."
        value={d.storedId}
        onChange={(v) => onChange({ storedId: v })}
        error={error}
      />
      <details className="paste">
        <summary>{prefix}: paste an alert as JSON</summary>
        <TextAreaField
          label={`${prefix} as JSON`}
          name="pasted_alert"
          className="mono"
          rows={4}
          placeholder='{"summary": "Disk full", "severity": "warning", "labels": {"env": "staging"}}'
          hint="This API's sample alert, an Alertmanager alert or a whole webhook body (its first alert)."
          value={json}
          onChange={(v) => {
            setJson(v);
            setFilled(false);
          }}
          error={jsonError}
        />
        <button type="button" onClick={fill}>
          Fill {prefix.toLowerCase()} from JSON
        </button>
        {filled ? (
          <span className="muted" role="status">
            {" "}
            Filled in from the pasted alert.
          </span>
        ) : null}
      </details>
    </>
  );
}
