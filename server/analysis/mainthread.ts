/**
 * The main thread as a second writer: the function that starts threads keeps running, so a global it
 * writes between a thread's start() and its join() can race with the thread's own writes (writes after
 * join() cannot). Straight-line order within that function only: positions decide before/after, and a
 * join anywhere after the start, a `for t in threads: t.join()` loop included, ends the window.
 */
import type { Range } from '../../protocol/lsp';
import type { Access, Call, Fn } from './facts';
import type { Entry, ModuleModel } from './model';

export interface MainWindow {
  /** The function that starts the thread (runs in the main thread, or at least not in that thread). */
  fn: Fn;
  entry: Entry;
  start: Call;
  /** The first join() after start(); absent when the thread is not joined in this function. */
  join?: Call;
}

const le = (a: Range['start'], b: Range['start']) => a.line < b.line || (a.line === b.line && a.character <= b.character);
const inside = (inner: Range, outer: Range) => le(outer.start, inner.start) && le(inner.end, outer.end);

/** Where each thread entry of this file is started and joined by the function that creates it. */
export function mainWindows(m: ModuleModel): MainWindow[] {
  const out: MainWindow[] = [];
  for (const entry of m.entries) {
    if (entry.kind !== 'thread' || entry.file || entry.via) continue;
    const fn = m.fns.find((f) => f.calls.some((c) => c.range === entry.site));
    if (!fn || m.threadContexts(fn).length) continue; // started from another thread: not the main thread's window
    const create = fn.calls.find((c) => c.range === entry.site)!;
    const handles = handleNames(fn, create);
    const isHandle = (c: Call) => (c.receiver !== undefined && handles.has(c.receiver)) || (c.receiver !== undefined && inside(create.range, c.range));
    const start = fn.calls.find((c) => c.method === 'start' && !c.args.length && isHandle(c) && le(create.range.start, c.range.start));
    if (!start) continue;
    const join = fn.calls.find((c) => c.method === 'join' && isHandle(c) && le(start.range.end, c.range.start));
    out.push({ fn, entry, start, join });
  }
  return out;
}

/** Names the created thread is reachable by: `t = Thread(…)`, `ts = [Thread(…) …]`, `ts.append(Thread(…))`, `for t in ts`. */
function handleNames(fn: Fn, create: Call): Set<string> {
  const names = new Set<string>();
  for (const b of fn.bindings) if (!b.selfAttr && !b.iterates && inside(b.range, create.stmt.range) && le(b.range.end, create.range.start)) names.add(b.name);
  for (const c of fn.calls) if (c !== create && c.receiver && /^(append|add|extend|insert)$/.test(c.method) && inside(create.range, c.range)) names.add(c.receiver);
  for (const b of fn.bindings) if (b.iterates && names.has(b.iterates.trim())) names.add(b.name);
  return names;
}

/** Writes of `w.fn` inside a window (after start(), before join()). */
export function writesInWindow(w: MainWindow): Access[] {
  return w.fn.accesses.filter((a) => a.kind !== 'read' && le(w.start.range.end, a.range.start) && (!w.join || le(a.range.end, w.join.range.start)));
}
