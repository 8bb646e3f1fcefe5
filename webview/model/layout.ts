/**
 * Vertical layout: the process tree (parent → children), inside each process its threads (main
 * first), each thread followed by its asyncio tasks / greenlets, pool workers grouped under a pool
 * header (threads of a thread pool inside the owner process, worker processes of a process pool
 * among the owner's children). Pure: the same model and filters always give the same rows.
 */
import type { Lane, ProcessInfo } from './types';
import type { TimelineModel } from './timeline';

export const ROW_H = 16;
export const HEADER_H = 20;
export const AGG_H = 12;
export const CPU_H = 5;
export const COUNTER_H = 18;
export const LANE_GAP = 3;

export interface LayoutRow {
  type: 'process' | 'pool' | 'lane';
  key: string;
  label: string;
  /** Extra facts shown after the label (pid, exit code, killed/zombie). */
  detail: string;
  y: number;
  height: number;
  indent: number;
  lane?: Lane;
  process?: ProcessInfo;
  pool?: number;
  /** Offsets inside a lane row. */
  cpuY?: number;
  rowsY?: number;
  aggY?: number;
  countersY?: number;
}

export interface LayoutOptions {
  /** Lane keys ("pid/tid[/obj]") and process keys ("p:<pid>") not shown. */
  hidden?: ReadonlySet<string>;
}

export interface Layout {
  rows: LayoutRow[];
  height: number;
  byLane: Map<string, LayoutRow>;
}

export function processKey(pid: number): string {
  return `p:${pid}`;
}

export function laneHeight(lane: Lane): number {
  return (lane.cpu ? CPU_H : 0) + ROW_H * Math.max(1, lane.rows.length) + (lane.aggregates.length ? AGG_H : 0) +
    COUNTER_H * lane.counters.size + LANE_GAP;
}

export function exitText(p: ProcessInfo): string {
  const parts = [`pid ${p.pid}`];
  if (p.exit) {
    if (p.exit.killed) parts.push(p.exit.signal ? `killed by ${p.exit.signal}` : 'killed');
    else if (p.exit.signal) parts.push(`signal ${p.exit.signal}`);
    else parts.push(`exit ${p.exit.code === null ? '?' : p.exit.code}`);
    if (p.exit.zombie) parts.push('zombie');
  }
  if (p.dropped) parts.push(`${p.dropped} events dropped`);
  return parts.join(' · ');
}

export function layout(model: TimelineModel, opts: LayoutOptions = {}): Layout {
  const hidden = opts.hidden ?? new Set<string>();
  const rows: LayoutRow[] = [];
  let y = 0;
  const byLane = new Map<string, LayoutRow>();

  const lanesOf = new Map<number, Lane[]>();
  const tasksOf = new Map<string, Lane[]>();
  for (const lane of model.lanes.values()) {
    if (lane.parentKey) push(tasksOf, lane.parentKey, lane);
    else push(lanesOf, lane.pid, lane);
  }
  const children = new Map<number, ProcessInfo[]>();
  const roots: ProcessInfo[] = [];
  for (const p of model.processes.values()) {
    if (p.ppid !== undefined && model.processes.has(p.ppid) && !isAncestor(model, p.pid, p.ppid)) push(children, p.ppid, p);
    else roots.push(p);
  }

  const addLane = (lane: Lane, indent: number) => {
    if (hidden.has(lane.key)) return;
    const h = laneHeight(lane);
    const cpuY = 0;
    const rowsY = lane.cpu ? CPU_H : 0;
    const aggY = rowsY + ROW_H * Math.max(1, lane.rows.length);
    const countersY = aggY + (lane.aggregates.length ? AGG_H : 0);
    const r: LayoutRow = { type: 'lane', key: lane.key, label: lane.name, detail: laneDetail(lane), y, height: h, indent, lane, cpuY, rowsY, aggY, countersY };
    rows.push(r);
    byLane.set(lane.key, r);
    y += h;
    for (const t of sortByOrder(tasksOf.get(lane.key) ?? [])) addLane(t, indent + 1);
  };
  const header = (type: 'process' | 'pool', key: string, label: string, detail: string, indent: number, extra: Partial<LayoutRow>) => {
    rows.push({ type, key, label, detail, y, height: HEADER_H, indent, ...extra });
    y += HEADER_H;
  };
  const poolLabel = (pool: number, count: number, noun: string) => {
    const o = model.objects.get(pool);
    return { label: o ? o.name : `pool #${pool % 4194304}`, detail: `${count} ${count === 1 ? noun : noun.endsWith('s') ? `${noun}es` : `${noun}s`}` };
  };

  const addProcess = (p: ProcessInfo, indent: number) => {
    if (hidden.has(processKey(p.pid))) return;
    header('process', processKey(p.pid), p.name, exitText(p), indent, { process: p });
    const lanes = sortThreads(lanesOf.get(p.pid) ?? []);
    const pools = new Map<number, Lane[]>();
    for (const lane of lanes) {
      // Threads of a pool owned by another process (a process pool's worker main thread) stay plain lanes.
      const owner = lane.pool !== undefined ? model.objects.get(lane.pool)?.pid : undefined;
      if (lane.pool !== undefined && (owner === undefined || owner === p.pid) && lane.tid !== lane.pid) push(pools, lane.pool, lane);
      else addLane(lane, indent + 1);
    }
    for (const [pool, workers] of pools) {
      const { label, detail } = poolLabel(pool, workers.length, 'worker');
      header('pool', `pool:${p.pid}:${pool}`, label, detail, indent + 1, { pool });
      for (const w of workers) addLane(w, indent + 2);
    }
    const kids = sortByOrder(children.get(p.pid) ?? []);
    const procPools = new Map<number, ProcessInfo[]>();
    for (const c of kids) {
      if (c.pool !== undefined) push(procPools, c.pool, c);
      else addProcess(c, indent + 1);
    }
    for (const [pool, workers] of procPools) {
      const { label, detail } = poolLabel(pool, workers.length, 'worker process');
      header('pool', `pool:${p.pid}:${pool}`, label, detail, indent + 1, { pool });
      for (const w of workers) addProcess(w, indent + 2);
    }
  };
  for (const p of sortByOrder(roots)) addProcess(p, 0);
  return { rows, height: y, byLane };
}

function laneDetail(lane: Lane): string {
  if (lane.kind === 'task') return 'asyncio task';
  if (lane.kind === 'greenlet') return 'greenlet';
  return `tid ${lane.tid}`;
}

/** Guards against a ppid loop in hostile input (a → b → a would never be laid out). */
function isAncestor(model: TimelineModel, pid: number, of: number): boolean {
  let cur: number | undefined = of;
  for (let i = 0; cur !== undefined && i < 10_000; i++) {
    if (cur === pid) return true;
    cur = model.processes.get(cur)?.ppid;
  }
  return false;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function sortByOrder<T extends { order: number }>(a: T[]): T[] {
  return [...a].sort((x, y) => x.order - y.order);
}

function sortThreads(a: Lane[]): Lane[] {
  return [...a].sort((x, y) => Number(y.tid === y.pid) - Number(x.tid === x.pid) || x.order - y.order);
}
