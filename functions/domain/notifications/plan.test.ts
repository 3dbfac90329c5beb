import { describe, expect, it } from "vitest";
import { pageKey, pageKeyAround } from "./plan.ts";

describe("pageKeyAround", () => {
  const key = (alertId: number) =>
    pageKey({
      alertId,
      repeatCycle: 1,
      stepIndex: 2,
      recipient: { kind: "user", id: "alice-10" },
      destination: "cm:cm-0+5m",
      messageKind: "alert",
    });

  it.each([0, 7, 10])("head + alert id + tail is the key of that alert (planned for alert %i)", (planned) => {
    const { head, tail } = pageKeyAround(key(planned), planned);
    for (const alertId of [1, 42, 123456]) expect(`${head}${alertId}${tail}`).toBe(key(alertId));
  });

  it("refuses a key of another alert", () => {
    expect(() => pageKeyAround(key(1), 10)).toThrow(/not a page key of alert 10/);
  });
});
