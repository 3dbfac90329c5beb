import { type Rotation, rotationShiftAt } from "./rotation.ts";

/**
 * A rotation's settings changed: `next` (without an anchor) replaces `current` at `now`. When the
 * handoff grid (zone, shift length, start) is unchanged the order goes on as it was (the anchor is
 * kept). When it changed, whoever is on call at `now` stays on from `now` until the new grid's next
 * handoff, then the order continues after them; a rotation whose new start is still ahead (or that
 * had no one on call) starts over with its first participant.
 */
export function changeRotation<T extends Rotation>(current: Rotation, next: T, now: Date): T {
  const { anchor: _, ...fields } = next;
  const gridChanged =
    next.timeZone !== current.timeZone ||
    next.shiftLength.count !== current.shiftLength.count ||
    next.shiftLength.unit !== current.shiftLength.unit ||
    next.start.getTime() !== current.start.getTime();
  if (!gridChanged) return (current.anchor ? { ...fields, anchor: current.anchor } : fields) as T;
  if (now < next.start) return fields as T;
  const on = rotationShiftAt(current, now);
  if (!on) return fields as T;
  const before = now > current.start ? rotationShiftAt(current, new Date(now.getTime() - 1)) : null;
  const anchor = before
    ? { index: on.index, at: now, previousIndex: before.index }
    : { index: on.index, at: now };
  return { ...fields, anchor } as T;
}
