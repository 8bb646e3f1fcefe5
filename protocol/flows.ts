/**
 * Cross-lane links ("arrows") derived from events that share a `corr`.
 *
 * Within one correlation group, sorted by time, a `src` (or `fanout`/`relay`) event becomes the
 * current source; each following `dst` links from it. A `src` is consumed by its first `dst`; a
 * `fanout` (Condition.notify_all, Event.set) links to every later `dst`; a `relay` (a Chrome `t`
 * step) is a `dst` that then becomes the source. Links within one lane are not drawn.
 */
import { FlowRole, KINDS, laneObj, TraceEvent } from './events';

export type Role = FlowRole | 'relay';

export function flowRole(ev: TraceEvent): Role | undefined {
  if (ev.corr === undefined) return undefined;
  if (ev.k === 'generic.flow') {
    const dir = ev.a?.dir;
    return dir === 'in' ? 'dst' : dir === 'step' ? 'relay' : 'src';
  }
  const flow = (KINDS[ev.k] as { flow?: Partial<Record<string, FlowRole>> }).flow;
  return flow?.[ev.ph];
}

export function laneKey(ev: TraceEvent): string {
  const o = laneObj(ev);
  return o === undefined ? `${ev.pid}/${ev.tid}` : `${ev.pid}/${ev.tid}/${o}`;
}

export interface Link<T extends TraceEvent = TraceEvent> {
  from: T;
  to: T;
}

/** Links of one correlation group (events in any order). */
export function linkGroup<T extends TraceEvent>(group: readonly T[]): Link<T>[] {
  const withRoles = group
    .map((ev) => ({ ev, role: flowRole(ev) }))
    .filter((x): x is { ev: T; role: Role } => x.role !== undefined)
    // Sources sort before destinations at equal timestamps: a put and its get can share a microsecond.
    .sort((x, y) => x.ev.ts - y.ev.ts || rank(x.role) - rank(y.role));
  const links: Link<T>[] = [];
  let current: { ev: T; role: Role } | undefined;
  for (const x of withRoles) {
    if (x.role === 'src' || x.role === 'fanout') {
      current = x;
      continue;
    }
    if (current && laneKey(current.ev) !== laneKey(x.ev)) links.push({ from: current.ev, to: x.ev });
    if (x.role === 'relay') current = x;
    else if (current && current.role !== 'fanout') current = undefined;
  }
  return links;
}

function rank(r: Role): number {
  return r === 'dst' ? 1 : 0;
}

/** Whether an X of this kind links at both ends: a kind whose begin and end both take part in links
 * (a pool task: submitted -> runs -> its result), recorded as one X when it ends. */
export function linksAtBothEnds(ev: TraceEvent): boolean {
  const flow = (KINDS[ev.k] as { flow?: Partial<Record<string, FlowRole>> }).flow;
  return ev.ph === 'X' && ev.corr !== undefined && flow?.b !== undefined && flow?.e !== undefined;
}

/** The event as it takes part in links: such an X as its begin and its end. */
export function flowPoints<T extends TraceEvent>(ev: T): T[] {
  if (!linksAtBothEnds(ev)) return [ev];
  const { dur, ...rest } = ev;
  return [{ ...rest, ph: 'b' } as T, { ...rest, ph: 'e', ts: ev.ts + (dur ?? 0) } as T];
}

/** All links of a set of events, grouped by corr. */
export function linkAll<T extends TraceEvent>(events: Iterable<T>): Link<T>[] {
  const groups = new Map<number, T[]>();
  for (const ev0 of events) {
    if (ev0.corr === undefined) continue;
    let g = groups.get(ev0.corr);
    if (!g) groups.set(ev0.corr, (g = []));
    for (const ev of flowPoints(ev0)) g.push(ev);
  }
  const out: Link<T>[] = [];
  for (const g of groups.values()) if (g.length > 1) out.push(...linkGroup(g));
  return out;
}
