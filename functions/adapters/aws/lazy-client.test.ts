import { describe, expect, it } from "vitest";
import { lazily, resolveClient } from "./lazy-client.ts";

describe("lazily", () => {
  it("loads once and shares the result", async () => {
    let loads = 0;
    const get = lazily(async () => ({ n: ++loads }));
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toBe(a);
    expect(loads).toBe(1);
  });

  it("retries a failed load on the next call", async () => {
    let loads = 0;
    const get = lazily(async () => {
      loads += 1;
      if (loads === 1) throw new Error("no network");
      return "client";
    });
    await expect(get()).rejects.toThrow("no network");
    expect(await get()).toBe("client");
  });
});

describe("resolveClient", () => {
  it("takes an instance as it is and calls a loader", async () => {
    const client = { send() {} };
    expect(await resolveClient(client)).toBe(client);
    expect(await resolveClient(async () => client)).toBe(client);
  });
});
