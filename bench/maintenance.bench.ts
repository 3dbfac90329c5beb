// The maintenance verdict routing asks per new alert, once the windows are cached (the version stamp
// is read at most once per 5 s, so that read is not per alert): 100 live windows (one-off and weekly,
// scopes of services, Prometheus-style matchers and CEL) against one new alert. Baseline in the same
// run: JSON.stringify of the alert. Each alert is a new object, as at ingest.
//
//   node bench/maintenance.bench.ts            (npm run bench runs every benchmark)
import {
  type CompiledWindow,
  compileWindow,
  type MaintenanceWindow,
  maintenanceVerdict,
} from "../functions/domain/maintenance/windows.ts";
import type { RoutableAlert } from "../functions/domain/routing/model.ts";
import { fmt, median } from "./support.ts";

const WINDOWS = 100;
const ALERTS_PER_ROUND = 2_000;
const rounds = 9;
const services = Array.from(
  { length: 20 },
  (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
);

function windowOf(i: number): MaintenanceWindow {
  const base = {
    id: `w${i}`,
    name: `window ${i}`,
    reason: "planned",
    owner: "u-ops",
    action: i % 3 === 0 ? ("annotate" as const) : ("suppress" as const),
    cancelledAt: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
    createdBy: "admin",
    updatedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
    updatedBy: "admin",
  };
  const schedule =
    i % 2 === 0
      ? {
          kind: "once" as const,
          startAt: new Date("2026-07-15T08:00:00Z"),
          endAt: new Date("2026-07-15T18:00:00Z"),
        }
      : {
          kind: "weekly" as const,
          zone: i % 4 === 1 ? "Europe/Berlin" : "America/New_York",
          weekdays: [1, 2, 3, 4, 5],
          startTime: "09:00",
          durationMinutes: 240,
          from: new Date("2026-01-01T00:00:00Z"),
          until: null,
        };
  const scope =
    i % 5 === 4
      ? {
          serviceIds: [],
          labelMatchers: [],
          cel: `alert.severity == "info" && alert.labels.team == "t${i % 10}"`,
        }
      : {
          serviceIds: [services[i % services.length]!],
          labelMatchers: [`env=~"staging|dev"`, `team!="t${i % 7}"`],
          cel: "",
        };
  return { ...base, schedule, scope };
}

const compiled: CompiledWindow[] = Array.from({ length: WINDOWS }, (_, i) => compileWindow(windowOf(i)));
let serial = 0;
function makeAlert(): RoutableAlert {
  const n = serial++;
  return {
    id: n,
    serviceId: services[n % services.length]!,
    summary: "disk full",
    details: "",
    severity: n % 4 ? "critical" : "info",
    source: "alertmanager",
    dedupKey: `fp-${n}`,
    labels: { env: n % 3 ? "prod" : "staging", team: `t${n % 10}`, instance: `db-${n % 7}` },
    annotations: {},
    createdAt: new Date("2026-07-15T10:00:00Z"),
  };
}

const now = new Date("2026-07-15T10:00:00Z"); // a Wednesday: every one-off and weekly window active
let sink = 0;
function perAlertMicros(fn: (a: RoutableAlert) => void): number {
  const alerts = Array.from({ length: ALERTS_PER_ROUND }, makeAlert);
  const started = performance.now();
  for (const a of alerts) fn(a);
  return ((performance.now() - started) * 1000) / alerts.length;
}
const verdict = (a: RoutableAlert) => {
  if (maintenanceVerdict(compiled, a, now).action !== "none") sink++;
};
const stringify = (a: RoutableAlert) => {
  sink += JSON.stringify(a).length;
};
for (let i = 0; i < 3; i++) {
  perAlertMicros(verdict);
  perAlertMicros(stringify);
}
const v: number[] = [];
const s: number[] = [];
for (let round = 0; round < rounds; round++) {
  s.push(perAlertMicros(stringify));
  v.push(perAlertMicros(verdict));
}
const mv = median(v);
const ms = median(s);
console.log(
  `maintenance verdict: ${WINDOWS} cached live windows × one new alert, ${rounds} rounds × ${fmt(ALERTS_PER_ROUND)} alerts`,
);
console.log(`  verdict: ${fmt(mv, 2)} µs per alert`);
console.log(`  baseline JSON.stringify(alert): ${fmt(ms, 2)} µs per alert  → verdict ${fmt(mv / ms, 1)}×`);
console.log(`  (${sink > 0 ? "some alerts in maintenance" : "no alert in maintenance: check the set"})`);
