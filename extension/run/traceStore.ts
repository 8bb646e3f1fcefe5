/**
 * The events of one trace as the host keeps them (for replay after the panel reloads, Save Trace and the
 * HTML report), bounded by `interleave.maxEventsInPanel`.
 *
 * Up to the cap every event is kept. Past it the store starts aggregating: structural events (process and
 * thread lifecycle, names, object creation, exceptions, deadlocks) and the `e` that closes an interval
 * whose `b` was kept are still kept, so lanes, arrows and markers stay right; fine-grained events
 * (lock, queue, pool, CPU samples, ...) are folded into `aggregate` slices counting them per lane, object
 * and time window. The moment aggregation starts is recorded so the panel can say so.
 */
import type { Args, TraceEvent } from '../../protocol';

/** Kinds never folded: few per run, and the timeline's structure depends on them. */
const STRUCTURAL = new Set<string>([
  'run.meta', 'process.start', 'process.spawn', 'process.exit', 'process.summary', 'process.join', 'process.signal',
  'thread.spawn', 'thread.run', 'thread.join', 'thread.name', 'exception',
  'lock.create', 'chan.create', 'pool.create', 'shared.create',
  'deadlock', 'lock.inversion', 'async.task', 'greenlet.run',
]);

/** Folded events are summed per this window (µs). */
const BUCKET_US = 100_000;

export interface AggregationInfo {
  /** Trace time (µs) of the first event that was folded. */
  sinceTs: number;
  /** Events kept when aggregation started (the cap). */
  afterEvents: number;
  /** Events folded into aggregates so far. */
  folded: number;
}

interface Bucket {
  pid: number;
  tid: number;
  obj: number;
  start: number;
  end: number;
  count: number;
  kinds: Record<string, number>;
}

export class TraceStore {
  private readonly kept: TraceEvent[] = [];
  private readonly openKept = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  aggregation: AggregationInfo | undefined;

  constructor(readonly cap: number) {}

  get size(): number {
    return this.kept.length;
  }

  /** Events kept so far, in arrival order (aggregates of open buckets not included; see `all`). */
  get events(): readonly TraceEvent[] {
    return this.kept;
  }

  /**
   * Adds events; returns those to forward to the panel now (the kept ones, plus aggregates of windows
   * that closed) and whether aggregation started with this call.
   */
  add(events: readonly TraceEvent[]): { forward: TraceEvent[]; startedAggregating: boolean } {
    const forward: TraceEvent[] = [];
    let started = false;
    for (const ev of events) {
      if (this.keep(ev)) {
        this.kept.push(ev);
        forward.push(ev);
        this.track(ev);
        continue;
      }
      if (!this.aggregation) {
        this.aggregation = { sinceTs: ev.ts, afterEvents: this.kept.length, folded: 0 };
        started = true;
      }
      this.aggregation.folded++;
      this.fold(ev, forward);
    }
    return { forward, startedAggregating: started };
  }

  /** Closes every open aggregate window (end of run); returns the aggregates to forward. */
  flushAggregates(): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (const b of this.buckets.values()) out.push(this.emitBucket(b));
    this.buckets.clear();
    for (const ev of out) this.kept.push(ev);
    return out;
  }

  private keep(ev: TraceEvent): boolean {
    if (this.kept.length < this.cap && !this.aggregation) return true;
    if (STRUCTURAL.has(ev.k)) return true;
    // Close what we opened, so no lane shows a kept `b` as never finished.
    return ev.ph === 'e' && (this.openKept.get(intervalKey(ev)) ?? 0) > 0;
  }

  private track(ev: TraceEvent): void {
    if (ev.ph !== 'b' && ev.ph !== 'e') return;
    const key = intervalKey(ev);
    const n = this.openKept.get(key) ?? 0;
    if (ev.ph === 'b') this.openKept.set(key, n + 1);
    else if (n <= 1) this.openKept.delete(key);
    else this.openKept.set(key, n - 1);
  }

  private fold(ev: TraceEvent, forward: TraceEvent[]): void {
    const obj = ev.obj ?? 0;
    const key = `${ev.pid}/${ev.tid}/${obj}`;
    const window = Math.floor(ev.ts / BUCKET_US);
    let b = this.buckets.get(key);
    if (b && Math.floor(b.start / BUCKET_US) !== window) {
      const agg = this.emitBucket(b);
      this.kept.push(agg);
      forward.push(agg);
      b = undefined;
    }
    if (!b) {
      b = { pid: ev.pid, tid: ev.tid, obj, start: ev.ts, end: ev.ts, count: 0, kinds: {} };
      this.buckets.set(key, b);
    }
    b.count++;
    b.start = Math.min(b.start, ev.ts);
    b.end = Math.max(b.end, ev.ts + (ev.dur ?? 0));
    b.kinds[ev.k] = (b.kinds[ev.k] ?? 0) + 1;
  }

  private emitBucket(b: Bucket): TraceEvent {
    this.buckets.delete(`${b.pid}/${b.tid}/${b.obj}`);
    const a: Args = { what: 'folded', count: b.count, kinds: b.kinds };
    const ev: TraceEvent = { k: 'aggregate', ph: 'X', ts: b.start, dur: Math.max(0, b.end - b.start), pid: b.pid, tid: b.tid, a };
    if (b.obj) ev.obj = b.obj;
    return ev;
  }
}

function intervalKey(ev: TraceEvent): string {
  return `${ev.pid}/${ev.tid}/${ev.k}/${ev.obj ?? 0}`;
}
