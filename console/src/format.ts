import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AlertStatus, Severity } from "../../functions/gen/oncall/v1/alerts_pb.ts";

export const statusLabel: Record<number, string> = {
  [AlertStatus.TRIGGERED]: "Triggered",
  [AlertStatus.ACKNOWLEDGED]: "Acknowledged",
  [AlertStatus.RESOLVED]: "Resolved",
};

export const severityLabel: Record<number, string> = {
  [Severity.CRITICAL]: "Critical",
  [Severity.ERROR]: "Error",
  [Severity.WARNING]: "Warning",
  [Severity.INFO]: "Info",
  [Severity.UNSPECIFIED]: "—",
};

export const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

export function formatTime(ts: Timestamp | Date | undefined): string {
  if (!ts) return "—";
  const d = ts instanceof Date ? ts : timestampDate(ts);
  return dateTime.format(d);
}

export function formatClock(d: Date): string {
  return timeOnly.format(d);
}

/** "5 min ago", "in 3 h": a rough relative time for lists. */
export function relative(ts: Timestamp | Date | undefined, now = Date.now()): string {
  if (!ts) return "—";
  const d = ts instanceof Date ? ts : timestampDate(ts);
  const diff = d.getTime() - now;
  const abs = Math.abs(diff);
  const unit =
    abs < 60_000
      ? "less than a minute"
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000 * 2
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} days`;
  return diff < 0 ? `${unit} ago` : `in ${unit}`;
}

/** `team=db, env=prod` → { team: "db", env: "prod" }; undefined when a part has no `=`. */
export function parseLabels(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf("=");
    if (i <= 0) return undefined;
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}

/** A value for <input type="datetime-local"> in the viewer's zone. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
