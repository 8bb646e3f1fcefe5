/**
 * The runtime records an asyncio task's creation and its first run step as one `async.task` begin
 * (a.spawnTs: when create_task ran, loc: the creator's line, a.parent: the creating task), one event
 * per task instead of two on the hottest asyncio path. The timeline still shows the creation as an
 * `async.spawn` instant on the creator's lane with an arrow to the task's start; this restores it.
 */
import type { Args, TraceEvent } from '../../protocol';

/** The creator-side `async.spawn` a merged task start stands for, or undefined for any other event. */
export function spawnOfTaskStart(ev: TraceEvent): TraceEvent | undefined {
  if (ev.k !== 'async.task' || ev.ph !== 'b') return undefined;
  const a = ev.a;
  const ts = a?.spawnTs;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ev.corr === undefined) return undefined;
  const sa: Args = {};
  if (typeof a?.name === 'string') sa.name = a.name;
  // The creating task's lane (protocol laneObj reads a.task); none when made outside any task.
  if (typeof a?.parent === 'number' && Number.isFinite(a.parent)) sa.task = a.parent;
  const spawn: TraceEvent = { k: 'async.spawn', ph: 'i', ts: Math.min(ts, ev.ts), pid: ev.pid, tid: ev.tid, obj: ev.obj, corr: ev.corr, a: sa };
  if (ev.loc !== undefined) spawn.loc = ev.loc;
  return spawn;
}

/** The batch with each merged task start preceded by its spawn (the same array when there is none). */
export function withTaskSpawns(batch: readonly TraceEvent[]): readonly TraceEvent[] {
  let out: TraceEvent[] | undefined;
  for (let i = 0; i < batch.length; i++) {
    const ev = batch[i];
    const spawn = ev.k === 'async.task' ? spawnOfTaskStart(ev) : undefined;
    if (spawn) {
      if (!out) out = batch.slice(0, i);
      out.push(spawn);
    }
    if (out) out.push(ev);
  }
  return out ?? batch;
}
