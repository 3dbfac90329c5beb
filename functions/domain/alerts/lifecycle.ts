/**
 * The alert lifecycle: the states an alert can be in, what moves it between them, the event each
 * move writes in the alert's log, and the effects it owes (started or stopped escalations today;
 * routing, notifications and tickets plug in later). The stores write exactly what this table says:
 * their statements take states, event types and effect kinds from here, never as literals.
 */

/** An alert is open while triggered or acknowledged; resolved is final (a new trigger opens a new alert). */
export type AlertStatus = "triggered" | "acknowledged" | "resolved";

export const ALERT_STATUSES: readonly AlertStatus[] = ["triggered", "acknowledged", "resolved"];

/** The status of a new alert, and the only one in which an alert escalates. */
export const TRIGGERED: AlertStatus = "triggered";
/** The final status: the open-alert unique index (service, dedup key) leaves these out. */
export const RESOLVED: AlertStatus = "resolved";
/** Statuses of an open alert (one per service and dedup key). */
export const OPEN_STATUSES: readonly AlertStatus[] = ["triggered", "acknowledged"];

/** Every entry an alert's log can hold: a closed list, so a reader can rely on it. */
export const ALERT_EVENT_TYPES = [
  "created",
  "duplicate_suppressed",
  "acknowledged",
  "resolved",
  "note_added",
  "escalation_started",
  "escalated",
  "no_one_to_notify",
  "escalated_manually",
  "escalation_completed",
  "escalation_failed",
  // Routing (domain/routing/rules.ts): the decision is the entry's data.
  "routed",
  "suppressed",
  "aggregated",
  "unrouted",
  // A maintenance window that suppressed the alert ended: it is routed again (domain/maintenance).
  "maintenance_ended",
  "no_contact_method",
  "notification_failed",
] as const;

export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** Log entries that mean "the escalation made progress" (a failure streak ends at one of these). */
export const ESCALATION_PROGRESS_EVENTS: readonly AlertEventType[] = [
  "escalation_started",
  "escalated",
  "no_one_to_notify",
  "escalated_manually",
];

/**
 * Reactions owed after an alert change, written to the effects outbox by the statement that makes
 * the change and run right after the commit (or by housekeeping after a crash). Effect handlers are
 * idempotent: an effect may run more than once, its result happens once.
 */
export const EFFECT_KINDS = [
  /** A new alert is routed: rules and maintenance decide its policy (then `escalation.start`). */
  "route",
  "escalation.start",
  "escalation.stop",
  /** The notifications an escalation step recorded become deliveries (written by the step's statement). */
  "notifications.deliver",
  /** Those paged for the alert who opted in hear it was acknowledged or resolved; pending pages stop. */
  "notifications.status_update",
] as const;

export type EffectKind = (typeof EFFECT_KINDS)[number];

/** An effect written to the outbox, as its runner gets it. */
export interface OwedEffect {
  readonly id: number;
  readonly kind: EffectKind;
  /** The service of its alerts (all alerts of one effect belong to one service), when known. */
  readonly serviceId: string | null;
  readonly alertIds: readonly number[];
  /** Kind-specific input, e.g. `{ policyId }` for `escalation.start`. */
  readonly payload: unknown;
  /** Failed runs so far. */
  readonly attempts: number;
}

/** What can happen to an alert. */
export type AlertTransition =
  | "trigger"
  | "deduplicate"
  | "acknowledge"
  | "resolve"
  | "auto_resolve"
  | "aggregate";

export interface TransitionRule {
  /** The statuses the transition starts from; from any other status it changes nothing. */
  readonly from: readonly AlertStatus[];
  /** The status it moves to; null: the alert keeps its status (a repeated trigger). */
  readonly to: AlertStatus | null;
  /** The entry it writes in the alert's log. */
  readonly event: AlertEventType;
  /** The effects it owes, in order. */
  readonly effects: readonly EffectKind[];
}

/**
 * The transition table. `trigger` opens a new alert (from no alert, or after the previous one with
 * the same dedup key was resolved) and owes its routing, which decides whether and along which
 * policy it escalates (the route handler writes the `escalation.start` effects it chose);
 * `deduplicate` is a trigger absorbed by the open alert; `aggregate` is routing folding a new alert
 * into an earlier one (closed here, counted there).
 */
export const TRANSITIONS = {
  trigger: { from: [], to: "triggered", event: "created", effects: ["route"] },
  deduplicate: { from: OPEN_STATUSES, to: null, event: "duplicate_suppressed", effects: [] },
  acknowledge: {
    from: ["triggered"],
    to: "acknowledged",
    event: "acknowledged",
    effects: ["escalation.stop", "notifications.status_update"],
  },
  resolve: {
    from: OPEN_STATUSES,
    to: "resolved",
    event: "resolved",
    effects: ["escalation.stop", "notifications.status_update"],
  },
  auto_resolve: {
    from: OPEN_STATUSES,
    to: "resolved",
    event: "resolved",
    effects: ["escalation.stop", "notifications.status_update"],
  },
  aggregate: { from: ["triggered"], to: "resolved", event: "aggregated", effects: [] },
} as const satisfies Readonly<Record<AlertTransition, TransitionRule>>;

/** The actor of changes the system makes by itself (auto-resolve, escalation steps). */
export const SYSTEM_ACTOR = "system";

/** The log message of an auto-resolve after `days` days without a signal. */
export function autoResolveMessage(days: number): string {
  return `auto-resolved: no signal for more than ${days} day${days === 1 ? "" : "s"}`;
}
