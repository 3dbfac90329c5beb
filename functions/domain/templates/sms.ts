/**
 * SMS segments. A message in the GSM 03.38 alphabet is sent 7 bits a character: 160 in one SMS,
 * 153 per part when split (the rest is the concatenation header); the extension characters
 * (`^{}\[~]|€` and form feed) take two. Anything else is sent as UCS-2: 70 UTF-16 units in one SMS,
 * 67 per part; an astral character (emoji) takes two units. A part never splits an escape pair or a
 * surrogate pair.
 */
const gsmBasic = new Set(
  Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
  ),
);
const gsmExtension = new Set(Array.from("^{}\\[~]|€\f"));

export interface SmsCount {
  readonly encoding: "GSM-7" | "UCS-2";
  /** Septets (GSM-7) or UTF-16 units (UCS-2). */
  readonly units: number;
  readonly segments: number;
  /** Units that fit in one SMS of this encoding (160 or 70). */
  readonly singleLimit: number;
}

export function countSmsSegments(text: string): SmsCount {
  const chars = Array.from(text);
  const gsm = chars.every((c) => gsmBasic.has(c) || gsmExtension.has(c));
  const sizes = gsm ? chars.map((c) => (gsmExtension.has(c) ? 2 : 1)) : chars.map((c) => c.length);
  const units = sizes.reduce((a, b) => a + b, 0);
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  let segments = units === 0 ? 0 : 1;
  if (units > single) {
    segments = 1;
    let used = 0;
    for (const size of sizes) {
      if (used + size > multi) {
        segments++;
        used = 0;
      }
      used += size;
    }
  }
  return { encoding: gsm ? "GSM-7" : "UCS-2", units, segments, singleLimit: single };
}
