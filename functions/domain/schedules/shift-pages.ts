/**
 * Shift listings in pages of bounded work. A listing over up to 366 days can hold hundreds of
 * thousands of shifts (50 rules on 1-hour rotations: 439,200); computing it in one go blocks the
 * process for seconds and answers megabytes. A page is computed window by window
 * (SHIFT_WINDOW_MS, an hour), pausing between windows so other requests run, and stops once it holds
 * `pageSize` items; the next page starts where it stopped. Pieces of one shift cut by a window
 * edge are joined again, so shifts read as before except at a page edge, where a shift that goes
 * on is cut (its second piece opens the next page).
 */

/** How much time one step of the computation covers. */
export const SHIFT_WINDOW_MS = 3600 * 1000;
/** Shifts per page unless the request says otherwise, and at most. */
export const DEFAULT_SHIFT_PAGE_SIZE = 500;
export const MAX_SHIFT_PAGE_SIZE = 1000;

export interface TimedItem {
  readonly start: Date;
  readonly end: Date;
}

export interface ShiftPageInput<T extends TimedItem> {
  /** Where this page starts (the range's start, or the previous page's `next`). */
  readonly from: Date;
  /** The range's end. */
  readonly to: Date;
  readonly pageSize: number;
  /** The items of `[from, to)`, clipped to it, in the listing's order. */
  compute(from: Date, to: Date): readonly T[];
  /** When `next` (starting where `previous` ends) is the same shift going on: the key both share. */
  key(item: T): string;
  /** `previous` and its continuation `next` as one item. */
  join(previous: T, next: T): T;
  /** Lets other work run between windows (the caller passes a macrotask pause). */
  pause(): Promise<void>;
}

/**
 * One page: the items from `from` on, at most `pageSize` of them unless a single window holds more,
 * and where the next page starts (undefined at the end of the range). A page ends before the first
 * window whose new items do not fit; windows that only continue the page's shifts always fit.
 */
export async function shiftPage<T extends TimedItem>(
  input: ShiftPageInput<T>,
): Promise<{ items: T[]; next: Date | undefined }> {
  const to = input.to.getTime();
  const items: T[] = [];
  let cursor = input.from.getTime();
  while (cursor < to) {
    const windowEnd = Math.min(to, cursor + SHIFT_WINDOW_MS);
    const piece = input.compute(new Date(cursor), new Date(windowEnd));
    // Items that reach the window's start may go on from the previous window.
    const open = new Map<string, number>();
    items.forEach((item, i) => {
      if (item.end.getTime() === cursor) open.set(input.key(item), i);
    });
    const fresh: T[] = [];
    for (const item of piece) {
      const at = item.start.getTime() === cursor ? open.get(input.key(item)) : undefined;
      if (at !== undefined) {
        items[at] = input.join(items[at]!, item);
        open.delete(input.key(item));
      } else {
        fresh.push(item);
      }
    }
    if (items.length > 0 && items.length + fresh.length > input.pageSize) {
      // This window does not fit: the page ends before it, and the joins made above are undone by
      // recomputing it on the next page (no state kept between pages but the cursor).
      return { items: clip(items, cursor), next: new Date(cursor) };
    }
    items.push(...fresh);
    cursor = windowEnd;
    if (cursor < to) await input.pause();
  }
  return { items, next: undefined };
}

// A page that stops at `cursor` ends every item there: what goes on is the next page's first piece.
function clip<T extends TimedItem>(items: T[], cursor: number): T[] {
  return items.map((item) => (item.end.getTime() > cursor ? { ...item, end: new Date(cursor) } : item));
}
