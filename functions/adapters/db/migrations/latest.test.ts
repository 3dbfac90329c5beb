import { describe, expect, it } from "vitest";
import { migrations } from "./index.ts";
import { latestMigration } from "./latest.ts";

describe("latestMigration", () => {
  it("names the newest migration of index.ts (update latest.ts when adding one)", () => {
    expect(latestMigration).toBe(Object.keys(migrations).sort().at(-1));
  });
});
