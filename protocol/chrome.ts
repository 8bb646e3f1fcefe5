/**
 * The saved/exported format: Chrome Trace Event JSON (`{"traceEvents": [...], "metadata": {...}}`),
 * loadable in Perfetto and chrome://tracing.
 *
 * Mapping of our events: intervals (`b`/`e` pairs and `X`) are written as `X` slices; instants as
 * `i` (thread scope); counters as `C`; every cross-lane link as a flow pair (`s` then `f` with
 * `bp: "e"`); process and thread names as `M` metadata. Our own fields ride in `args`:
 * `{ k, obj?, corr?, loc?, ...a }`, so reading a saved file gives back the same `TraceEvent`s.
 * An interval written as `X` keeps its begin's `corr` and its end's as `ecorr`; a reader splits such a slice
 * back into `b`/`e` so links at both ends survive (a thread's spawn and its join, a task's submit and result).
 * Kind-specific `a` fields never use the names `k`, `obj`, `corr`, `ecorr`, `loc`, `unfinished`.
 *
 * The Python runtime writes this format itself (`runtime/interleave/chrome.py`); both follow this file.
 */
import { Args, Category, isKind, Json, Kind, KINDS, TraceEvent } from './events';
import { linkAll, linksAtBothEnds } from './flows';
import { isObject, isPhaseOf } from './wire';

export const PRODUCER = 'interleave';
export const FORMAT_VERSION = 1;

export interface ChromeEvent {
  name: string;
  cat?: string;
  ph: string;
  ts: number;
  pid: number | string;
  tid: number | string;
  dur?: number;
  id?: number | string;
  bp?: string;
  s?: string;
  args?: Record<string, unknown>;
}

export interface ProcessSummary {
  pid: number;
  name: string;
  emitted: number;
  dropped: number;
}

export interface TraceMetadata {
  producer: typeof PRODUCER;
  formatVersion: number;
  /** Kind name → wire code, so a reader can tell which protocol wrote the file. */
  kinds: Record<string, number>;
  mode?: 'default' | 'full';
  argv?: string[];
  python?: string;
  exitCode?: number | null;
  /** Per-process emitted/dropped counts and their totals. */
  processes?: ProcessSummary[];
  totals?: { emitted: number; dropped: number };
  /** What the supervisor did with each signal it received (forwarded to the program or not, and why). */
  signals?: Array<{ signal: string; forwarded: boolean; why: string }>;
  [key: string]: unknown;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  metadata?: Partial<TraceMetadata> & Record<string, unknown>;
}

export function kindCodes(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(KINDS) as Kind[]) out[k] = KINDS[k].code;
  return out;
}

/** Converts our events to a Chrome trace. Unclosed intervals end at the last timestamp, marked `unfinished`. */
export function toChrome(events: readonly TraceEvent[], meta: Partial<TraceMetadata> = {}): ChromeTrace {
  const out: ChromeEvent[] = [producerMark()];
  const open = new Map<string, TraceEvent[]>();
  let lastTs = 0;
  for (const ev of events) lastTs = Math.max(lastTs, ev.ts + (ev.dur ?? 0));
  const names = new Map<string, string>();

  for (const ev of events) {
    if (ev.k === 'thread.name' || (ev.k === 'thread.run' && ev.ph === 'b')) {
      const name = ev.a?.name;
      if (typeof name === 'string') names.set(`t${ev.pid}/${ev.tid}`, name);
    }
    if (ev.k === 'process.start' && typeof ev.a?.name === 'string') names.set(`p${ev.pid}`, ev.a.name);
    if (ev.ph === 'b') {
      const key = intervalKey(ev);
      let stack = open.get(key);
      if (!stack) open.set(key, (stack = []));
      stack.push(ev);
      continue;
    }
    if (ev.ph === 'e') {
      const begin = open.get(intervalKey(ev))?.pop();
      const start = begin ?? ev;
      const merged: TraceEvent = { ...start, ph: 'X', dur: Math.max(0, ev.ts - start.ts) };
      const a = { ...(begin?.a ?? {}), ...(ev.a ?? {}) };
      if (Object.keys(a).length) merged.a = a;
      // The begin's corr stays `corr`; the end's (a join, a result) travels as `ecorr` so both links survive.
      if (begin?.corr === undefined) delete merged.corr;
      out.push(chromeOf(merged, ev.corr !== undefined ? { ecorr: ev.corr } : undefined));
      continue;
    }
    // An X that links at both ends carries its corr as `ecorr` too, so that a reader splits it and
    // keeps both links (as for an interval written from a begin/end pair).
    out.push(chromeOf(ev, linksAtBothEnds(ev) && ev.corr !== undefined ? { ecorr: ev.corr } : undefined));
  }
  for (const stack of open.values()) {
    for (const begin of stack) {
      out.push(chromeOf({ ...begin, ph: 'X', dur: Math.max(0, lastTs - begin.ts) }, { unfinished: true }));
    }
  }
  let flowId = 1;
  for (const link of linkAll(events)) {
    const id = flowId++;
    out.push({ name: 'link', cat: KINDS[link.from.k].cat, ph: 's', id, ts: link.from.ts, pid: link.from.pid, tid: link.from.tid });
    out.push({ name: 'link', cat: KINDS[link.from.k].cat, ph: 'f', bp: 'e', id, ts: link.to.ts, pid: link.to.pid, tid: link.to.tid });
  }
  for (const [key, name] of names) {
    const [pid, tid] = key.slice(1).split('/').map(Number);
    out.push(key[0] === 'p'
      ? { name: 'process_name', ph: 'M', ts: 0, pid, tid: pid, args: { name } }
      : { name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name } });
  }
  return {
    traceEvents: out,
    metadata: { ...meta, producer: PRODUCER, formatVersion: FORMAT_VERSION, kinds: kindCodes() },
  };
}

/**
 * The first record of every file we write: a metadata event naming the producer, so a file cut off before
 * its trailing `metadata` object is still recognised as ours. Viewers ignore unknown `M` names.
 */
export function producerMark(): ChromeEvent {
  return { name: 'interleave', ph: 'M', ts: 0, pid: 0, tid: 0, args: { producer: PRODUCER, formatVersion: FORMAT_VERSION } };
}

function isProducerMark(r: unknown): boolean {
  return isObject(r) && r.ph === 'M' && r.name === 'interleave' && isObject(r.args) && r.args.producer === PRODUCER;
}

function intervalKey(ev: TraceEvent): string {
  return `${ev.pid}/${ev.tid}/${ev.k}/${ev.obj ?? 0}`;
}

function chromeOf(ev: TraceEvent, extra?: Args): ChromeEvent {
  const spec = KINDS[ev.k];
  if (ev.ph === 'C') {
    // Counter args must be numeric series; the kind (and the thread) travel in the name.
    const values: Record<string, number> = {};
    for (const [key, v] of Object.entries(ev.a ?? {})) if (typeof v === 'number') values[key] = v;
    return { name: ev.k === 'cpu.thread' ? `${ev.k} ${ev.tid}` : ev.k, cat: spec.cat, ph: 'C', ts: ev.ts, pid: ev.pid, tid: ev.tid, args: values };
  }
  const args: Record<string, unknown> = { ...(ev.a ?? {}), ...(extra ?? {}), k: ev.k };
  if (ev.obj !== undefined) args.obj = ev.obj;
  if (ev.corr !== undefined) args.corr = ev.corr;
  if (ev.loc !== undefined) args.loc = ev.loc;
  const c: ChromeEvent = { name: spec.label, cat: spec.cat, ph: ev.ph, ts: ev.ts, pid: ev.pid, tid: ev.tid, args };
  if (ev.ph === 'X') c.dur = ev.dur ?? 0;
  if (ev.ph === 'i') c.s = 't';
  return c;
}

export interface ReadResult {
  events: TraceEvent[];
  metadata: Record<string, unknown>;
  /** True when the file came from Interleave (its own kinds are used, flows re-derived). */
  ours: boolean;
  /** Human-readable problems: truncation repaired, events skipped. */
  warnings: string[];
}

const RESERVED = new Set(['k', 'obj', 'corr', 'ecorr', 'loc', 'unfinished']);

/**
 * Reads Chrome trace JSON text: our files, and generic ones from other tools (VizTracer, Perfetto
 * exports, chrome://tracing) as plain slices, counters and flows. Truncated files (a run that was
 * killed mid-write) are repaired up to the last complete event, with a warning.
 */
export function readChromeText(text: string): ReadResult {
  const warnings: string[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const repaired = repairTruncated(text);
    if (repaired === undefined) throw new Error(`not a Chrome trace: ${(err as Error).message}`);
    parsed = repaired.value;
    warnings.push(`the file is truncated; read the first ${repaired.count} complete events`);
  }
  const r = readChrome(parsed);
  r.warnings.unshift(...warnings);
  return r;
}

export function readChrome(parsed: unknown): ReadResult {
  const warnings: string[] = [];
  let raw: unknown[];
  let metadata: Record<string, unknown> = {};
  if (Array.isArray(parsed)) raw = parsed;
  else if (isObject(parsed) && Array.isArray(parsed.traceEvents)) {
    raw = parsed.traceEvents;
    if (isObject(parsed.metadata)) metadata = parsed.metadata;
  } else throw new Error('not a Chrome trace: expected {"traceEvents": [...]} or an array of events');
  const ours = metadata.producer === PRODUCER || raw.slice(0, 8).some(isProducerMark);
  const events: TraceEvent[] = [];
  const ids = new IdMap();
  let skipped = 0;
  for (const r of raw) {
    const ev = isObject(r) ? fromChromeEvent(r as unknown as ChromeEvent, ours, ids) : undefined;
    if (ev === undefined) skipped++;
    else if (Array.isArray(ev)) events.push(...ev);
    else if (ev !== null) events.push(ev);
  }
  if (skipped) warnings.push(`${skipped} event(s) were malformed or of an unsupported phase and were skipped`);
  return { events, metadata, ours, warnings };
}

/** Maps non-numeric ids (strings, hex) from other tools to small integers. */
class IdMap {
  private readonly map = new Map<string, number>();
  get(v: unknown): number | undefined {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v !== 'string') return undefined;
    const asNum = Number(v);
    if (v !== '' && Number.isInteger(asNum)) return asNum;
    let id = this.map.get(v);
    if (id === undefined) this.map.set(v, (id = 1_000_000_000 + this.map.size));
    return id;
  }
}

/** `null` means "valid but nothing to keep" (e.g. our own flow events, which are re-derived). */
function fromChromeEvent(c: ChromeEvent, ours: boolean, ids: IdMap): TraceEvent | TraceEvent[] | null | undefined {
  const ts = Number(c.ts ?? 0);
  const pid = ids.get(c.pid ?? 0);
  const tid = ids.get(c.tid ?? c.pid ?? 0);
  if (!Number.isFinite(ts) || pid === undefined || tid === undefined || typeof c.ph !== 'string') return undefined;
  const args = isObject(c.args) ? c.args : {};

  if (c.ph === 'M') {
    if (c.name === 'interleave') return null;
    const name = args.name;
    if (typeof name !== 'string') return null;
    if (c.name === 'thread_name') return { k: 'thread.name', ph: 'i', ts: 0, pid, tid, a: { name } };
    if (c.name === 'process_name' && !ours) return { k: 'process.start', ph: 'i', ts: 0, pid, tid: pid, a: { name, ppid: 0, method: 'main' } };
    return null;
  }
  if (c.ph === 'C') {
    const [kname, tidText] = String(c.name).split(' ');
    const values: Args = {};
    for (const [key, v] of Object.entries(args)) if (typeof v === 'number') values[key] = v;
    if (ours && (kname === 'cpu.thread' || kname === 'cpu.process')) {
      return { k: kname, ph: 'C', ts, pid, tid: tidText ? Number(tidText) : tid, a: values };
    }
    return { k: 'generic.counter', ph: 'C', ts, pid, tid, a: { name: String(c.name), values } };
  }
  if (ours && isKind(args.k)) {
    const k = args.k;
    const ph = c.ph === 'I' ? 'i' : c.ph;
    if (ph === 'X' && !isPhaseOf(k, 'X') && isPhaseOf(k, 'b')) return splitInterval(c, k, ts, pid, tid, args);
    if (ph === 'X' && typeof args.ecorr === 'number') return splitInterval(c, k, ts, pid, tid, args);
    if (!isPhaseOf(k, ph)) return undefined;
    const ev: TraceEvent = { k, ph, ts, pid, tid };
    if (ph === 'X') {
      const dur = Number(c.dur ?? 0);
      if (!Number.isFinite(dur) || dur < 0) return undefined;
      ev.dur = dur;
    }
    return withOurFields(ev, args);
  }
  if (ours && (c.ph === 's' || c.ph === 'f' || c.ph === 't')) return null;

  const a: Args = { name: String(c.name ?? ''), cat: String(c.cat ?? '') };
  if (Object.keys(args).length) a.args = args as Json;
  switch (c.ph) {
    case 'X': {
      const dur = Number(c.dur ?? 0);
      return Number.isFinite(dur) && dur >= 0 ? { k: 'generic.slice', ph: 'X', ts, dur, pid, tid, a } : undefined;
    }
    case 'B': case 'b': return { k: 'generic.slice', ph: 'b', ts, pid, tid, a };
    case 'E': case 'e': return { k: 'generic.slice', ph: 'e', ts, pid, tid, a };
    case 'i': case 'I': case 'n': case 'R': return { k: 'generic.instant', ph: 'i', ts, pid, tid, a };
    case 's': case 't': case 'f': {
      const corr = ids.get(c.id);
      if (corr === undefined) return undefined;
      a.dir = c.ph === 's' ? 'out' : c.ph === 'f' ? 'in' : 'step';
      return { k: 'generic.flow', ph: 'i', ts, pid, tid, corr, a };
    }
    default: return undefined; // sample, object and memory-dump phases are not drawn
  }
}

function withOurFields(ev: TraceEvent, args: Record<string, unknown>): TraceEvent {
  if (typeof args.obj === 'number') ev.obj = args.obj;
  if (typeof args.corr === 'number') ev.corr = args.corr;
  if (typeof args.loc === 'string') ev.loc = args.loc;
  const a: Args = {};
  for (const [key, v] of Object.entries(args)) if (!RESERVED.has(key)) a[key] = v as Json;
  if (args.unfinished === true) a.unfinished = true;
  if (Object.keys(a).length) ev.a = a;
  return ev;
}

/** An `X` slice of ours that carries links at both ends becomes its `b`/`e` pair again. */
function splitInterval(c: ChromeEvent, k: Kind, ts: number, pid: number, tid: number, args: Record<string, unknown>): TraceEvent[] | undefined {
  const dur = Number(c.dur ?? 0);
  if (!Number.isFinite(dur) || dur < 0 || !isPhaseOf(k, 'b') || !isPhaseOf(k, 'e')) return undefined;
  const begin = withOurFields({ k, ph: 'b', ts, pid, tid }, args);
  const end: TraceEvent = { k, ph: 'e', ts: ts + dur, pid, tid };
  if (begin.obj !== undefined) end.obj = begin.obj;
  if (typeof args.ecorr === 'number') end.corr = args.ecorr;
  return [begin, end];
}

/**
 * Repairs a trace cut off mid-write: keeps everything up to the last complete event object in the
 * `traceEvents` array. Returns undefined when nothing sensible can be recovered.
 */
function repairTruncated(text: string): { value: unknown; count: number } | undefined {
  const start = text.indexOf('[');
  if (start < 0) return undefined;
  // Walk the array's elements at depth 1, tracking strings, to find the end of each complete object.
  let depth = 0;
  let inString = false;
  let lastEnd = -1;
  let count = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 1 && ch === '}') {
        lastEnd = i;
        count++;
      }
      if (depth === 0) break;
    }
  }
  if (lastEnd < 0) return undefined;
  try {
    return { value: JSON.parse(text.slice(start, lastEnd + 1) + ']'), count };
  } catch {
    return undefined;
  }
}

export function categoryOf(k: Kind): Category {
  return KINDS[k].cat;
}
