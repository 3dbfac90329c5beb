import { logger } from "../adapters/observability.ts";
import type { Clock } from "../domain/clock.ts";
import type { DeliveryQueue } from "./delivery-runtime.ts";
import type { SendSlots } from "./send-slots.ts";

/**
 * The embedded runtime's sender: one loop over the deliveries table (the truth), running the same
 * claim and send use cases as the SQS sender Lambda. Each pass claims what is due and hands it to a
 * send that runs on its own, so a slow destination never holds back the next pass; but a pass claims
 * only while the process's send slots are not all owed (app/send-slots.ts): what it claims then
 * queues behind less than one round of sends, not behind hundreds (it had up to 32 claims × 16
 * sends in flight), and its lease covers its own rounds (`claimLeaseMs`). The loop
 * is woken when deliveries are announced (right after planning) and sleeps otherwise until the next
 * one is due, at most `pollMs` (a row another process wrote, an expired lease). One loop per
 * process; with a shared DATABASE_URL the claim's `skip locked` keeps two apart.
 */
export interface DeliveryWorker extends DeliveryQueue {
  start(): void;
  /** Stops the loop and waits for the sends in flight. */
  stop(): Promise<void>;
}

export function createDeliveryWorker<C>(input: {
  /** Claims up to `limit` due deliveries (leased to this process). */
  claim(limit: number): Promise<readonly C[]>;
  /** Sends what a claim took. */
  send(claimed: readonly C[]): Promise<unknown>;
  nextDueAt(): Promise<Date | undefined>;
  clock: Clock;
  /** Longest sleep between passes. */
  pollMs: number;
  /** Deliveries claimed per pass (big enough that a storm's rows to one destination go as one bundle). */
  batch: number;
  /** The process's send slots: no claim while they are busy. */
  slots: Pick<SendSlots, "busy" | "notBusy">;
}): DeliveryWorker {
  let running = false;
  let woken = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function pass(): Promise<void> {
    if (input.slots.busy()) {
      await input.slots.notBusy();
      return;
    }
    woken = false;
    let claimed: readonly C[];
    try {
      claimed = await input.claim(input.batch);
    } catch (error) {
      logger.warn("delivery claim failed; trying again shortly", { error: error as Error });
      await sleep(input.pollMs);
      return;
    }
    if (claimed.length > 0) {
      const sending = input
        .send(claimed)
        .catch((error: unknown) => logger.error("delivery send failed", { error: error as Error }))
        .finally(() => {
          inFlight.delete(sending);
          // A send that ended may have left a retry or a throttled row due soon: look again.
          woken = true;
          wake?.();
        });
      inFlight.add(sending);
      return;
    }
    if (woken) return;
    let wait = input.pollMs;
    try {
      const next = await input.nextDueAt();
      if (next) wait = Math.min(wait, next.getTime() - input.clock.now().getTime());
    } catch (error) {
      logger.warn("could not read the next due delivery", { error: error as Error });
    }
    if (woken) return;
    await sleep(wait);
  }

  return {
    async announce(due) {
      if (due.length === 0) return;
      woken = true;
      wake?.();
    },
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) await pass();
      })();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
