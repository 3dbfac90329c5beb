// The condition engine: 1,000 compiled conditions (a mix of structured matchers, RE2 regexes, CEL with
// has()/label()/local time, time windows) evaluated against one alert, every rule (no rule terminal: the
// worst case), per alert. Each alert is a new object, as at ingest (its CEL view is built once per alert
// and shared by the rules). Baselines in the same run: 1,000 hand-written JS predicates doing the same
// kind of comparisons, and JSON.stringify of the alert. Goal (issue 13): ≤ 1 ms per alert.
//
// Then the whole rule set as the route path runs it per alert: 1,000 compiled rules (compileRules of
// app/routing.ts, with a stored-calendar list), scoped (a fifth to other services), some disabled,
// with actions (route, set labels, set severity, notify, ticket), none terminal; evaluateRules under
// the route path's per-alert time budget, the maintenance verdict (10 compiled windows) and
// decideRouting — everything routeOne does between the load and the write. Same baselines.
//
//   node bench/routing.bench.ts            (npm run bench runs every benchmark)
import { compileRules, ROUTING_BUDGET_MS_PER_ALERT, timeBudget } from "../functions/app/routing.ts";
import {
  compileWindow,
  type MaintenanceWindow,
  maintenanceVerdict,
} from "../functions/domain/maintenance/windows.ts";
import { compileCondition } from "../functions/domain/routing/conditions.ts";
import type {
  BusinessCalendar,
  CompiledCondition,
  Condition,
  RoutableAlert,
} from "../functions/domain/routing/model.ts";
import {
  decideRouting,
  evaluateRules,
  type RuleAction,
  type RuleDraft,
} from "../functions/domain/routing/rules.ts";
import { fmt, median } from "./support.ts";

const RULES = 1_000;
const ALERTS_PER_ROUND = 200;
const rounds = 9;

const calendars: BusinessCalendar[] = [
  {
    name: "eu",
    zone: "Europe/Berlin",
    windows: [{ weekdays: [1, 2, 3, 4, 5], start: "09:00", end: "17:00" }],
    holidays: [],
  },
];

function conditionFor(i: number): Condition {
  const team = `team-${i % 50}`;
  switch (i % 5) {
    case 0:
      return {
        matchers: [
          { field: { kind: "label", name: "team" }, operator: "equals", value: team },
          { field: { kind: "severity" }, operator: "in", values: ["critical", "error"] },
        ],
      };
    case 1:
      return {
        matchers: [
          { field: { kind: "label", name: "instance" }, operator: "regex", value: `db-${i % 7}\\..*` },
        ],
      };
    case 2:
      return { matchers: [], cel: `alert.severity == "critical" && alert.labels.team == "${team}"` };
    case 3:
      return {
        matchers: [
          { field: { kind: "label", name: "disk_pct" }, operator: "greater_than", value: String(i % 100) },
        ],
        cel: `has(alert.labels.env) && alert.label("env", "") != "staging" && localHour(now, "Europe/Berlin") < ${i % 24}`,
      };
    default:
      return {
        matchers: [],
        cel: `alert.summary.matches("disk|cpu") && inBusinessHours("eu")`,
        time: {
          zone: "America/New_York",
          windows: [{ weekdays: [1, 2, 3, 4, 5], start: "08:00", end: "18:00" }],
        },
      };
  }
}

const compiled: CompiledCondition[] = [];
for (let i = 0; i < RULES; i++) {
  const result = compileCondition(conditionFor(i), { calendars });
  if (!result.ok) throw new Error(`rule ${i}: ${JSON.stringify(result.problems)}`);
  compiled.push(result.condition);
}

// Hand-written equivalents for the baseline (no CEL, no RE2, no zones): the floor of "1,000 checks".
const predicates: ((a: RoutableAlert) => boolean)[] = Array.from({ length: RULES }, (_, i) => {
  const team = `team-${i % 50}`;
  return (a) => a.labels.team === team && (a.severity === "critical" || a.severity === "error");
});

function makeAlert(n: number): RoutableAlert {
  return {
    id: n,
    serviceId: "svc-1",
    summary: n % 2 ? "disk full on db-1" : "cpu high",
    details: "details",
    severity: n % 3 ? "critical" : "warning",
    source: "alertmanager",
    dedupKey: `fp-${n}`,
    labels: {
      team: `team-${n % 50}`,
      env: n % 4 ? "prod" : "staging",
      instance: `db-${n % 7}.internal`,
      disk_pct: String(n % 100),
      alertname: "DiskFull",
      job: "node",
    },
    annotations: { runbook: "https://runbooks/disk" },
    createdAt: new Date(Date.parse("2026-07-15T10:00:00Z") + n * 1000),
  };
}

const now = new Date("2026-07-15T10:00:00Z");
let sink = 0;
function perAlertMs(alerts: RoutableAlert[], evaluateAll: (a: RoutableAlert) => void): number {
  const started = performance.now();
  for (const a of alerts) evaluateAll(a);
  return (performance.now() - started) / alerts.length;
}
const engine = (a: RoutableAlert) => {
  for (const c of compiled) if (c.evaluate(a, now).matched) sink++;
};
const plain = (a: RoutableAlert) => {
  for (const p of predicates) if (p(a)) sink++;
};
const stringify = (a: RoutableAlert) => {
  sink += JSON.stringify(a).length;
};

let serial = 0;
const freshAlerts = () => Array.from({ length: ALERTS_PER_ROUND }, () => makeAlert(serial++));
for (let i = 0; i < 3; i++) {
  const warm = freshAlerts();
  perAlertMs(warm, engine);
  perAlertMs(warm, plain);
  perAlertMs(warm, stringify);
}

const engineMs: number[] = [];
const plainMs: number[] = [];
const stringifyMs: number[] = [];
let errors = 0;
for (let round = 0; round < rounds; round++) {
  plainMs.push(perAlertMs(freshAlerts(), plain));
  stringifyMs.push(perAlertMs(freshAlerts(), stringify));
  engineMs.push(perAlertMs(freshAlerts(), engine));
}
for (const c of compiled) if (c.evaluate(makeAlert(1), now).error) errors++;

// ---- The rule set as the route path evaluates it --------------------------------------------------

function actionsFor(i: number): RuleAction[] {
  switch (i % 5) {
    case 0:
      return [{ kind: "route", policyId: `policy-${i % 7}` }];
    case 1:
      return [{ kind: "set_labels", labels: { routed_by: `rule-${i}` } }];
    case 2:
      return [{ kind: "set_severity", severity: "error" }];
    case 3:
      return [{ kind: "notify_channel", channelId: `channel-${i % 3}` }];
    default:
      return [{ kind: "create_ticket", system: "jira", project: "OPS" }];
  }
}
const drafts: (RuleDraft & { id: string })[] = Array.from({ length: RULES }, (_, i) => ({
  id: `rule-${i}`,
  name: `rule ${i}`,
  description: "",
  enabled: i % 50 !== 0,
  serviceIds: i % 5 === 4 ? [`svc-${i % 9}`] : undefined,
  condition: conditionFor(i),
  actions: actionsFor(i),
  terminal: false,
}));
const ruleSet = compileRules(drafts, calendars);
const problems = ruleSet.filter((r) => "problem" in r.condition).length;
if (problems > 0) throw new Error(`${problems} rules do not compile`);
const windows = Array.from({ length: 10 }, (_, i) =>
  compileWindow({
    id: `w-${i}`,
    name: `window ${i}`,
    reason: "bench",
    owner: "u",
    action: i % 2 ? "suppress" : "annotate",
    schedule: {
      kind: "once",
      startAt: new Date("2026-07-16T00:00:00Z"),
      endAt: new Date("2026-07-16T02:00:00Z"),
    },
    scope: { serviceIds: [`svc-${i}`], labelMatchers: [`env="maint-${i}"`], cel: "" },
    cancelledAt: null,
    createdBy: "u",
    createdAt: now,
    updatedBy: "u",
    updatedAt: now,
  } satisfies MaintenanceWindow),
);
let exhausted = 0;
const routeOneAlert = (a: RoutableAlert) => {
  const evaluation = evaluateRules(ruleSet, a, now, timeBudget(ROUTING_BUDGET_MS_PER_ALERT));
  if (evaluation.budgetExhausted) exhausted++;
  const decision = decideRouting(a, evaluation, maintenanceVerdict(windows, a, now), "policy-default");
  sink += evaluation.evaluated + decision.notify.length;
};
for (let i = 0; i < 3; i++) perAlertMs(freshAlerts(), routeOneAlert);
exhausted = 0;
const ruleSetMs: number[] = [];
const plainMs2: number[] = [];
const engineMs2: number[] = [];
const evaluateOnlyMs: number[] = [];
// Interleaved with the condition engine and evaluateRules alone, so machine noise hits all alike.
const evaluateOnly = (a: RoutableAlert) => {
  sink += evaluateRules(ruleSet, a, now).evaluated;
};
for (let round = 0; round < rounds; round++) {
  plainMs2.push(perAlertMs(freshAlerts(), plain));
  engineMs2.push(perAlertMs(freshAlerts(), engine));
  evaluateOnlyMs.push(perAlertMs(freshAlerts(), evaluateOnly));
  ruleSetMs.push(perAlertMs(freshAlerts(), routeOneAlert));
}
const sample = evaluateRules(ruleSet, makeAlert(1), now);

const e = median(engineMs);
const p = median(plainMs);
const s = median(stringifyMs);
console.log(
  `condition engine: ${fmt(RULES)} compiled conditions (1/5 matchers, 1/5 RE2 regex matcher, 1/5 CEL, 1/5 matcher+CEL with has/label/localHour, 1/5 CEL matches+inBusinessHours with a time window) × one alert, ${rounds} rounds × ${ALERTS_PER_ROUND} new alerts`,
);
console.log(
  `  engine:   ${fmt(e, 3)} ms per alert (${fmt((e * 1000) / RULES, 2)} µs per condition)  goal ≤ 1 ms`,
);
console.log(`  baseline 1,000 plain JS predicates: ${fmt(p, 3)} ms per alert  → engine ${fmt(e / p, 1)}×`);
console.log(
  `  baseline JSON.stringify(alert):     ${fmt(s * 1000, 2)} µs per alert  → engine ${fmt(e / s, 0)}×`,
);
console.log(`  (evaluation errors in the set: ${errors}; sink ${sink > 0 ? "ok" : "empty"})`);
const r = median(ruleSetMs);
const p2 = median(plainMs2);
console.log(
  `rule set as routed: ${fmt(RULES)} compiled rules (a fifth scoped to other services, 2% disabled, actions route/set_labels/set_severity/notify_channel/create_ticket, none terminal) + 10 maintenance windows + the decision, per alert`,
);
console.log(
  `  rule set: ${fmt(r, 3)} ms per alert  goal ≤ 1 ms  (budget ${ROUTING_BUDGET_MS_PER_ALERT} ms: exhausted for ${exhausted} of ${rounds * ALERTS_PER_ROUND} alerts)`,
);
console.log(
  `  baseline 1,000 plain JS predicates: ${fmt(p2, 3)} ms per alert  → rule set ${fmt(r / p2, 1)}×`,
);
console.log(
  `  same rounds: condition engine alone ${fmt(median(engineMs2), 3)} ms, evaluateRules without budget or decision ${fmt(median(evaluateOnlyMs), 3)} ms  → rule set ${fmt(r / median(engineMs2), 2)}× the engine`,
);
console.log(
  `  (one alert: ${sample.evaluated} rules evaluated, ${sample.results.filter((x) => x.outcome === "matched").length} matched, ${sample.actions.length} actions)`,
);
