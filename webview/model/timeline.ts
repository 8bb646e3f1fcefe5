/**
 * The timeline model: events are appended in batches (arrival order, not time order across
 * processes) and folded into lanes, intervals, instants, counters, arrows and markers without
 * rebuilding anything already there. Past `maxEvents` stored events, foldable detail (uncontended
 * lock operations, messages, generic slices) is counted into per-lane density buckets instead.
 */
import { deadlockReason, DeadlockThread, KINDS, laneKey, laneObj, TraceEvent } from '../../protocol';
import { ArrowIndex } from './arrows';
import { F_DESCRIBE, F_DRAWN, F_FOLDABLE, F_INTERVAL, F_LIFETIME, F_NO_EXTENT, F_NO_LANE, intervalState, intervalTag, KIND_FLAGS, tickGroup } from './classify';
import { SortedSpans } from './spans';
import { withTaskSpawns } from './taskStart';
import type { Counter, Instant, Interval, Lane, Marker, ObjInfo, ObjKind, ProcessExit, ProcessInfo } from './types';

/** Another tool's process_name record, read back as a process.start at ts 0 without a parent. */
function isNamingOnly(ev: TraceEvent): boolean {
  return ev.k === 'process.start' && ev.ts === 0 && !ev.a?.ppid;
}

/** Width of a density bucket once the event budget is spent (µs). */
export const DENSITY_BUCKET_US = 10_000;

interface OpenEntry {
  iv?: Interval;      // undefined when folded into a density bucket
  rowIndex?: number;
}

export class TimelineModel {
  readonly lanes = new Map<string, Lane>();
  readonly processes = new Map<number, ProcessInfo>();
  readonly objects = new Map<number, ObjInfo>();
  readonly markers: Marker[] = [];
  readonly arrows = new ArrowIndex();
  readonly metadata: Record<string, unknown> = {};
  /** Source location → lanes with events there (for "show in timeline"). */
  readonly locLanes = new Map<string, Set<string>>();
  /** Events received / kept in detail / folded into density counts. */
  received = 0;
  stored = 0;
  folded = 0;
  /** `e` events with no open `b` (a trace that starts mid-interval). */
  unmatched = 0;
  minTs = Infinity;
  maxTs = -Infinity;
  /** Intervals kept, per drawing state (for the test-visible summary without a scan). */
  readonly byState: Record<string, number> = {};
  /** Bumped on every change so views know when to redraw / recompute derived data. */
  version = 0;

  private readonly open = new Map<string, OpenEntry[]>();
  private readonly threadLanes = new Map<number, Map<number, Lane>>();
  private lastPid = NaN;
  private lockCount = 0;

  constructor(public maxEvents = 2_000_000) {}

  get intervalCount(): number {
    let n = 0;
    for (const lane of this.lanes.values()) for (const r of lane.rows) n += r.length;
    return n;
  }

  /** True once events were folded because the budget was spent. */
  get bounded(): boolean {
    return this.folded > 0;
  }

  append(batch: readonly TraceEvent[]): void {
    if (batch.length === 0) return;
    const events = sortedByTime(withTaskSpawns(batch));
    for (const ev of events) this.add(ev);
    this.arrows.flush((key) => this.lanes.has(key));
    this.version++;
  }

  lane(key: string): Lane | undefined {
    return this.lanes.get(key);
  }

  objName(obj: number | undefined): string {
    if (obj === undefined) return '';
    const o = this.objects.get(obj);
    return o ? o.name : `#${obj % 4194304}`;
  }

  /** The newest time seen: open intervals are drawn up to here. */
  get now(): number {
    return Number.isFinite(this.maxTs) ? this.maxTs : 0;
  }

  private add(ev: TraceEvent): void {
    this.received++;
    const flags = KIND_FLAGS[ev.k] ?? 0;
    const ph = ev.ph;
    const ts = ev.ts;
    const end = ph === 'X' ? ts + (ev.dur ?? 0) : ts;
    const naming = (flags & F_NO_EXTENT) !== 0 || (ev.k === 'process.start' && isNamingOnly(ev));
    // Naming records (Chrome `M` events read back at ts 0) say nothing about when things happened.
    if (!naming) {
      if (ts < this.minTs) this.minTs = ts;
      if (end > this.maxTs) this.maxTs = end;
    }
    if (ev.pid !== this.lastPid) { this.process(ev.pid); this.lastPid = ev.pid; }
    if (flags & F_DESCRIBE) this.describe(ev);
    if (ph === 'C') return this.counter(ev);
    if ((flags & F_NO_LANE) !== 0 || (ev.k === 'process.start' && isNamingOnly(ev))) return;

    const lane = this.laneFor(ev);
    if (ev.loc !== undefined) {
      let set = this.locLanes.get(ev.loc);
      if (!set) this.locLanes.set(ev.loc, (set = new Set()));
      set.add(lane.key);
    }
    if (!naming) {
      if (ts < lane.first) lane.first = ts;
      if (end > lane.last) lane.last = end;
    }

    if (ph === 'b' || ph === 'e' || ph === 'X') {
      if (ev.k === 'aggregate') return this.aggregate(lane, ev);
      if (flags & F_LIFETIME) return this.lifetime(lane, ev);
      if (flags & F_INTERVAL) this.interval(lane, ev);
      return;
    }
    // Instants
    if (ev.corr !== undefined) this.arrows.offer(ev);
    if (ev.k === 'deadlock' || ev.k === 'exception' || ev.k === 'lock.inversion') this.markerOf(lane, ev);
    if (!(flags & F_DRAWN)) return;
    if (this.overBudget(ev)) return this.fold(lane, ev.ts);
    this.stored++;
    lane.instants.add(ts, ts, { lane, ev, k: ev.k } satisfies Instant, tickGroup(ev.k));
  }

  private overBudget(ev: TraceEvent): boolean {
    return this.stored >= this.maxEvents && ((KIND_FLAGS[ev.k] ?? 0) & F_FOLDABLE) !== 0;
  }

  /** Names and process/object facts carried by definition events. */
  private describe(ev: TraceEvent): void {
    const a = ev.a ?? {};
    switch (ev.k) {
      case 'run.meta':
        Object.assign(this.metadata, a);
        break;
      case 'process.start': {
        const p = this.process(ev.pid);
        if (typeof a.name === 'string' && a.name) { p.name = a.name; p.named = true; }
        if (typeof a.ppid === 'number' && a.ppid > 0 && a.ppid !== ev.pid) p.ppid = a.ppid;
        if (typeof a.method === 'string') p.method = a.method;
        if (a.external === true) p.external = true;
        if (ev.ts > 0 || p.start === undefined) p.start = ev.ts;
        break;
      }
      case 'process.spawn':
        if (typeof a.child === 'number' && a.child !== ev.pid) {
          const child = this.process(a.child);
          if (child.ppid === undefined) child.ppid = ev.pid;
          if (typeof a.method === 'string' && !child.method) child.method = a.method;
        }
        break;
      case 'process.exit': {
        const p = this.process(ev.pid);
        const exit: ProcessExit = { code: typeof a.code === 'number' ? a.code : null };
        if (typeof a.signal === 'string') exit.signal = a.signal;
        if (a.killed === true) exit.killed = true;
        if (a.zombie === true) exit.zombie = true;
        // The same exit may be reported twice (the process itself and its waiter): keep the one that says how it died.
        if (!p.exit || exit.killed || exit.signal || (exit.zombie && !p.exit.killed)) p.exit = { ...p.exit, ...exit };
        break;
      }
      case 'process.summary': {
        const p = this.process(ev.pid);
        if (typeof a.emitted === 'number') p.emitted = a.emitted;
        if (typeof a.dropped === 'number') p.dropped = a.dropped;
        break;
      }
      case 'thread.name':
        if (typeof a.name === 'string') this.nameLane(`${ev.pid}/${ev.tid}`, ev, a.name);
        break;
      case 'lock.create': this.defineObj(ev, 'lock'); break;
      case 'chan.create': this.defineObj(ev, 'chan'); break;
      case 'pool.create': this.defineObj(ev, 'pool'); break;
      case 'shared.create': this.defineObj(ev, 'shared'); break;
      default: break;
    }
  }

  private defineObj(ev: TraceEvent, kind: ObjKind): void {
    if (ev.obj === undefined) return;
    const a = ev.a ?? {};
    const type = typeof a.type === 'string' ? a.type : kind;
    const o = this.obj(ev.obj, kind, ev.pid);
    o.type = type;
    o.kind = kind;
    o.name = typeof a.name === 'string' && a.name ? a.name : `${type} #${ev.obj % 4194304}`;
  }

  private obj(obj: number, kind: ObjKind, pid: number): ObjInfo {
    let o = this.objects.get(obj);
    if (!o) {
      o = { obj, kind, type: kind, name: `${kind} #${obj % 4194304}`, colour: -1, pid };
      this.objects.set(obj, o);
    }
    if (kind === 'lock' && o.colour < 0) o.colour = this.lockCount++;
    return o;
  }

  process(pid: number): ProcessInfo {
    let p = this.processes.get(pid);
    if (!p) {
      p = { pid, name: `pid ${pid}`, named: false, order: this.processes.size };
      this.processes.set(pid, p);
    }
    return p;
  }

  private nameLane(key: string, ev: TraceEvent, name: string): void {
    const lane = this.lanes.get(key) ?? this.laneFor({ ...ev, k: 'thread.name', obj: undefined, a: undefined });
    lane.name = name;
    lane.named = true;
  }

  private laneFor(ev: TraceEvent): Lane {
    const o = laneObj(ev);
    // Thread lanes by number first: building the "pid/tid" key string for every event shows in profiles.
    let byTid = o === undefined ? this.threadLanes.get(ev.pid) : undefined;
    const cached = byTid?.get(ev.tid);
    if (cached) return cached;
    const key = laneKey(ev);
    let lane = this.lanes.get(key);
    if (lane) return lane;
    this.process(ev.pid);
    const kind = o === undefined ? 'thread' : ev.k === 'greenlet.run' ? 'greenlet' : 'task';
    let parentKey: string | undefined;
    if (o !== undefined) {
      parentKey = `${ev.pid}/${ev.tid}`;
      if (!this.lanes.has(parentKey)) this.laneFor({ k: 'thread.name', ph: 'i', ts: ev.ts, pid: ev.pid, tid: ev.tid });
      this.obj(o, kind === 'greenlet' ? 'greenlet' : 'task', ev.pid);
    }
    lane = {
      key, pid: ev.pid, tid: ev.tid, obj: o, kind,
      name: o !== undefined ? `${kind} ${o % 4194304}` : ev.tid === ev.pid ? 'MainThread' : `thread ${ev.tid}`,
      named: false, order: this.lanes.size,
      lifetimes: new SortedSpans(), rows: [], instants: new SortedSpans(), aggregates: new SortedSpans(),
      counters: new Map(), parentKey, first: Infinity, last: -Infinity,
    };
    this.lanes.set(key, lane);
    if (o === undefined) {
      if (!byTid) this.threadLanes.set(ev.pid, (byTid = new Map()));
      byTid.set(ev.tid, lane);
    }
    return lane;
  }

  private lifetime(lane: Lane, ev: TraceEvent): void {
    const a = ev.a ?? {};
    if (ev.ph !== 'e') {
      const label = typeof a.name === 'string' && a.name ? a.name : ev.k === 'async.task' && typeof a.coro === 'string' ? a.coro : undefined;
      if (label && !lane.named) { lane.name = label; lane.named = ev.k !== 'async.task' || typeof a.name === 'string'; }
      if (ev.k !== 'thread.run') this.obj(ev.obj ?? 0, ev.k === 'greenlet.run' ? 'greenlet' : 'task', ev.pid).name = lane.name;
    }
    this.arrows.offer(ev);
    this.pair(lane, ev, lane.lifetimes);
  }

  private interval(lane: Lane, ev: TraceEvent): void {
    if (ev.corr !== undefined) this.arrows.offer(ev);
    if (ev.k === 'pool.task' && ev.obj !== undefined && ev.ph !== 'e') this.poolWorker(lane, ev.obj);
    if ((ev.k === 'lock.wait' || ev.k === 'lock.hold') && ev.obj !== undefined) this.obj(ev.obj, 'lock', ev.pid);
    this.pair(lane, ev, undefined);
  }

  private poolWorker(lane: Lane, pool: number): void {
    if (lane.pool === undefined) lane.pool = pool;
    const def = this.objects.get(pool);
    const p = this.process(lane.pid);
    // A process pool's worker runs its tasks in its own process, not in the pool owner's.
    if (def && def.pid !== lane.pid && p.pool === undefined) p.pool = pool;
  }

  /**
   * b/e pairing per (pid, tid, kind, obj) as a stack, X intervals whole. `target` fixes the spans
   * (lifetimes), otherwise `row` chooses the nesting row.
   */
  private pair(lane: Lane, ev: TraceEvent, target: SortedSpans<Interval> | undefined): void {
    // Only b/e need the pairing key; whole (X) intervals are most of a big trace.
    const key = ev.ph === 'X' ? '' : `${ev.pid}/${ev.tid}/${ev.k}/${ev.obj ?? 0}`;
    if (ev.ph === 'e') {
      const stack = this.open.get(key);
      const entry = stack?.pop();
      if (!entry) { this.unmatched++; return; }
      if (!entry.iv) { this.fold(lane, ev.ts); return; }
      const iv = entry.iv;
      iv.close = ev;
      const spans = target ?? lane.rows[iv.depth];
      spans.setEnd(spans.indexOf(iv, iv.start), Math.max(iv.start, ev.ts));
      iv.end = Math.max(iv.start, ev.ts);
      return;
    }
    if (target === undefined && this.overBudget(ev)) {
      if (ev.ph === 'b') this.pushOpen(key, {});
      else this.fold(lane, ev.ts);
      return;
    }
    const start = ev.ts;
    const end = ev.ph === 'X' ? ev.ts + (ev.dur ?? 0) : Infinity;
    const depth = target ? 0 : freeRow(lane, start, end);
    const state = intervalState(ev.k) ?? 'running';
    // Every field present from the start: one object shape for all intervals keeps property access fast.
    const iv: Interval = { lane, k: ev.k, state, start, end, depth, obj: ev.obj, begin: ev, close: undefined, count: undefined };
    if (!target) { while (lane.rows.length <= depth) lane.rows.push(new SortedSpans()); }
    (target ?? lane.rows[depth]).add(start, end, iv, intervalTag(state, ev.obj));
    this.stored++;
    if (!target) this.byState[state] = (this.byState[state] ?? 0) + 1;
    if (ev.ph === 'b') this.pushOpen(key, { iv });
  }

  private pushOpen(key: string, entry: OpenEntry): void {
    let stack = this.open.get(key);
    if (!stack) this.open.set(key, (stack = []));
    stack.push(entry);
  }

  /** One operation counted into the lane's density bucket at ts. */
  private fold(lane: Lane, ts: number): void {
    this.folded++;
    const b = Math.floor(ts / DENSITY_BUCKET_US) * DENSITY_BUCKET_US;
    const spans = lane.aggregates;
    // Buckets are appended in time order; a late event searches back for its bucket.
    for (let i = spans.length - 1; i >= 0 && spans.starts[i] >= b - DENSITY_BUCKET_US; i--) {
      const it = spans.items[i];
      if (it.k === 'aggregate' && it.begin.a?.density === true && spans.starts[i] === b) { it.count = (it.count ?? 0) + 1; return; }
    }
    const begin: TraceEvent = { k: 'aggregate', ph: 'X', ts: b, dur: DENSITY_BUCKET_US, pid: lane.pid, tid: lane.tid, a: { what: 'detail beyond the event limit', density: true } };
    spans.add(b, b + DENSITY_BUCKET_US, { lane, k: 'aggregate', state: 'running', start: b, end: b + DENSITY_BUCKET_US, depth: 0, obj: undefined, begin, close: undefined, count: 1 });
  }

  private aggregate(lane: Lane, ev: TraceEvent): void {
    if (ev.ph !== 'X') return;
    const count = typeof ev.a?.count === 'number' ? ev.a.count : 1;
    if (ev.obj !== undefined && ev.a?.what === 'lock') this.obj(ev.obj, 'lock', ev.pid);
    const end = ev.ts + (ev.dur ?? 0);
    lane.aggregates.add(ev.ts, end, { lane, k: 'aggregate', state: 'running', start: ev.ts, end, depth: 0, obj: ev.obj, begin: ev, close: undefined, count });
    this.stored++;
  }

  private counter(ev: TraceEvent): void {
    const a = ev.a ?? {};
    if (ev.k === 'cpu.thread' && typeof a.pct === 'number') {
      const lane = this.laneFor({ ...ev, k: 'thread.name', obj: undefined, a: undefined });
      lane.cpu ??= newCounter('CPU');
      push(lane.cpu, ev.ts, a.pct);
    } else if (ev.k === 'cpu.process' && typeof a.pct === 'number') {
      const p = this.process(ev.pid);
      p.cpu ??= newCounter('process CPU');
      push(p.cpu, ev.ts, a.pct);
    } else if (ev.k === 'generic.counter' && a.values && typeof a.values === 'object' && !Array.isArray(a.values)) {
      const lane = this.laneFor({ ...ev, k: 'thread.name', obj: undefined, a: undefined });
      const base = typeof a.name === 'string' ? a.name : 'counter';
      for (const [series, v] of Object.entries(a.values)) {
        if (typeof v !== 'number') continue;
        const name = series === 'value' ? base : `${base}.${series}`;
        let c = lane.counters.get(name);
        if (!c) lane.counters.set(name, (c = newCounter(name)));
        push(c, ev.ts, v);
      }
    } else return;
    this.stored++;
  }

  private markerOf(lane: Lane, ev: TraceEvent): void {
    const a = ev.a ?? {};
    if (ev.k === 'deadlock') {
      const threads = Array.isArray(a.threads) ? (a.threads as unknown as DeadlockThread[]).filter((t) => t && typeof t.pid === 'number' && typeof t.tid === 'number') : [];
      const lanes = threads.map((t) => `${t.pid}/${t.tid}`);
      for (const t of threads) {
        const l = this.laneFor({ k: 'thread.name', ph: 'i', ts: ev.ts, pid: t.pid, tid: t.tid });
        if (typeof t.name === 'string' && t.name && !l.named) { l.name = t.name; l.named = true; }
      }
      this.arrows.deadlock(ev, threads);
      this.markers.push({ kind: 'deadlock', ts: ev.ts, lane: lane.key, ev, lanes, threads, message: `Deadlock: ${deadlockReason(a)}` });
    } else if (ev.k === 'exception') {
      const type = typeof a.type === 'string' ? a.type : 'Exception';
      const msg = typeof a.message === 'string' ? a.message : '';
      this.markers.push({ kind: 'exception', ts: ev.ts, lane: lane.key, ev, lanes: [lane.key], message: msg ? `${type}: ${msg}` : type });
    } else if (ev.k === 'lock.inversion') {
      const locks = Array.isArray(a.locks) ? a.locks.filter((x): x is number => typeof x === 'number') : [];
      const names = locks.map((l) => this.objName(l)).join(' and ');
      this.markers.push({ kind: 'inversion', ts: ev.ts, lane: lane.key, ev, lanes: [lane.key], message: `Lock-order inversion: ${names || 'two locks'} taken in opposite orders` });
    }
  }
}

/** The lowest row of the lane where [s, e) fits without overlapping. */
function freeRow(lane: Lane, s: number, e: number): number {
  for (let d = 0; d < lane.rows.length; d++) {
    const row = lane.rows[d];
    // The common case: the span starts after everything in this row ended (no search needed).
    const n = row.length;
    if (n === 0 || row.maxEnd[n - 1] < s) return d;
    const [lo, hi] = row.range(s, e);
    let clash = false;
    for (let i = lo; i < hi; i++) {
      if (row.ends[i] > s && row.starts[i] < e) { clash = true; break; }
      // Zero-length spans at the same instant still stack rather than hide each other.
      if (row.starts[i] === s && (row.ends[i] === s || e === s)) { clash = true; break; }
    }
    if (!clash) return d;
  }
  return lane.rows.length;
}

function newCounter(name: string): Counter {
  return { name, ts: [], values: [], max: 0 };
}

function push(c: Counter, ts: number, v: number): void {
  const n = c.ts.length;
  if (n === 0 || ts >= c.ts[n - 1]) {
    c.ts.push(ts);
    c.values.push(v);
  } else {
    let i = n;
    while (i > 0 && c.ts[i - 1] > ts) i--;
    c.ts.splice(i, 0, ts);
    c.values.splice(i, 0, v);
  }
  if (v > c.max) c.max = v;
}

/**
 * Batches are time-sorted before folding in, so nesting rows come out right; a whole slice whose
 * start ties another's goes first when longer (the parent of the pair). Already sorted batches
 * (the common case: one process's batch) skip the sort.
 */
export function sortedByTime(batch: readonly TraceEvent[]): readonly TraceEvent[] {
  let sorted = true;
  let prev = batch.length ? batch[0].ts : 0;
  for (let i = 1; i < batch.length; i++) {
    const t = batch[i].ts;
    if (t > prev) { prev = t; continue; }
    if (t < prev || cmp(batch[i - 1], batch[i]) > 0) { sorted = false; break; }
  }
  return sorted ? batch : [...batch].sort(cmp);
}

function cmp(x: TraceEvent, y: TraceEvent): number {
  // Only two whole slices starting together on one thread are reordered (longer = outer first); other ties keep
  // their arrival order (the sort is stable), so already-ordered batches are recognised as such.
  return x.ts - y.ts || (x.ph === 'X' && y.ph === 'X' && x.tid === y.tid && x.pid === y.pid ? (y.dur ?? 0) - (x.dur ?? 0) : 0);
}

/** Label of an event's kind (protocol KINDS label). */
export function kindLabel(ev: TraceEvent): string {
  if (ev.k.startsWith('generic.') && typeof ev.a?.name === 'string') return ev.a.name;
  return KINDS[ev.k].label;
}
