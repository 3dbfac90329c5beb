/**
 * Schedules benchmark (pure domain, no I/O): a New York schedule with three rules (a weekly primary
 * rotation around the clock, a 12-hour secondary rotation on weekday office hours, a user at weekends)
 * and 50 overrides spread over the year.
 *
 * - `listShifts` over one year: median of RUNS runs, in ms, beside two baselines measured in the same
 *   run: `rotationShifts` of both rotations over the year (the handoff grid alone), and a bare sort +
 *   sweep over as many boundaries as the listing has.
 * - `onCallAt`: µs per call over CALLS calls at instants spread over the year, beside
 *   `rotationShiftAt` of the primary rotation at the same instants (which, like `onCallAt`, validates
 *   and compiles its input on every call).
 *
 * Run: `node bench/schedules.bench.ts` (Node 24: `PATH=$PWD/node_modules/.bin:$PATH`).
 * Issue 4's targets: listShifts over a year < 50 ms; onCallAt < 50 µs.
 */
import {
  listShifts,
  type Override,
  onCallAt,
  type Rotation,
  rotationShiftAt,
  rotationShifts,
  type Schedule,
} from "../functions/domain/schedules/index.ts";

const RUNS = Number(process.env.RUNS ?? 31);
const CALLS = Number(process.env.CALLS ?? 20_000);
const LIST_TARGET_MS = 50;
const ONCALL_TARGET_US = 50;

const yearStart = new Date("2026-01-01T00:00:00-05:00");
const yearEnd = new Date("2027-01-01T00:00:00-05:00");
const yearMs = yearEnd.getTime() - yearStart.getTime();

const primary: Rotation = {
  participants: ["alice", "bob", "carol", "dave", "erin"],
  shiftLength: { count: 1, unit: "week" },
  start: new Date("2025-12-29T09:00:00-05:00"),
  timeZone: "America/New_York",
};
const secondary: Rotation = {
  participants: ["frank", "grace", "heidi"],
  shiftLength: { count: 12, unit: "hour" },
  start: new Date("2025-12-29T09:00:00-05:00"),
  timeZone: "America/New_York",
};
const rotations = new Map([
  ["primary", primary],
  ["secondary", secondary],
]);
const schedule: Schedule = {
  timeZone: "America/New_York",
  rules: [
    {
      target: { kind: "rotation", rotationId: "primary" },
      weekdays: [0, 1, 2, 3, 4, 5, 6],
      start: "00:00",
      end: "00:00",
    },
    {
      target: { kind: "rotation", rotationId: "secondary" },
      weekdays: [1, 2, 3, 4, 5],
      start: "09:00",
      end: "17:00",
    },
    { target: { kind: "user", userId: "wendy" }, weekdays: ["sat", "sun"], start: "08:00", end: "20:00" },
  ],
};

// 50 overrides, deterministic (a small LCG), 1 h to 3 days long, of every kind.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const people = [...primary.participants, ...secondary.participants, "wendy"];
const pick = () => people[Math.floor(random() * people.length)]!;
const overrides: Override[] = Array.from({ length: 50 }, (_, i): Override => {
  const start = new Date(
    yearStart.getTime() + Math.floor((random() * (yearMs - 3 * 86_400_000)) / 3_600_000) * 3_600_000,
  );
  const end = new Date(start.getTime() + (1 + Math.floor(random() * 72)) * 3_600_000);
  const userId = `cover-${i % 7}`;
  switch (i % 3) {
    case 0:
      return { kind: "add", userId, start, end };
    case 1:
      return { kind: "remove", userId: pick(), start, end };
    default:
      return { kind: "replace", userId, replacesUserId: pick(), start, end };
  }
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time of `runs` calls of `fn`, in ms, after `warmup` unmeasured calls. */
function timeMedian(fn: () => unknown, runs: number, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

let sink = 0;

// --- listShifts over a year -------------------------------------------------------------------
const coldStart = performance.now();
const shifts = listShifts(schedule, rotations, overrides, yearStart, yearEnd);
const coldMs = performance.now() - coldStart;
const boundaries = 2 * shifts.length;

const listMs = timeMedian(() => {
  sink += listShifts(schedule, rotations, overrides, yearStart, yearEnd).length;
}, RUNS);
const handoffsMs = timeMedian(() => {
  sink +=
    rotationShifts(primary, yearStart, yearEnd).length + rotationShifts(secondary, yearStart, yearEnd).length;
}, RUNS);
const edges = Array.from({ length: boundaries }, () => yearStart.getTime() + Math.floor(random() * yearMs));
const sweepMs = timeMedian(() => {
  const sorted = [...edges].sort((a, b) => a - b);
  let open = 0;
  for (let i = 0; i < sorted.length - 1; i++) if (sorted[i + 1]! > sorted[i]!) open++;
  sink += open;
}, RUNS);

// --- onCallAt ---------------------------------------------------------------------------------
const instants = Array.from(
  { length: CALLS },
  () => new Date(yearStart.getTime() + Math.floor(random() * yearMs)),
);
const perCallUs = (fn: (at: Date) => unknown) =>
  timeMedian(
    () => {
      for (const at of instants) fn(at);
    },
    Math.max(5, Math.floor(RUNS / 3)),
    1,
  ) *
  (1000 / CALLS);
const onCallUs = perCallUs((at) => {
  sink += onCallAt(schedule, rotations, overrides, at).length;
});
const shiftAtUs = perCallUs((at) => {
  sink += rotationShiftAt(primary, at)?.index ?? 0;
});

// --- report -----------------------------------------------------------------------------------
const verdict = (ok: boolean) => (ok ? "ok" : "OVER TARGET");
const fmt = (n: number, digits = 2) => n.toFixed(digits);
console.log(`schedules bench — Node ${process.version}, ${RUNS} runs, ${CALLS} onCallAt calls per run`);
console.log(
  `schedule: 3 rules, 2 rotations, ${overrides.length} overrides; one year → ${shifts.length} shifts`,
);
console.log("");
console.log(
  `listShifts, 1 year        median ${fmt(listMs)} ms   (first, cold: ${fmt(coldMs)} ms)   target < ${LIST_TARGET_MS} ms: ${verdict(listMs < LIST_TARGET_MS)}`,
);
console.log(
  `  baseline rotationShifts  median ${fmt(handoffsMs, 3)} ms   ratio ×${fmt(listMs / handoffsMs, 1)}`,
);
console.log(
  `  baseline sort+sweep      median ${fmt(sweepMs, 3)} ms   ratio ×${fmt(listMs / sweepMs, 1)}  (${boundaries} boundaries)`,
);
console.log(
  `onCallAt                  ${fmt(onCallUs)} µs/call   target < ${ONCALL_TARGET_US} µs: ${verdict(onCallUs < ONCALL_TARGET_US)}`,
);
console.log(`  baseline rotationShiftAt ${fmt(shiftAtUs)} µs/call   ratio ×${fmt(onCallUs / shiftAtUs, 1)}`);
if (sink === Number.MIN_SAFE_INTEGER) console.log("");
