import { create } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation } from "wouter";
import {
  type EscalationPolicy,
  EscalationPolicyService,
  type EscalationStep,
  EscalationStepSchema,
  type EscalationTarget,
} from "../../../functions/gen/oncall/v1/escalation_policies_pb.ts";
import { useSession } from "../auth.tsx";
import { useNames, usePolicies, useRotations, useSchedules, useServices } from "../lookups.ts";
import {
  DetailHeader,
  DetailMissing,
  Empty,
  ErrorNote,
  Field,
  FormActions,
  Loading,
  PageTitle,
  TextField,
} from "../ui.tsx";

type TargetKind = "userId" | "scheduleId" | "rotationId" | "channelId";
const targetKinds: { value: TargetKind; label: string }[] = [
  { value: "userId", label: "User" },
  { value: "scheduleId", label: "Schedule" },
  { value: "rotationId", label: "Rotation" },
  { value: "channelId", label: "Channel" },
];

export function describeTarget(t: EscalationTarget, names: ReturnType<typeof useNames>): string {
  switch (t.kind.case) {
    case "userId":
      return `user ${t.kind.value}`;
    case "scheduleId":
      return `schedule ${names.schedule.get(t.kind.value) ?? t.kind.value}`;
    case "rotationId":
      return `rotation ${names.rotation.get(t.kind.value) ?? t.kind.value}`;
    case "channelId":
      return `channel ${names.channel.get(t.kind.value) ?? t.kind.value}`;
    default:
      return "nobody";
  }
}

export function PoliciesPage() {
  const session = useSession();
  const policies = usePolicies();
  const names = useNames();
  const list = policies.data?.policies ?? [];
  return (
    <>
      <PageTitle>Escalation policies</PageTitle>
      <ErrorNote error={policies.error} />
      {policies.isPending ? (
        <Loading what="policies" />
      ) : list.length === 0 ? (
        <Empty>
          No escalation policies yet — create one below (who is paged, after how long), then attach it to a
          service.
        </Empty>
      ) : (
        <ul className="cards">
          {list.map((p) => (
            <li key={p.id} className="card">
              <h2>
                <Link href={`/policies/${p.id}`}>{p.name}</Link>
              </h2>
              <StepSummary policy={p} names={names} />
            </li>
          ))}
        </ul>
      )}
      {session.canWrite ? <PolicyForm /> : null}
    </>
  );
}

function StepSummary({ policy, names }: { policy: EscalationPolicy; names: ReturnType<typeof useNames> }) {
  return (
    <ol className="steps">
      {policy.steps.map((s, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: steps are positional
        <li key={i}>
          {i === 0 && s.delaySeconds === 0 ? "At once" : `After ${Math.round(s.delaySeconds / 60)} min`}:
          notify {s.targets.map((t) => describeTarget(t, names)).join(", ") || "nobody"}
        </li>
      ))}
      <li className="muted">
        {policy.repeatCount ? `Then repeat ${policy.repeatCount} more time(s).` : "No repeat."}
      </li>
    </ol>
  );
}

export function PolicyPage({ id }: { id: string }) {
  const session = useSession();
  const [, navigate] = useLocation();
  const policy = useQuery(EscalationPolicyService.method.getEscalationPolicy, { id });
  const services = useServices();
  const names = useNames();
  const [editing, setEditing] = useState(false);
  const remove = useMutation(EscalationPolicyService.method.deleteEscalationPolicy, {
    onSuccess: () => navigate("/policies"),
  });
  if (policy.isPending) return <Loading what="the policy" />;
  const p = policy.data?.policy;
  if (!p) return <DetailMissing back="/policies" backLabel="Escalation policies" error={policy.error} />;
  const usedBy = (services.data?.services ?? []).filter((s) => s.escalationPolicyId === p.id);
  return (
    <>
      <DetailHeader
        back="/policies"
        backLabel="Escalation policies"
        title={p.name}
        canWrite={session.canWrite}
        editing={editing}
        onEdit={() => setEditing(true)}
        what={`policy “${p.name}”`}
        onDelete={() => remove.mutate({ id })}
      />
      <ErrorNote error={remove.error} />
      {p.description ? <p>{p.description}</p> : null}
      {editing ? (
        <PolicyForm initial={p} onDone={() => setEditing(false)} />
      ) : (
        <StepSummary policy={p} names={names} />
      )}
      <h2>Used by</h2>
      {usedBy.length === 0 ? (
        <Empty>No service uses this policy yet: edit a service to attach it.</Empty>
      ) : (
        <ul>
          {usedBy.map((s) => (
            <li key={s.id}>
              <Link href={`/services/${s.id}`}>{s.name}</Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const emptyStep = (): EscalationStep => create(EscalationStepSchema, { delaySeconds: 0, targets: [] });

function PolicyForm({ initial, onDone }: { initial?: EscalationPolicy; onDone?: () => void }) {
  const [, navigate] = useLocation();
  const schedules = useSchedules();
  const rotations = useRotations();
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [repeat, setRepeat] = useState(String(initial?.repeatCount ?? 0));
  const [steps, setSteps] = useState<EscalationStep[]>(initial?.steps.length ? initial.steps : [emptyStep()]);
  const createM = useMutation(EscalationPolicyService.method.createEscalationPolicy, {
    onSuccess: (r) => r.policy && navigate(`/policies/${r.policy.id}`),
  });
  const updateM = useMutation(EscalationPolicyService.method.updateEscalationPolicy, {
    onSuccess: () => onDone?.(),
  });
  const m = initial ? updateM : createM;

  const setStep = (i: number, s: EscalationStep) => setSteps(steps.map((x, j) => (j === i ? s : x)));
  const move = (i: number, d: number) => {
    const next = [...steps];
    const [s] = next.splice(i, 1);
    if (s) next.splice(i + d, 0, s);
    setSteps(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const repeatCount = Number(repeat);
    const body = { name, description, repeatCount: Number.isInteger(repeatCount) ? repeatCount : -1, steps };
    if (initial)
      updateM.mutate({
        policy: { id: initial.id, ...body },
        updateMask: { paths: ["name", "description", "repeat_count", "steps"] },
      });
    else createM.mutate(body);
  };
  const pick = (kind: TargetKind) =>
    kind === "scheduleId"
      ? (schedules.data?.schedules ?? [])
      : kind === "rotationId"
        ? (rotations.data?.rotations ?? [])
        : undefined;

  return (
    <form onSubmit={submit} className="card" noValidate aria-label={initial ? "Edit policy" : "New policy"}>
      <h2>{initial ? "Edit policy" : "New escalation policy"}</h2>
      <TextField label="Name" name="name" value={name} onChange={setName} error={m.error} />
      <TextField
        label="Description"
        name="description"
        value={description}
        onChange={setDescription}
        error={m.error}
      />
      <fieldset>
        <legend>Steps</legend>
        {steps.map((s, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: steps are positional
          <div key={i} className="step">
            <Field label={`Step ${i + 1}: delay (minutes)`} name="delay_seconds" error={m.error}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  value={s.delaySeconds / 60}
                  onChange={(e) =>
                    setStep(i, { ...s, delaySeconds: Math.round(Number(e.target.value || 0) * 60) })
                  }
                />
              )}
            </Field>
            {s.targets.map((t, ti) => {
              const kind = (t.kind.case ?? "userId") as TargetKind;
              const options = pick(kind);
              const setTarget = (nt: EscalationTarget) =>
                setStep(i, { ...s, targets: s.targets.map((x, k) => (k === ti ? nt : x)) });
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: targets are positional
                <div key={ti} className="target">
                  <label>
                    Target {ti + 1} kind
                    <select
                      id={`step-${i}-target-${ti}-kind`}
                      value={kind}
                      onChange={(e) =>
                        setTarget({ ...t, kind: { case: e.target.value as TargetKind, value: "" } })
                      }
                    >
                      {targetKinds.map((k) => (
                        <option key={k.value} value={k.value}>
                          {k.label}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label htmlFor={`step-${i}-target-${ti}`}>
                    {targetKinds.find((k) => k.value === kind)?.label}
                  </label>
                  {options ? (
                    <select
                      id={`step-${i}-target-${ti}`}
                      value={String(t.kind.value ?? "")}
                      onChange={(e) => setTarget({ ...t, kind: { case: kind, value: e.target.value } })}
                    >
                      <option value="">Choose…</option>
                      {options.map((o) => (
                        <option key={o.id} value={o.id}>
                          {o.name}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input
                      id={`step-${i}-target-${ti}`}
                      value={String(t.kind.value ?? "")}
                      placeholder={kind === "userId" ? "alice" : "channel id"}
                      onChange={(e) => setTarget({ ...t, kind: { case: kind, value: e.target.value } })}
                    />
                  )}
                  <button
                    type="button"
                    className="link"
                    onClick={() => setStep(i, { ...s, targets: s.targets.filter((_, k) => k !== ti) })}
                  >
                    Remove target
                  </button>
                </div>
              );
            })}
            <div className="actions">
              <button
                type="button"
                onClick={() =>
                  setStep(i, {
                    ...s,
                    targets: [
                      ...s.targets,
                      { $typeName: "oncall.v1.EscalationTarget", kind: { case: "userId", value: "" } },
                    ],
                  })
                }
              >
                Add target
              </button>
              <button
                type="button"
                disabled={i === 0}
                onClick={() => move(i, -1)}
                aria-label={`Move step ${i + 1} up`}
              >
                ↑
              </button>
              <button
                type="button"
                disabled={i === steps.length - 1}
                onClick={() => move(i, 1)}
                aria-label={`Move step ${i + 1} down`}
              >
                ↓
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => setSteps(steps.filter((_, j) => j !== i))}
              >
                Remove step
              </button>
            </div>
          </div>
        ))}
        <button type="button" onClick={() => setSteps([...steps, emptyStep()])}>
          Add step
        </button>
      </fieldset>
      <Field
        label="Repeat count"
        name="repeat_count"
        error={m.error}
        hint="How many more times to run the steps."
      >
        {(p) => (
          <input {...p} type="number" min={0} value={repeat} onChange={(e) => setRepeat(e.target.value)} />
        )}
      </Field>
      <FormActions
        error={m.error}
        fields={["name", "description", "repeat_count", "delay_seconds"]}
        pending={m.isPending}
        submit={initial ? "Save" : "Create policy"}
        onCancel={onDone}
      />
    </form>
  );
}
