/**
 * Culling: what to draw for a time window, computed from the sorted span indexes with binary
 * searches so the cost follows the number of pixels, not the number of events. Intervals narrower
 * than a pixel are merged into one block per pixel column (with how many they stand for), the
 * Perfetto habit that keeps a 1M-event trace at frame rate when zoomed out.
 */
import { lowerBound, SortedSpans } from './spans';
import type { Arrow } from './types';
import type { ArrowIndex } from './arrows';

export interface DrawSpan<T> {
  start: number;
  end: number;
  item: T;
  /** How many spans this block stands for (1 = the item itself). */
  merged: number;
  /** The last item of a merged block (the renderer colours a block by its items when they agree). */
  last?: T;
}

/**
 * Spans of `spans` overlapping [t0, t1] at a resolution of `usPerPx` µs per pixel. Open spans
 * (end = +Infinity) end at `now`. `accept` filters items (hidden kinds); a merged block is kept when
 * one of its first few items is accepted.
 */
export function visibleSpans<T>(
  spans: SortedSpans<T>, t0: number, t1: number, usPerPx: number, now: number,
  accept?: (item: T) => boolean,
): DrawSpan<T>[] {
  const out: DrawSpan<T>[] = [];
  const { starts, ends, items } = spans;
  const [lo, hi] = spans.range(t0, t1);
  const px = usPerPx > 0 ? usPerPx : 0;
  let i = lo;
  while (i < hi) {
    const start = starts[i];
    const end = ends[i] === Infinity ? Math.max(now, start) : ends[i];
    if (end < t0) { i++; continue; }
    if (end - start >= px || px === 0) {
      if (!accept || accept(items[i])) out.push({ start, end, item: items[i], merged: 1 });
      i++;
      continue;
    }
    // A run of sub-pixel spans: everything starting within this pixel becomes one block, except a
    // wide span at the end of the run, which is drawn on its own next.
    let j = gallop(starts, start + px, i + 1, hi);
    if (j - 1 > i && endOf(ends[j - 1], now) - starts[j - 1] >= px) j--;
    let blockEnd = Math.max(start + px, endOf(ends[j - 1], now));
    // Zoomed far out, pixel after pixel holds several spans: one block for the whole crowded run
    // (it ends where a pixel holds a single span or a gap opens), not one per pixel.
    while (j - i > 1 && j < hi && starts[j] - blockEnd < px) {
      const k = gallop(starts, starts[j] + px, j + 1, hi);
      if (k - j < 2 || endOf(ends[k - 1], now) - starts[k - 1] >= px) break;
      blockEnd = Math.max(starts[j] + px, endOf(ends[k - 1], now));
      j = k;
    }
    let chosen: T | undefined;
    for (let k = i; k < j && k < i + 8; k++) {
      if (!accept || accept(items[k])) { chosen = items[k]; break; }
    }
    if (chosen !== undefined) out.push({ start, end: blockEnd, item: chosen, merged: j - i, last: items[j - 1] });
    i = j;
  }
  return out;
}

/**
 * lowerBound for a target that is usually near `lo` (the next pixel's first span): doubling steps
 * from lo, then a binary search in the last step, so a pixel costs O(log k) for k spans in it.
 */
export function gallop(a: ArrayLike<number>, x: number, lo: number, hi: number): number {
  let step = 1;
  let prev = lo;
  let i = lo;
  while (i < hi && a[i] < x) {
    prev = i + 1;
    i = lo + step;
    step *= 2;
  }
  return lowerBound(a, x, prev, Math.min(i, hi));
}

function endOf(end: number, now: number): number {
  return end === Infinity ? now : end;
}

/** Points (instants) in [t0, t1], at most one per pixel column. */
export function visiblePoints<T>(spans: SortedSpans<T>, t0: number, t1: number, usPerPx: number, accept?: (item: T) => boolean): DrawSpan<T>[] {
  const out: DrawSpan<T>[] = [];
  const { starts, items } = spans;
  let i = lowerBound(starts, t0);
  const hi = lowerBound(starts, t1 + 1e-9);
  while (i < hi) {
    const ts = starts[i];
    const j = usPerPx > 0 ? Math.max(i + 1, gallop(starts, ts + usPerPx, i + 1, hi)) : i + 1;
    for (let k = i; k < j && k < i + 8; k++) {
      if (!accept || accept(items[k])) { out.push({ start: ts, end: ts, item: items[k], merged: j - i }); break; }
    }
    i = j;
  }
  return out;
}

/**
 * Live arrows with both ends in shown lanes and their time span overlapping [t0, t1]. With `limit`,
 * a window holding far more candidates than that is sampled evenly (a few times `limit` visited)
 * rather than walked: zoomed out over 50,000 arrows only a sample can be drawn anyway.
 */
export function visibleArrows(index: ArrowIndex, t0: number, t1: number, laneShown: (key: string) => boolean, accept?: (a: Arrow) => boolean, limit = Infinity): Arrow[] {
  const s = index.spans;
  const [lo, hi] = s.range(t0, t1);
  const out: Arrow[] = [];
  const stride = hi - lo > limit * 4 ? (hi - lo) / (limit * 4) : 1;
  for (let f = lo; f < hi; f += stride) {
    const i = Math.floor(f);
    if (s.ends[i] < t0) continue;
    const a = s.items[i];
    if (!a.alive || !(laneShown(a.fromLane) && laneShown(a.toLane))) continue;
    if (accept && !accept(a)) continue;
    out.push(a);
  }
  return out;
}
