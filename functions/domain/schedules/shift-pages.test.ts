import { describe, expect, it } from "vitest";
import { SHIFT_WINDOW_MS, shiftPage } from "./shift-pages.ts";

const H = 3600 * 1000;
const t0 = Date.parse("2026-03-01T00:00:00Z");
const at = (hours: number) => new Date(t0 + hours * H);

interface Item {
  user: string;
  start: Date;
  end: Date;
}

/** Shifts of `length` hours handing off between users a, b, c, clipped to the asked range. */
function rotating(length: number) {
  return (from: Date, to: Date): Item[] => {
    const items: Item[] = [];
    for (let k = Math.floor((from.getTime() - t0) / (length * H)); t0 + k * length * H < to.getTime(); k++) {
      const s = Math.max(t0 + k * length * H, from.getTime());
      const e = Math.min(t0 + (k + 1) * length * H, to.getTime());
      if (e > s) items.push({ user: "abc"[k % 3]!, start: new Date(s), end: new Date(e) });
    }
    return items;
  };
}

async function allPages(length: number, hours: number, pageSize: number) {
  const pages: Item[][] = [];
  let from: Date | undefined = at(0);
  let pauses = 0;
  while (from) {
    const page: { items: Item[]; next: Date | undefined } = await shiftPage<Item>({
      from,
      to: at(hours),
      pageSize,
      compute: rotating(length),
      key: (i) => i.user,
      join: (p, n) => ({ ...p, end: n.end }),
      pause: async () => {
        pauses++;
      },
    });
    pages.push(page.items);
    from = page.next;
  }
  return { pages, pauses };
}

describe("shiftPage", () => {
  it.each([
    // [shift hours, range hours, page size, pages, shifts on the first page]
    [1, 24, 1000, 1, 24],
    [1, 24, 10, 3, 10],
    [24, 24 * 7, 1000, 1, 7],
    [48, 24 * 7, 2, 2, 2],
  ])("%d-hour shifts over %d hours, pages of %d: %d pages", async (length, hours, pageSize, pages, first) => {
    const result = await allPages(length, hours, pageSize);
    expect(result.pages).toHaveLength(pages);
    expect(result.pages[0]).toHaveLength(first);
    for (const page of result.pages)
      expect(page.length).toBeLessThanOrEqual(Math.max(pageSize, SHIFT_WINDOW_MS / H));
    // Joined across windows and pages, the shifts are exactly the whole range computed at once.
    const joined: Item[] = [];
    for (const item of result.pages.flat()) {
      const last = joined.at(-1);
      if (last && last.user === item.user && last.end.getTime() === item.start.getTime()) last.end = item.end;
      else joined.push({ ...item });
    }
    expect(joined).toEqual(rotating(length)(at(0), at(hours)));
  });

  it("joins a shift cut by window edges inside a page, and pauses between windows", async () => {
    const { pages, pauses } = await allPages(24 * 7, 24 * 7, 1000);
    expect(pages).toEqual([[{ user: "a", start: at(0), end: at(24 * 7) }]]);
    expect(pauses).toBe((24 * 7 * H) / SHIFT_WINDOW_MS - 1);
  });
});
