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
  /** The last item of a block of several (the renderer colours a block by its items when they agree). */
  last?: T;
  /** pointRuns: the run's tag (spans.tags), so drawing need not open the item to colour it. */
  tag?: number;
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
  forEachVisibleSpan(spans, t0, t1, usPerPx, now, accept, (start, end, item, merged, last) => {
    out.push(merged === 1 ? { start, end, item, merged } : { start, end, item, merged, last });
  });
  return out;
}

/**
 * visibleSpans without the objects: `emit(start, end, item, merged, last, tag, lastTag)` per span or
 * merged block, in time order (`last`: a block's last item, the item itself for a single span; tags
 * from spans.tags). The renderer walks tens of thousands of spans a frame this way without leaving
 * garbage behind, and styles them by tag without opening the items.
 */
export function forEachVisibleSpan<T>(
  spans: SortedSpans<T>, t0: number, t1: number, usPerPx: number, now: number,
  accept: ((item: T) => boolean) | undefined,
  emit: (start: number, end: number, item: T, merged: number, last: T, tag: number, lastTag: number) => void,
): void {
  const { starts, ends, items, tags } = spans;
  const [lo, hi] = spans.range(t0, t1);
  const px = usPerPx > 0 ? usPerPx : 0;
  let i = lo;
  while (i < hi) {
    const start = starts[i];
    const end = ends[i] === Infinity ? Math.max(now, start) : ends[i];
    if (end < t0) { i++; continue; }
    if (end - start >= px || px === 0) {
      if (!accept || accept(items[i])) emit(start, end, items[i], 1, items[i], tags[i], tags[i]);
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
    let chosen = -1;
    for (let k = i; k < j && k < i + 8; k++) {
      if (!accept || accept(items[k])) { chosen = k; break; }
    }
    if (chosen >= 0) emit(start, blockEnd, items[chosen], j - i, items[j - 1], tags[chosen], tags[j - 1]);
    i = j;
  }
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

/**
 * Instants as runs of ticks for drawing. A run starts at an accepted point and takes in the points
 * after it while each is within `joinUs` of the run's last point and of the run's tag (spans.tags: the
 * tick group); a point of another tag ends the run, unless it falls within one pixel column
 * (`usPerPx`) of the run's end, where the run's tick covers it anyway — so there are never more runs
 * than pixel columns. Zoomed out over 100,000 messages a lane gets a few bars instead of a tick per
 * column; an exception among messages keeps a tick of its own unless it shares a pixel with them.
 * `start`/`end`: first and last point times of the run; `item`: its first point; `merged`: the points
 * it stands for; `tag`: the group. One pass over the points' times and tags (plain arrays; the item
 * objects only when filtering), which costs less per point than walking pixel columns costs per column.
 */
export function pointRuns<T>(
  spans: SortedSpans<T>, t0: number, t1: number, usPerPx: number, joinUs: number, accept?: (item: T) => boolean,
): DrawSpan<T>[] {
  const out: DrawSpan<T>[] = [];
  const { starts, items, tags } = spans;
  let i = lowerBound(starts, t0);
  const hi = lowerBound(starts, t1 + 1e-9);
  while (i < hi) {
    if (accept && !accept(items[i])) { i++; continue; }
    const tag = tags[i];
    const start = starts[i];
    let end = start, merged = 1, j = i + 1;
    for (; j < hi; j++) {
      const ts = starts[j];
      if (ts - end > joinUs) break;
      if (accept && !accept(items[j])) continue;
      if (tags[j] !== tag) {
        if (ts - end < usPerPx) { merged++; continue; }
        break;
      }
      end = ts;
      merged++;
    }
    out.push({ start, end, item: items[i], merged, tag });
    i = j;
  }
  return out;
}

/**
 * A step-function counter (sample i holds from ts[i] to ts[i + 1]; the last one is a point) over
 * [t0, t1], at most one step per pixel column: a column holding several samples becomes one step at
 * their largest value, so a short peak is not lost when zoomed out (a column of more than 64 samples is
 * read with a stride, plus its last sample). Calls `step(start, end, value)` in time order, starting
 * with the sample in effect at t0; returns the number of steps.
 */
export function counterSteps(
  ts: ArrayLike<number>, values: ArrayLike<number>, t0: number, t1: number, usPerPx: number,
  step: (start: number, end: number, value: number) => void,
): number {
  const n = ts.length;
  let i = Math.max(0, lowerBound(ts, t0) - 1);
  const hi = Math.min(n, lowerBound(ts, t1) + 1);
  let steps = 0;
  while (i < hi) {
    const j = usPerPx > 0 ? Math.max(i + 1, gallop(ts, ts[i] + usPerPx, i + 1, hi)) : i + 1;
    let v = values[i];
    // The largest value in the column; a column of thousands of samples is read with a stride.
    const stride = Math.max(1, Math.floor((j - i) / 64));
    for (let k = i + 1; k < j; k += stride) if (values[k] > v) v = values[k];
    if (stride > 1 && values[j - 1] > v) v = values[j - 1];
    step(ts[i], j < n ? ts[j] : ts[i], v);
    steps++;
    i = j;
  }
  return steps;
}
