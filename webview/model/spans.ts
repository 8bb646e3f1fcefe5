/**
 * Time-sorted spans with a prefix maximum of their ends, so "what overlaps [t0, t1]" is two binary
 * searches instead of a scan: the first index whose prefix-max end reaches t0 and the first start
 * past t1 bound every overlapping span. Appends in time order are O(1); a late (out-of-order) span
 * is spliced in and the prefix maximum repaired from its index — rare, because each lane's events
 * come from one thread in order.
 */
export class SortedSpans<T> {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** maxEnd[i] = max(ends[0..i]); non-decreasing, so it can be binary-searched. */
  readonly maxEnd: number[] = [];
  readonly items: T[] = [];
  /**
   * A number per span chosen by whoever adds it (instants: their tick group; interval rows: their
   * style tag, classify intervalTag). Kept beside the items so a pass over 100,000 spans per frame can
   * group and colour them without opening the item objects.
   */
  readonly tags: number[] = [];

  get length(): number {
    return this.starts.length;
  }

  add(start: number, end: number, item: T, tag = 0): number {
    const n = this.starts.length;
    if (n === 0 || start >= this.starts[n - 1]) {
      this.starts.push(start);
      this.ends.push(end);
      this.items.push(item);
      this.tags.push(tag);
      this.maxEnd.push(n === 0 ? end : Math.max(this.maxEnd[n - 1], end));
      return n;
    }
    const i = upperBound(this.starts, start);
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
    this.items.splice(i, 0, item);
    this.tags.splice(i, 0, tag);
    this.maxEnd.splice(i, 0, end);
    this.repair(i);
    return i;
  }

  /** Changes the end of the span at index i (an interval still open when first drawn). */
  setEnd(i: number, end: number): void {
    this.ends[i] = end;
    this.repair(i);
  }

  /** Index of an item (identity), searching near its start time. */
  indexOf(item: T, start: number): number {
    let i = lowerBound(this.starts, start);
    for (; i < this.starts.length && this.starts[i] === start; i++) if (this.items[i] === item) return i;
    return this.items.indexOf(item);
  }

  /** Half-open index range [lo, hi) containing every span overlapping [t0, t1] (some inside may end before t0). */
  range(t0: number, t1: number): [number, number] {
    const lo = lowerBound(this.maxEnd, t0);
    const hi = upperBound(this.starts, t1);
    return [lo, Math.max(lo, hi)];
  }

  /** Items overlapping [t0, t1], exactly. */
  overlapping(t0: number, t1: number): T[] {
    const [lo, hi] = this.range(t0, t1);
    const out: T[] = [];
    for (let i = lo; i < hi; i++) if (this.ends[i] >= t0) out.push(this.items[i]);
    return out;
  }

  private repair(from: number): void {
    const { ends, maxEnd } = this;
    for (let i = from; i < ends.length; i++) {
      const m = i === 0 ? ends[0] : Math.max(maxEnd[i - 1], ends[i]);
      // Once the prefix maximum stops changing, every later entry is already right.
      if (i > from && maxEnd[i] === m) break;
      maxEnd[i] = m;
    }
  }
}

/** First index with a[i] >= x (a sorted ascending). */
export function lowerBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with a[i] > x (a sorted ascending). */
export function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
