import { describe, expect, it } from "vitest";
import { createFixedClock } from "../domain/clock.ts";
import { createDeliveryWorker } from "./delivery-worker.ts";
import { createSendSlots } from "./send-slots.ts";

// The embedded worker claims only while the process's send slots are not all owed: what it claims
// then waits for one round of sends at most (it had up to 32 claims × 16 sends in flight, each send's
// timer running while it queued). Claims and sends are the test's own; nothing waits on the clock.

const ticks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("createDeliveryWorker", () => {
  it("claims no more while the send slots are busy, and again once a send is recorded", async () => {
    const slots = createSendSlots(2);
    const claims: number[] = [];
    const held: (() => void)[] = [];
    const worker = createDeliveryWorker<number>({
      // Every claim finds one message due (as under load), owed to the slots until its send ends.
      claim: async (limit) => {
        await new Promise((r) => setImmediate(r));
        claims.push(limit);
        slots.owe(1);
        return [claims.length];
      },
      send: (claimed) =>
        new Promise<void>((resolve) =>
          held.push(() => {
            slots.settle(claimed.length);
            resolve();
          }),
        ),
      nextDueAt: async () => undefined,
      clock: createFixedClock("2026-11-29T10:00:00Z"),
      pollMs: 3_600_000,
      batch: 200,
      slots,
    });
    worker.start();
    await ticks();
    // Two messages owed, two slots: busy. Announcements do not make it claim more.
    expect(claims).toEqual([200, 200]);
    await worker.announce([{ id: 1, dueAt: new Date() }]);
    await ticks();
    expect(claims).toHaveLength(2);
    // One recorded: room for one more claim, and then busy again.
    held.shift()!();
    await ticks();
    expect(claims).toHaveLength(3);
    for (const release of held.splice(0)) release();
    const stopped = worker.stop();
    await ticks();
    for (const release of held.splice(0)) release();
    await stopped;
  });
});
