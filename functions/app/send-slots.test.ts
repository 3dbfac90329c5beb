import { describe, expect, it } from "vitest";
import { createSendSlots } from "./send-slots.ts";

// The process's send slots: at most `size` sends at once, the rest served in arrival order; what is
// owed (claimed, not yet recorded) makes the process busy at `size`.

/** A send the test finishes itself. */
function held() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { done, finish };
}

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("createSendSlots", () => {
  it("runs at most `size` sends at once, the others in the order they came", async () => {
    const slots = createSendSlots(2);
    const started: number[] = [];
    const sends = [held(), held(), held(), held()];
    const runs = sends.map((s, i) =>
      slots.run(async () => {
        started.push(i);
        await s.done;
        return i;
      }),
    );
    await ticks();
    expect(started).toEqual([0, 1]);
    expect(slots.waiting).toBe(2);
    sends[1]!.finish();
    await ticks();
    expect(started).toEqual([0, 1, 2]);
    sends[0]!.finish();
    sends[2]!.finish();
    sends[3]!.finish();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(slots.waiting).toBe(0);
  });

  it("frees the slot of a send that throws", async () => {
    const slots = createSendSlots(1);
    await expect(slots.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await slots.run(async () => "next")).toBe("next");
  });

  it("is busy while as many messages are owed as there are slots", async () => {
    const slots = createSendSlots(2);
    slots.owe(1);
    expect(slots.busy()).toBe(false);
    slots.owe(1);
    expect(slots.busy()).toBe(true);
    let free = false;
    void slots.notBusy().then(() => {
      free = true;
    });
    await ticks();
    expect(free).toBe(false);
    slots.settle(1);
    await ticks();
    expect(free).toBe(true);
    expect(slots.owed).toBe(1);
  });

  it.each([0, -1, 1.5])("refuses %f slots", (size) => {
    expect(() => createSendSlots(size)).toThrow(RangeError);
  });
});
