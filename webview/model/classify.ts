/** Which kinds become lanes' lifetimes, intervals (and in which state), drawn instants or markers. */
import type { Kind } from '../../protocol';
import type { ArrowKind, IntervalState } from './types';

/** Kinds whose b/e (or X) span a lane's whole life: drawn as the lane's "running" background. */
export const LIFETIME_KINDS: ReadonlySet<Kind> = new Set<Kind>(['thread.run', 'async.task', 'greenlet.run']);

const STATE: Partial<Record<Kind, IntervalState>> = {
  'lock.wait': 'wait',
  'lock.hold': 'hold',
  'sync.wait': 'blocked',
  'msg.wait': 'blocked',
  'thread.join': 'blocked',
  'process.join': 'blocked',
  'pool.wait': 'blocked',
  'async.wait': 'blocked',
  'manager.call': 'blocked',
  'thread.sleep': 'sleep',
  'pool.task': 'running',
  'async.step': 'running',
  'async.slow': 'slow',
  'generic.slice': 'generic',
};

export function intervalState(k: Kind): IntervalState | undefined {
  return STATE[k];
}

/** Interval states in the order their style tags use. */
export const INTERVAL_STATES: readonly IntervalState[] = ['running', 'wait', 'hold', 'blocked', 'sleep', 'slow', 'generic'];
const STATE_INDEX = Object.fromEntries(INTERVAL_STATES.map((s, i) => [s, i])) as Record<IntervalState, number>;
/** A style tag whose interval must be opened to learn its style (a lock id too large to pack). */
export const TAG_OPEN_ITEM = 7;

/**
 * The tag an interval is stored with in its row (SortedSpans.tags): its state and, for lock waits and
 * holds, its lock — what drawing needs to colour it — packed as (obj + 1) * 8 + state, so a frame over
 * tens of thousands of slices reads numbers from one array instead of opening each interval object.
 * Equal tags mean the same style (generic slices aside: their colour comes from their name).
 */
export function intervalTag(state: IntervalState, obj: number | undefined): number {
  const s = STATE_INDEX[state];
  if ((state !== 'hold' && state !== 'wait') || obj === undefined) return s;
  const tag = (obj + 1) * 8 + s;
  return Number.isSafeInteger(tag) && obj >= 0 ? tag : TAG_OPEN_ITEM;
}

/** The state a style tag packs (undefined for TAG_OPEN_ITEM). */
export function tagState(tag: number): IntervalState | undefined {
  return INTERVAL_STATES[tag % 8];
}

/** The lock a style tag packs, if any. */
export function tagObj(tag: number): number | undefined {
  const o = Math.floor(tag / 8);
  return o > 0 ? o - 1 : undefined;
}

/**
 * Groups of instants that share a tick colour: messages, failures, wake-ups, pool tasks, shared
 * writes, shared reads, the rest. Ticks of one group next to each other are drawn as one bar; the
 * renderer gives each group its colour (render/draw TICK_COLOURS follows this order).
 */
export const TICK_GROUPS = ['message', 'error', 'wake', 'task', 'write', 'read', 'other'] as const;
export type TickGroup = (typeof TICK_GROUPS)[number];

export function tickGroup(k: Kind): number {
  switch (k) {
    case 'msg.send': case 'msg.recv': return 0;
    case 'exception': case 'lock.fail': return 1;
    case 'sync.notify': return 2;
    case 'pool.submit': case 'pool.result': return 3;
    case 'shared.write': return 4;
    case 'shared.read': return 5;
    default: return 6;
  }
}

/**
 * Instants worth a tick on their lane (definitions like lock.create only name things). A lock.release
 * gets none: it is where its wake arrow starts, at the end of a hold, and a tick there would take the
 * clicks meant for the hold.
 */
export const DRAWN_INSTANTS: ReadonlySet<Kind> = new Set<Kind>([
  'msg.send', 'msg.recv', 'exception', 'lock.fail', 'sync.notify', 'pool.submit', 'pool.result',
  'shared.read', 'shared.write', 'process.signal', 'process.spawn', 'thread.spawn', 'async.spawn',
  'greenlet.switch', 'local.bind', 'generic.instant', 'deadlock', 'lock.inversion', 'pool.op',
]);

/** Instants the bounded model may fold into density counts once the event budget is spent. */
export const FOLDABLE: ReadonlySet<Kind> = new Set<Kind>([
  'lock.wait', 'lock.hold', 'msg.send', 'msg.recv', 'shared.read', 'shared.write', 'async.step',
  'generic.slice', 'generic.instant', 'local.bind', 'greenlet.switch', 'lock.fail',
]);

/** Arrow kind from the source event's kind. */
export function arrowKind(from: Kind): ArrowKind {
  switch (from) {
    case 'msg.send': return 'message';
    case 'pool.submit': case 'pool.task': return 'task';
    case 'thread.spawn': case 'process.spawn': case 'async.spawn': return 'spawn';
    case 'thread.run': case 'process.exit': return 'join';
    case 'sync.notify': case 'lock.release': return 'wake';
    default: return 'flow';
  }
}

/** Kinds whose `obj` is a lock-like primitive (coloured per lock, summarised per lock). */
export function isLockKind(k: Kind): boolean {
  return k === 'lock.wait' || k === 'lock.hold' || k === 'lock.fail' || k === 'lock.create' || k === 'sync.wait' || k === 'lock.release';
}

/** Per-kind flags, so folding an event in costs one property lookup rather than a set lookup per rule. */
export const F_LIFETIME = 1;
export const F_INTERVAL = 2;
export const F_DRAWN = 4;
export const F_FOLDABLE = 8;
/** Naming and bookkeeping records do not stretch the time axis. */
export const F_NO_EXTENT = 16;
/** Definitions draw nothing and make no lane. */
export const F_NO_LANE = 32;
/** Carries process/thread/object facts (names, parents, exits). */
export const F_DESCRIBE = 64;

const NO_EXTENT_KINDS: Kind[] = ['thread.name', 'run.meta', 'process.summary'];
const NO_LANE_KINDS: Kind[] = ['run.meta', 'process.summary', 'lock.create', 'chan.create', 'pool.create', 'shared.create'];
const DESCRIBE_KINDS: Kind[] = ['run.meta', 'process.start', 'process.spawn', 'process.exit', 'process.summary', 'thread.name', 'lock.create', 'chan.create', 'pool.create', 'shared.create'];

export const KIND_FLAGS: Readonly<Record<string, number>> = (() => {
  const f: Record<string, number> = {};
  const set = (ks: Iterable<Kind>, bit: number) => { for (const k of ks) f[k] = (f[k] ?? 0) | bit; };
  for (const k of Object.keys(STATE) as Kind[]) f[k] = (f[k] ?? 0) | F_INTERVAL;
  set(LIFETIME_KINDS, F_LIFETIME);
  set(DRAWN_INSTANTS, F_DRAWN);
  set(FOLDABLE, F_FOLDABLE);
  set(NO_EXTENT_KINDS, F_NO_EXTENT);
  set(NO_LANE_KINDS, F_NO_LANE);
  set(DESCRIBE_KINDS, F_DESCRIBE);
  return f;
})();
