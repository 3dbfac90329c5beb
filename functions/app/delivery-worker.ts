import { logger } from "../adapters/observability.ts";
import type { Clock } from "../domain/clock.ts";
import type { SendResult } from "./deliveries.ts";
import type { DeliveryQueue } from "./delivery-runtime.ts";

/**
 * The embedded runtime's sender: one loop over the deliveries table (the truth), running the same
 * `sendDueDeliveries` use case as the SQS sender Lambda. Woken when deliveries are announced (right
 * after planning, or a retry), it sleeps otherwise until the next one is due, at most `pollMs` (a
 * row written by another process, an expired lease). One loop per process: the embedded runtime owns
 * its data folder alone; with DATABASE_URL shared, the claim's `skip locked` keeps two apart.
 */
export interface DeliveryWorker extends DeliveryQueue {
  start(): void;
  /** Stops the loop after the pass in progress. */
  stop(): Promise<void>;
}

export function createDeliveryWorker(input: {
  send(limit: number): Promise<SendResult>;
  nextDueAt(): Promise<Date | undefined>;
  clock: Clock;
  /** Longest sleep between passes. */
  pollMs: number;
  /** Deliveries claimed per pass. */
  batch: number;
}): DeliveryWorker {
  let running = false;
  let woken = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

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
    woken = false;
    let result: SendResult;
    try {
      result = await input.send(input.batch);
    } catch (error) {
      logger.warn("delivery pass failed; trying again shortly", { error: error as Error });
      await sleep(input.pollMs);
      return;
    }
    if (result.claimed >= input.batch || woken) return;
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
    },
  };
}
