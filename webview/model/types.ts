/**
 * Shapes of the timeline model: what the model derives from `TraceEvent`s (protocol/events.ts).
 * Pure data — no DOM, no d3 — so the model is tested with mocha alone.
 */
import type { DeadlockThread, Kind, TraceEvent } from '../../protocol';
import type { SortedSpans } from './spans';

/** How an interval is drawn; one fill style (or pattern) per state, lock intervals also coloured per lock. */
export type IntervalState =
  | 'running'   // pool task, asyncio step: the lane is doing work
  | 'wait'      // waiting to acquire a lock (hatched, lock colour)
  | 'hold'      // holding a lock (solid, lock colour)
  | 'blocked'   // queue/pipe/join/event/condition/pool/await/manager call
  | 'sleep'
  | 'slow'      // an asyncio callback that blocked the loop
  | 'generic';  // a slice from another tool's trace

export type LaneKind = 'thread' | 'task' | 'greenlet';

export interface Interval {
  readonly lane: Lane;
  readonly k: Kind;
  readonly state: IntervalState;
  start: number;
  /** +Infinity while still open (no `e` yet); draw to the newest timestamp. */
  end: number;
  depth: number;
  readonly obj?: number;
  /** The `b` or `X` event. */
  readonly begin: TraceEvent;
  /** The closing `e` event, once it arrived. */
  close?: TraceEvent;
  /** Density or counted operations: how many operations this bar stands for. */
  count?: number;
}

export interface Instant {
  readonly lane: Lane;
  readonly ev: TraceEvent;
  /** ev.k, kept on the instant: drawing and filters read it often, and instants share one shape (events do not). */
  readonly k: Kind;
}

/** A counter series (CPU of a thread, or a generic counter from another tool). Sorted by ts. */
export interface Counter {
  readonly name: string;
  readonly ts: number[];
  readonly values: number[];
  max: number;
}

export interface Lane {
  /** protocol `laneKey`: "pid/tid" or "pid/tid/obj". */
  readonly key: string;
  readonly pid: number;
  readonly tid: number;
  readonly obj?: number;
  readonly kind: LaneKind;
  name: string;
  /** True once the program (or a trace) named it; otherwise `name` is derived. */
  named: boolean;
  /** Creation order, to keep lanes stable while they stream in. */
  readonly order: number;
  /** Thread / task / greenlet lifetimes (a tid can be reused by a later thread). */
  readonly lifetimes: SortedSpans<Interval>;
  /** Interval rows, one per nesting depth; spans within a row do not overlap. */
  readonly rows: SortedSpans<Interval>[];
  readonly instants: SortedSpans<Instant>;
  /** Counted operations: the runtime's `aggregate` events and the model's own density buckets. */
  readonly aggregates: SortedSpans<Interval>;
  cpu?: Counter;
  readonly counters: Map<string, Counter>;
  /** The pool this lane works for (it ran a pool.task). */
  pool?: number;
  /** For task/greenlet lanes: the thread lane they run in. */
  readonly parentKey?: string;
  first: number;
  last: number;
}

export interface ProcessExit {
  code: number | null;
  signal?: string;
  killed?: boolean;
  zombie?: boolean;
}

export interface ProcessInfo {
  readonly pid: number;
  ppid?: number;
  name: string;
  named: boolean;
  method?: string;
  external?: boolean;
  exit?: ProcessExit;
  start?: number;
  /** The pool this process works for (process pools). */
  pool?: number;
  readonly order: number;
  cpu?: Counter;
  emitted?: number;
  dropped?: number;
}

export type ObjKind = 'lock' | 'chan' | 'pool' | 'shared' | 'task' | 'greenlet' | 'other';

export interface ObjInfo {
  readonly obj: number;
  kind: ObjKind;
  /** e.g. 'Lock', 'mp.Queue', 'ThreadPoolExecutor'. */
  type: string;
  name: string;
  /** Index among locks, for the lock palette. */
  colour: number;
  pid: number;
}

export type ArrowKind = 'message' | 'task' | 'spawn' | 'join' | 'wake' | 'flow' | 'deadlock';

export interface Arrow {
  readonly from: TraceEvent;
  readonly to: TraceEvent;
  readonly fromLane: string;
  readonly toLane: string;
  readonly kind: ArrowKind;
  /** False once a later event re-paired its correlation group and this link no longer holds. */
  alive: boolean;
}

export type MarkerKind = 'deadlock' | 'exception' | 'inversion';

export interface Marker {
  readonly kind: MarkerKind;
  readonly ts: number;
  readonly lane: string;
  readonly ev: TraceEvent;
  /** Deadlock: the lanes of the cycle (or of every blocked thread). */
  readonly lanes: string[];
  readonly threads?: DeadlockThread[];
  readonly message: string;
}
