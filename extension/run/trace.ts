/**
 * One trace as the host holds it: where it came from, its events (bounded, see TraceStore), live
 * statistics, warnings and how it ended. The panel renders whichever trace is current; listeners get
 * the same `ToWebview` messages the panel posts, so replaying after a reload is `replay()`.
 */
import type { RunStats, ToWebview, TraceEvent, TraceSource } from '../../protocol';
import type { ProcessSummary } from '../../protocol/chrome';
import { RunStatsTracker } from './runStats';
import { TraceStore } from './traceStore';

export type TraceListener = (msg: ToWebview) => void;

/** Events per replayed `events` message: large enough to be quick, small enough not to stall the webview. */
const REPLAY_CHUNK = 50_000;

export class Trace {
  readonly store: TraceStore;
  readonly stats: RunStatsTracker;
  readonly warnings: string[] = [];
  running: boolean;
  exitCode: number | null = null;
  signal: string | null = null;
  stopped = false;
  metadata: Record<string, unknown>;
  /** Hello names per pid (for the saved metadata). */
  readonly processNames = new Map<number, string>();
  /** process.summary per pid. */
  readonly summaries = new Map<number, { emitted: number; dropped: number }>();
  /** Events posted to the listeners so far (kept + aggregates), by kind. */
  readonly postedKinds: Record<string, number> = {};
  postedEvents = 0;
  private readonly listeners = new Set<TraceListener>();

  constructor(
    readonly source: TraceSource,
    cap: number,
    opts: { running: boolean; metadata?: Record<string, unknown>; now?: number; file?: string } = { running: false },
  ) {
    this.store = new TraceStore(cap);
    this.stats = new RunStatsTracker(opts.now ?? Date.now());
    this.running = opts.running;
    this.metadata = opts.metadata ?? {};
    this.file = opts.file;
  }

  readonly file: string | undefined;

  onMessage(l: TraceListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(msg: ToWebview): void {
    for (const l of this.listeners) {
      try {
        l(msg);
      } catch {
        // one broken listener (a disposed panel) must not stop the others
      }
    }
  }

  addEvents(events: readonly TraceEvent[], now = Date.now()): void {
    this.stats.add(events, now);
    for (const ev of events) {
      if (ev.k === 'process.summary' && typeof ev.a?.emitted === 'number' && typeof ev.a?.dropped === 'number') {
        this.summaries.set(ev.pid, { emitted: ev.a.emitted, dropped: ev.a.dropped });
      }
      if (ev.k === 'process.start' && typeof ev.a?.name === 'string' && !this.processNames.has(ev.pid)) this.processNames.set(ev.pid, ev.a.name);
    }
    const { forward, startedAggregating } = this.store.add(events);
    this.forward(forward);
    if (startedAggregating) {
      this.warn(`The trace reached ${this.store.cap.toLocaleString('en-US')} events (interleave.maxEventsInPanel): from ${(this.store.aggregation!.sinceTs / 1e6).toFixed(3)} s on, lock, queue, pool and CPU events are counted per lane in aggregate slices; process and thread lifecycle, exceptions and deadlocks are still kept.`);
    }
  }

  private forward(events: TraceEvent[]): void {
    if (!events.length) return;
    this.postedEvents += events.length;
    for (const ev of events) this.postedKinds[ev.k] = (this.postedKinds[ev.k] ?? 0) + 1;
    this.emit({ type: 'events', events });
  }

  warn(message: string): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    this.emit({ type: 'warning', message });
  }

  statsNow(now = Date.now()): RunStats {
    return this.stats.snapshot(now);
  }

  postStatus(now = Date.now()): void {
    this.emit({ type: 'status', running: this.running, stats: this.statsNow(now) });
  }

  finish(exitCode: number | null, signal: string | null, now = Date.now()): void {
    if (!this.running) return;
    this.forward(this.store.flushAggregates());
    this.running = false;
    this.exitCode = exitCode;
    this.signal = signal;
    this.metadata = { ...this.metadata, exitCode, ...this.summaryMetadata() };
    this.postStatus(now);
    this.emit({ type: 'end', exitCode, signal, metadata: this.metadata });
  }

  reveal(query: Extract<ToWebview, { type: 'reveal' }>['query']): void {
    this.emit({ type: 'reveal', query });
  }

  /** Per-process emitted/dropped for the saved trace's metadata. */
  summaryMetadata(): { processes: ProcessSummary[]; totals: { emitted: number; dropped: number } } {
    const processes: ProcessSummary[] = [];
    let emitted = 0;
    let dropped = 0;
    for (const [pid, s] of this.summaries) {
      processes.push({ pid, name: this.processNames.get(pid) ?? String(pid), emitted: s.emitted, dropped: s.dropped });
      emitted += s.emitted;
      dropped += s.dropped;
    }
    return { processes, totals: { emitted, dropped } };
  }

  /** Everything a freshly loaded panel needs, in order. */
  *replay(now = Date.now()): Generator<ToWebview> {
    yield { type: 'reset', source: this.source, metadata: this.metadata };
    for (const w of this.warnings) yield { type: 'warning', message: w };
    const all = this.store.events;
    for (let i = 0; i < all.length; i += REPLAY_CHUNK) yield { type: 'events', events: all.slice(i, i + REPLAY_CHUNK) };
    yield { type: 'status', running: this.running, stats: this.statsNow(now) };
    if (!this.running) yield { type: 'end', exitCode: this.exitCode, signal: this.signal, metadata: this.metadata };
  }
}
