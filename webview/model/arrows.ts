/**
 * Arrows, kept incrementally: events with a `corr` are grouped; on each flush only the groups that
 * received events are re-linked with protocol `linkGroup` (so a receive that arrives before its send,
 * from another process's connection, still pairs once the send shows up). Links that a re-pairing
 * no longer produces are marked dead rather than spliced out of the time index.
 */
import { DeadlockThread, flowRole, KINDS, laneKey, Link, linkGroup, TraceEvent } from '../../protocol';
import { arrowKind } from './classify';
import { SortedSpans } from './spans';
import type { Arrow } from './types';

export class ArrowIndex {
  /** Arrows by their earlier end's time; an arrow spans [min(ts), max(ts)]. */
  readonly spans = new SortedSpans<Arrow>();
  alive = 0;
  /** Live arrows per kind. */
  readonly byKind: Record<string, number> = {};
  private readonly groups = new Map<number, TraceEvent[]>();
  private readonly links = new Map<number, Arrow[]>();
  private readonly dirty = new Set<number>();

  offer(ev: TraceEvent): void {
    if (ev.corr === undefined) return;
    if (ev.ph === 'X') {
      for (const e of endpointsOfX(ev)) this.push(e);
      return;
    }
    this.push(ev);
  }

  private push(ev: TraceEvent & { corr?: number }): void {
    if (ev.corr === undefined) return;
    let g = this.groups.get(ev.corr);
    if (!g) this.groups.set(ev.corr, (g = []));
    g.push(ev);
    if (g.length > 1) this.dirty.add(ev.corr);
  }

  flush(laneExists: (key: string) => boolean): void {
    for (const corr of this.dirty) {
      const group = this.groups.get(corr)!;
      const fresh = group.length === 2 ? linkPair(group[0], group[1]) : linkGroup(group);
      const old = this.links.get(corr) ?? [];
      const next: Arrow[] = [];
      for (const l of fresh) {
        const kept = old.find((a) => a.alive && a.from === l.from && a.to === l.to);
        if (kept) { next.push(kept); continue; }
        const fromLane = laneKey(l.from);
        const toLane = laneKey(l.to);
        if (!laneExists(fromLane) || !laneExists(toLane)) continue;
        const arrow: Arrow = { from: l.from, to: l.to, fromLane, toLane, kind: arrowKind(l.from.k), alive: true };
        this.insert(arrow);
        next.push(arrow);
      }
      for (const a of old) {
        if (a.alive && !next.includes(a)) { a.alive = false; this.alive--; this.byKind[a.kind]--; }
      }
      this.links.set(corr, next);
    }
    this.dirty.clear();
  }

  /** The threads of every deadlock report so far, with the time of their report. */
  private readonly deadlocked: { ts: number; t: DeadlockThread }[] = [];
  private readonly deadlockLinks = new Set<string>();

  /**
   * Red arrows of a deadlock: each blocked thread → the holder of what it waits for, or → the threads
   * listed for the process it waits for (a join, a child blocked on a pipe to it). Each process watches
   * its own threads, so processes deadlocked on each other's locks send one report each: a waiter is
   * also linked to a holder named by another report (at the later report's time).
   */
  deadlock(ev: TraceEvent, threads: readonly DeadlockThread[]): void {
    const fresh = threads.map((t) => ({ ts: ev.ts, t }));
    const all = [...this.deadlocked, ...fresh];
    for (const w of all) {
      const t = w.t;
      const proc = typeof t.waitingForProcess === 'number' ? t.waitingForProcess : undefined;
      if (t.waitingFor === undefined && proc === undefined) continue;
      for (const hh of all) {
        const h = hh.t;
        if (!fresh.includes(w) && !fresh.includes(hh)) continue;   // linked when the later one came
        if (h === t) continue;
        const holds = t.waitingFor !== undefined && Array.isArray(h.holding) && h.holding.includes(t.waitingFor);
        if (!holds && (proc === undefined || h.pid !== proc)) continue;
        const key = `${t.pid}/${t.tid}>${h.pid}/${h.tid}#${holds ? t.waitingFor : 'p'}`;
        if (this.deadlockLinks.has(key)) continue;
        this.deadlockLinks.add(key);
        const ts = Math.max(w.ts, hh.ts);
        const from: TraceEvent = { k: 'deadlock', ph: 'i', ts, pid: t.pid, tid: t.tid, obj: t.waitingFor };
        const to: TraceEvent = { k: 'deadlock', ph: 'i', ts, pid: h.pid, tid: h.tid, obj: t.waitingFor };
        this.insert({ from, to, fromLane: `${t.pid}/${t.tid}`, toLane: `${h.pid}/${h.tid}`, kind: 'deadlock', alive: true });
      }
    }
    this.deadlocked.push(...fresh);
  }

  private insert(a: Arrow): void {
    const t0 = Math.min(a.from.ts, a.to.ts);
    const t1 = Math.max(a.from.ts, a.to.ts);
    this.spans.add(t0, t1, a);
    this.alive++;
    this.byKind[a.kind] = (this.byKind[a.kind] ?? 0) + 1;
  }
}

/**
 * A whole (X) interval stands for its b and e ends: saved traces merge b/e pairs into X slices, and
 * a join's or a wait's link lands at its end, a task's result leaves from its end.
 */
function endpointsOfX(ev: TraceEvent): TraceEvent[] {
  const flow = (KINDS[ev.k] as { flow?: Partial<Record<string, string>> }).flow;
  if (!flow || (!flow.b && !flow.e)) return [ev];
  const out: TraceEvent[] = [];
  if (flow.b) out.push({ ...ev, ph: 'b', dur: undefined });
  if (flow.e) out.push({ ...ev, ph: 'e', ts: ev.ts + (ev.dur ?? 0), dur: undefined });
  return out;
}

/**
 * protocol linkGroup for the common two-event group (one send, one receive), without its
 * intermediate arrays: same rules — the source (src/fanout/relay) must come first (a source wins a
 * tie), and a link never stays within one lane.
 */
export function linkPair(a: TraceEvent, b: TraceEvent): Link[] {
  const ra = flowRole(a), rb = flowRole(b);
  if (ra === undefined || rb === undefined) return linkGroup([a, b]);
  let first = a, second = b, r1 = ra, r2 = rb;
  if (b.ts < a.ts || (b.ts === a.ts && rb !== 'dst' && ra === 'dst')) { first = b; second = a; r1 = rb; r2 = ra; }
  if (r1 === 'dst' || r2 !== 'dst' && r2 !== 'relay') return [];
  return laneKey(first) === laneKey(second) ? [] : [{ from: first, to: second }];
}
