/**
 * How many provider calls one process makes at once, and how much it has claimed but not yet sent.
 *
 * Why: a send's timeout must measure the provider, not our own queue. Without a cap the embedded
 * worker had up to 32 claims × 16 sends in flight, each send's timer running while it waited behind
 * PGlite work and the other sends; under load sends timed out, went again (duplicates at the
 * receiver) and ended `failed`. With slots, a send starts its timer when it gets one (see
 * `sendWithTimeout`), and a claim's lease covers the sends owed ahead of it (`claimLeaseMs`).
 *
 * One per process (the runtime composes it into `DeliveryRuntime.sendSlots`): the embedded worker,
 * direct calls of the use case and the SQS sender of a warm Lambda share it.
 */
export interface SendSlots {
  /** Provider calls at once. */
  readonly size: number;
  /** Sends waiting for a slot. */
  readonly waiting: number;
  /** Messages (one per destination) this process claimed and has not recorded yet: the sends ahead. */
  readonly owed: number;
  /** Counts `n` more messages owed (before a claim, so that concurrent claims count each other). */
  owe(n: number): void;
  /** `n` of the owed messages are recorded (or were not claimed after all). */
  settle(n: number): void;
  /** True while as many messages are owed as there are slots: claiming more would only queue them. */
  busy(): boolean;
  /** Resolves once the process is not busy (at once when it is not). */
  notBusy(): Promise<void>;
  /** Runs `send` once a slot is free, first come first served. */
  run<T>(send: () => Promise<T>): Promise<T>;
}

/** Provider calls at once per process (README "Delivery"): enough for a local receiver to be the
 * limit in bench/delivery.bench.ts, few enough that PGlite's work between them stays short. */
export const DEFAULT_SEND_SLOTS = 32;

export function createSendSlots(size: number = DEFAULT_SEND_SLOTS): SendSlots {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`send slots must be ≥ 1, got ${size}`);
  let active = 0;
  let owed = 0;
  const waiting: (() => void)[] = [];
  let notBusyWaiters: (() => void)[] = [];
  const wakeIfNotBusy = () => {
    if (owed >= size || notBusyWaiters.length === 0) return;
    const waiters = notBusyWaiters;
    notBusyWaiters = [];
    for (const resolve of waiters) resolve();
  };
  return {
    size,
    get waiting() {
      return waiting.length;
    },
    get owed() {
      return owed;
    },
    owe(n) {
      owed += n;
    },
    settle(n) {
      owed = Math.max(0, owed - n);
      wakeIfNotBusy();
    },
    busy: () => owed >= size,
    notBusy: () =>
      owed < size ? Promise.resolve() : new Promise<void>((resolve) => notBusyWaiters.push(resolve)),
    async run(send) {
      if (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await send();
      } finally {
        // The slot passes straight to the next in line (active unchanged), or is freed.
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
