/**
 * The summary panel's numbers, derived from the model on demand: per lock (acquisitions, waits,
 * hold time, contention, owners), per thread (CPU, blocked time), parallelism achieved and
 * messages per channel.
 */
import type { TimelineModel } from './timeline';
import type { Counter, Interval, Lane } from './types';

export interface LockSummary {
  obj: number;
  name: string;
  type: string;
  acquisitions: number;
  /** Acquisitions that had to wait. */
  contended: number;
  totalWaitUs: number;
  maxWaitUs: number;
  totalHoldUs: number;
  /** contended / acquisitions, in percent. */
  contentionPct: number;
  owners: string[];
  /** Releases that let a waiter in (lock.release → its wait's end). */
  handoffs: number;
  /**
   * Median time from such a release to the waiter having the lock (the waiter's wake-up), over the
   * releases that were timed (not a.approx); undefined when none was.
   */
  medianHandoffUs?: number;
}

export interface ThreadSummary {
  key: string;
  name: string;
  pid: number;
  lifetimeUs: number;
  blockedUs: number;
  /** Average CPU use (percent of one core) over the samples, when sampled. */
  cpuPct?: number;
}

export interface ChannelSummary {
  obj: number;
  name: string;
  type: string;
  sent: number;
  received: number;
  bytes: number;
}

export interface Summary {
  wallUs: number;
  /** Average number of threads not blocked while alive, over the run: 1.0 = no parallelism. */
  parallelism: number;
  locks: LockSummary[];
  threads: ThreadSummary[];
  channels: ChannelSummary[];
  events: number;
  folded: number;
}

export function summarize(model: TimelineModel): Summary {
  const now = model.now;
  const locks = new Map<number, LockSummary & { ownerSet: Set<string>; latencies: number[] }>();
  const lock = (obj: number) => {
    let s = locks.get(obj);
    if (!s) {
      const o = model.objects.get(obj);
      s = { obj, name: model.objName(obj), type: o?.type ?? 'lock', acquisitions: 0, contended: 0, totalWaitUs: 0, maxWaitUs: 0, totalHoldUs: 0, contentionPct: 0, owners: [], ownerSet: new Set(), handoffs: 0, latencies: [] };
      locks.set(obj, s);
    }
    return s;
  };
  const channels = new Map<number, ChannelSummary>();
  const chan = (obj: number) => {
    let c = channels.get(obj);
    if (!c) {
      const o = model.objects.get(obj);
      channels.set(obj, (c = { obj, name: model.objName(obj), type: o?.type ?? 'channel', sent: 0, received: 0, bytes: 0 }));
    }
    return c;
  };
  const threads: ThreadSummary[] = [];
  let running = 0;
  const dur = (iv: Interval) => Math.max(0, (iv.end === Infinity ? now : iv.end) - iv.start);

  for (const lane of model.lanes.values()) {
    let blocked = 0;
    for (const row of lane.rows) {
      for (const iv of row.items) {
        const d = dur(iv);
        if (iv.state === 'wait' || iv.state === 'blocked' || iv.state === 'sleep') blocked += d;
        if (iv.obj === undefined) continue;
        if (iv.k === 'lock.hold') {
          const s = lock(iv.obj);
          s.acquisitions++;
          s.totalHoldUs += d;
          s.ownerSet.add(lane.name);
        } else if (iv.k === 'lock.wait') {
          const s = lock(iv.obj);
          s.contended++;
          s.totalWaitUs += d;
          if (d > s.maxWaitUs) s.maxWaitUs = d;
        }
      }
    }
    for (const ag of lane.aggregates.items) {
      if (ag.obj === undefined || ag.begin.a?.what !== 'lock') continue;
      const s = lock(ag.obj);
      s.acquisitions += ag.count ?? 0;
      if (typeof ag.begin.a?.holdUs === 'number') s.totalHoldUs += ag.begin.a.holdUs;
      s.ownerSet.add(lane.name);
    }
    for (const inst of lane.instants.items) {
      const ev = inst.ev;
      if (ev.obj === undefined) continue;
      if (ev.k === 'msg.send') {
        const c = chan(ev.obj);
        c.sent++;
        if (typeof ev.a?.size === 'number') c.bytes += ev.a.size;
      } else if (ev.k === 'msg.recv') chan(ev.obj).received++;
    }
    if (lane.kind !== 'thread') continue;
    const life = lifetimeOf(lane, now);
    running += Math.max(0, life - blocked);
    const t: ThreadSummary = { key: lane.key, name: lane.name, pid: lane.pid, lifetimeUs: life, blockedUs: blocked };
    if (lane.cpu && lane.cpu.values.length) t.cpuPct = mean(lane.cpu);
    threads.push(t);
  }
  // Hand-offs: the arrows from a release to the end of the wait it let in.
  for (const a of model.arrows.spans.items) {
    if (!a.alive || a.from.k !== 'lock.release' || a.from.obj === undefined) continue;
    const s = lock(a.from.obj);
    s.handoffs++;
    if (a.from.a?.approx !== true) s.latencies.push(Math.max(0, a.to.ts - a.from.ts));
  }
  const wallUs = Number.isFinite(model.minTs) ? Math.max(0, model.maxTs - model.minTs) : 0;
  const lockList = [...locks.values()].map(({ ownerSet, latencies, ...s }) => {
    // A contended acquisition is also counted as a hold; waits that timed out never held.
    const acquisitions = Math.max(s.acquisitions, s.contended);
    const out: LockSummary = { ...s, acquisitions, owners: [...ownerSet].sort(), contentionPct: acquisitions ? (100 * s.contended) / acquisitions : 0 };
    if (latencies.length) out.medianHandoffUs = median(latencies);
    return out;
  });
  lockList.sort((a, b) => b.totalWaitUs - a.totalWaitUs || b.acquisitions - a.acquisitions);
  threads.sort((a, b) => b.blockedUs - a.blockedUs);
  return {
    wallUs,
    parallelism: wallUs > 0 ? running / wallUs : 0,
    locks: lockList,
    threads,
    channels: [...channels.values()].sort((a, b) => b.sent - a.sent),
    events: model.received,
    folded: model.folded,
  };
}

/** Time the thread was alive: its recorded lifetimes, else the span of its events. */
function lifetimeOf(lane: Lane, now: number): number {
  if (lane.lifetimes.length) {
    let t = 0;
    for (const iv of lane.lifetimes.items) t += Math.max(0, (iv.end === Infinity ? now : iv.end) - iv.start);
    return t;
  }
  return Number.isFinite(lane.first) ? Math.max(0, lane.last - lane.first) : 0;
}

function mean(c: Counter): number {
  let s = 0;
  for (const v of c.values) s += v;
  return s / c.values.length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
