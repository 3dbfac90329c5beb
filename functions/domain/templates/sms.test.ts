import { describe, expect, it } from "vitest";
import { countSmsSegments } from "./sms.ts";

describe("countSmsSegments", () => {
  const cases: [string, string, "GSM-7" | "UCS-2", number, number][] = [
    ["empty", "", "GSM-7", 0, 0],
    ["160 GSM-7 characters: one SMS", "a".repeat(160), "GSM-7", 160, 1],
    ["161: two parts of 153", "a".repeat(161), "GSM-7", 161, 2],
    ["306: two parts", "a".repeat(306), "GSM-7", 306, 2],
    ["307: three parts", "a".repeat(307), "GSM-7", 307, 3],
    ["extension characters count two", "{}[]€".repeat(32), "GSM-7", 320, 3],
    ["an escape pair is not split across parts", `${"a".repeat(152)}€${"a".repeat(10)}`, "GSM-7", 164, 2],
    ["accented GSM letters stay GSM-7", "é".repeat(160), "GSM-7", 160, 1],
    ["one non-GSM character makes it UCS-2", `ç${"a".repeat(69)}`, "UCS-2", 70, 1],
    ["UCS-2 71 units: two parts of 67", "ç".repeat(71), "UCS-2", 71, 2],
    ["emoji take two units", "🔥".repeat(35), "UCS-2", 70, 1],
    ["a surrogate pair is not split", `${"ç".repeat(66)}🔥${"ç".repeat(3)}`, "UCS-2", 71, 2],
  ];
  it.each(cases)("%s", (_name, text, encoding, units, segments) => {
    expect(countSmsSegments(text)).toMatchObject({ encoding, units, segments });
  });
});
