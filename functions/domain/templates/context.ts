import { MAX_BUNDLE_ALERTS, type MessageKind } from "./model.ts";

/**
 * What a template sees. Documented for authors in templates/README.md (keep the two in step; a test
 * checks that every field named here is documented there). Times are ISO-8601 strings in UTC:
 * format them with `formatTime` (in the recipient's zone) or `timeAgo`. Absent things are null or
 * empty strings, never missing, so `{{#if alert.acknowledgedAt}}` reads naturally.
 */
export interface RenderContext {
  readonly kind: MessageKind;
  /** When the message is rendered; `timeAgo` counts from here. */
  readonly now: string;
  /** The alert (alert, status_update; the first alert of a bundle); null for a handoff. */
  readonly alert: AlertView | null;
  readonly service: ServiceView | null;
  /** The escalation step that sends an alert message; null otherwise. */
  readonly escalation: EscalationView | null;
  readonly recipient: RecipientView;
  /** Action links, filled by the two-way actions work; "" when there is none. Render them as given. */
  readonly actions: ActionLinks;
  /** status_update: what happened. */
  readonly update: UpdateView | null;
  /** bundle: the alerts (at most 50 listed; `count` is the total). */
  readonly bundle: BundleView | null;
  /** handoff: the shift that starts. */
  readonly handoff: HandoffView | null;
}

export interface AlertView {
  readonly id: number;
  readonly summary: string;
  readonly details: string;
  readonly status: "triggered" | "acknowledged" | "resolved";
  readonly severity: "critical" | "error" | "warning" | "info";
  readonly source: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Repeats deduplicated into this alert. */
  readonly duplicateCount: number;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly acknowledgedAt: string | null;
  readonly resolvedAt: string | null;
  /** The alert in the console; "" when unknown. */
  readonly url: string;
}

export interface ServiceView {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

export interface EscalationView {
  /** 1-based step of the policy. */
  readonly step: number;
  /** 1-based pass through the policy (2 = first repeat). */
  readonly pass: number;
  /** Names of the others this step notifies. */
  readonly notified: readonly string[];
}

export interface RecipientView {
  readonly name: string;
  /** IANA zone; the default zone of `formatTime`. */
  readonly timeZone: string;
}

export interface ActionLinks {
  readonly acknowledge: string;
  readonly resolve: string;
  readonly open: string;
}

export interface UpdateView {
  readonly action: "acknowledged" | "resolved" | "escalated";
  /** Who did it ("alice", "api_key:…", "alertmanager"). */
  readonly actor: string;
  readonly at: string;
  readonly note: string;
}

export interface BundleView {
  readonly count: number;
  readonly alerts: readonly AlertView[];
}

export interface HandoffView {
  readonly scheduleName: string;
  /** Who is on call from now. */
  readonly onCall: string;
  /** Who was on call before; "" when nobody. */
  readonly previous: string;
  readonly startsAt: string;
  readonly endsAt: string;
}

/**
 * The shape of the context for validation: which variables exist. `"value"` is a leaf, `"map"` an
 * object with any keys (labels), a list has items of one shape, an object its fields.
 */
export type ContextShape =
  | "value"
  | "map"
  | { readonly list: ContextShape }
  | { readonly fields: Readonly<Record<string, ContextShape>> };

const fields = (f: Record<string, ContextShape>): ContextShape => ({ fields: f });

const alertShape = fields({
  id: "value",
  summary: "value",
  details: "value",
  status: "value",
  severity: "value",
  source: "value",
  labels: "map",
  annotations: "map",
  duplicateCount: "value",
  createdAt: "value",
  lastSeenAt: "value",
  acknowledgedAt: "value",
  resolvedAt: "value",
  url: "value",
});

export const contextShape: ContextShape = fields({
  kind: "value",
  now: "value",
  alert: alertShape,
  service: fields({ id: "value", name: "value", description: "value" }),
  escalation: fields({ step: "value", pass: "value", notified: { list: "value" } }),
  recipient: fields({ name: "value", timeZone: "value" }),
  actions: fields({ acknowledge: "value", resolve: "value", open: "value" }),
  update: fields({ action: "value", actor: "value", at: "value", note: "value" }),
  bundle: fields({ count: "value", alerts: { list: alertShape } }),
  handoff: fields({
    scheduleName: "value",
    onCall: "value",
    previous: "value",
    startsAt: "value",
    endsAt: "value",
  }),
});

/** What a context is built from: the alert(s) and whatever the sender knows. */
export interface ContextInput {
  readonly kind: MessageKind;
  readonly now: Date;
  readonly alerts: readonly AlertView[];
  /** Total alerts of a bundle when more than `alerts` holds. */
  readonly bundleCount?: number;
  readonly service?: ServiceView | null;
  readonly escalation?: EscalationView | null;
  readonly recipient?: Partial<RecipientView>;
  readonly actions?: Partial<ActionLinks>;
  readonly update?: UpdateView | null;
  readonly handoff?: HandoffView | null;
}

/** The render context of a message; fields the kind does not use are null. */
export function buildRenderContext(input: ContextInput): RenderContext {
  const first = input.alerts[0] ?? null;
  const usesAlert = input.kind !== "handoff";
  return {
    kind: input.kind,
    now: input.now.toISOString(),
    alert: usesAlert ? first : null,
    service: input.service ?? null,
    escalation: input.kind === "alert" ? (input.escalation ?? null) : null,
    recipient: { name: input.recipient?.name ?? "", timeZone: input.recipient?.timeZone || "UTC" },
    actions: {
      acknowledge: input.actions?.acknowledge ?? "",
      resolve: input.actions?.resolve ?? "",
      open: input.actions?.open ?? first?.url ?? "",
    },
    update: input.kind === "status_update" ? (input.update ?? null) : null,
    bundle:
      input.kind === "bundle"
        ? {
            count: Math.max(input.bundleCount ?? 0, input.alerts.length),
            alerts: input.alerts.slice(0, MAX_BUNDLE_ALERTS),
          }
        : null,
    handoff: input.kind === "handoff" ? (input.handoff ?? null) : null,
  };
}

const sampleNow = new Date("2026-11-29T09:30:00Z");

const sampleAlert: AlertView = {
  id: 4217,
  summary: "High error rate on payments-api (5.2% of requests failing)",
  details:
    "The 5xx ratio of payments-api has been above 5% for 10 minutes.\nRunbook: https://runbooks.example.com/payments/error-rate",
  status: "triggered",
  severity: "critical",
  source: "alertmanager",
  labels: { alertname: "HighErrorRate", service: "payments-api", env: "production", team: "payments" },
  annotations: { runbook_url: "https://runbooks.example.com/payments/error-rate" },
  duplicateCount: 3,
  createdAt: "2026-11-29T09:12:00Z",
  lastSeenAt: "2026-11-29T09:29:00Z",
  acknowledgedAt: null,
  resolvedAt: null,
  url: "https://oncall.example.com/alerts/4217",
};

/** The sample a preview and a save's checks render when no real alert is given. */
export function sampleContext(kind: MessageKind, variant: "full" | "minimal" = "full"): RenderContext {
  if (variant === "minimal") return minimalContext(kind);
  const second: AlertView = {
    ...sampleAlert,
    id: 4218,
    summary: "Disk 91% full on db-3",
    severity: "warning",
    labels: { alertname: "DiskFull", instance: "db-3" },
    duplicateCount: 0,
  };
  return buildRenderContext({
    kind,
    now: sampleNow,
    alerts:
      kind === "bundle"
        ? [sampleAlert, second]
        : [kind === "status_update" ? acknowledged(sampleAlert) : sampleAlert],
    bundleCount: 7,
    service: {
      id: "6f1c2a4e-1b2c-4d5e-8f90-123456789abc",
      name: "payments-api",
      description: "Card payments",
    },
    escalation: { step: 1, pass: 1, notified: ["Bob Smith"] },
    recipient: { name: "Alice Jones", timeZone: "Europe/Berlin" },
    actions: {
      acknowledge: "https://oncall.example.com/a/4217/ack?sig=sample",
      resolve: "https://oncall.example.com/a/4217/resolve?sig=sample",
      open: sampleAlert.url,
    },
    update: {
      action: "acknowledged",
      actor: "Alice Jones",
      at: "2026-11-29T09:20:00Z",
      note: "Looking into it",
    },
    handoff: {
      scheduleName: "Payments primary",
      onCall: "Alice Jones",
      previous: "Bob Smith",
      startsAt: "2026-11-29T09:00:00Z",
      endsAt: "2026-12-06T09:00:00Z",
    },
  });
}

function acknowledged(alert: AlertView): AlertView {
  return { ...alert, status: "acknowledged", acknowledgedAt: "2026-11-29T09:20:00Z" };
}

/** Everything optional left out: what a template must also survive. */
function minimalContext(kind: MessageKind): RenderContext {
  const alert: AlertView = {
    id: 1,
    summary: "x",
    details: "",
    status: "triggered",
    severity: "info",
    source: "",
    labels: {},
    annotations: {},
    duplicateCount: 0,
    createdAt: "2026-11-29T09:12:00Z",
    lastSeenAt: "2026-11-29T09:12:00Z",
    acknowledgedAt: null,
    resolvedAt: null,
    url: "",
  };
  return buildRenderContext({
    kind,
    now: sampleNow,
    alerts: [alert],
    update: { action: "resolved", actor: "", at: "2026-11-29T09:20:00Z", note: "" },
    handoff: {
      scheduleName: "",
      onCall: "",
      previous: "",
      startsAt: "2026-11-29T09:00:00Z",
      endsAt: "2026-11-29T17:00:00Z",
    },
  });
}
