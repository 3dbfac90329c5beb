/**
 * Maintenance windows: while one is active, alerts in its scope are suppressed (stored, visible,
 * not escalated) or annotated (escalated, marked "in maintenance"). The routing of a new alert asks
 * for the verdict; when a window ends, the open alerts it suppressed are routed again.
 */
import type { RoutableAlert } from "../routing/model.ts";

export type MaintenanceAction = "suppress" | "annotate";

export type MaintenanceVerdict =
  | { readonly action: "none" }
  | {
      readonly action: MaintenanceAction;
      readonly windowId: string;
      readonly windowName: string;
      readonly reason: string;
    };

/** What routing asks (cached by the implementation: no database round trip per alert). */
export interface MaintenanceCheck {
  verdictFor(alert: RoutableAlert, now: Date): Promise<MaintenanceVerdict>;
  /** The verdicts of a batch, in its order (one wait for the whole batch instead of one per alert). */
  verdictsFor(alerts: readonly RoutableAlert[], now: Date): Promise<MaintenanceVerdict[]>;
}
