/**
 * Live numbers for the status bar and the panel: elapsed time, processes and threads seen (and how many
 * are still running), events received and the recent event rate over a sliding window.
 */
import type { RunStats, TraceEvent } from '../../protocol';

export class RunStatsTracker {
  private readonly processes = new Set<number>();
  private readonly exited = new Set<number>();
  private readonly threads = new Set<string>();
  private readonly endedThreads = new Set<string>();
  private events = 0;
  private dropped = 0;
  /** Per-connection dropped counts from process.summary, so repeated summaries do not double count. */
  private readonly droppedByPid = new Map<number, number>();
  /** [time ms, events] samples for the rate. */
  private samples: Array<[number, number]> = [];
  readonly kinds: Record<string, number> = {};

  constructor(readonly startedAt: number, private readonly windowMs = 2000) {}

  add(events: readonly TraceEvent[], now: number): void {
    for (const ev of events) {
      this.events++;
      this.kinds[ev.k] = (this.kinds[ev.k] ?? 0) + 1;
      this.processes.add(ev.pid);
      if (ev.k === 'process.exit') this.exited.add(ev.pid);
      if (ev.tid) {
        const key = `${ev.pid}/${ev.tid}`;
        if (ev.k !== 'process.exit' && ev.k !== 'process.summary') this.threads.add(key);
        if (ev.k === 'thread.run' && ev.ph === 'e') this.endedThreads.add(key);
      }
      if (ev.k === 'process.summary' && typeof ev.a?.dropped === 'number') {
        this.droppedByPid.set(ev.pid, ev.a.dropped);
      }
    }
    this.dropped = [...this.droppedByPid.values()].reduce((s, n) => s + n, 0);
    this.samples.push([now, events.length]);
    const cutoff = now - this.windowMs;
    while (this.samples.length && this.samples[0][0] < cutoff) this.samples.shift();
  }

  /** Events lost on the way (counted by the runtime or as missing batches). */
  addLost(n: number): void {
    this.dropped += n;
  }

  get eventCount(): number {
    return this.events;
  }

  liveProcesses(): number {
    let n = 0;
    for (const p of this.processes) if (!this.exited.has(p)) n++;
    return n;
  }

  snapshot(now: number): RunStats {
    const cutoff = now - this.windowMs;
    let recent = 0;
    for (const [t, n] of this.samples) if (t >= cutoff) recent += n;
    const span = Math.min(this.windowMs, Math.max(1, now - this.startedAt));
    return {
      events: this.events,
      dropped: this.dropped,
      processes: this.processes.size,
      threads: this.threads.size,
      eventsPerSecond: Math.round((recent * 1000) / span),
    };
  }

  elapsedMs(now: number): number {
    return Math.max(0, now - this.startedAt);
  }
}

/** "1:05" / "12.3 s" style for the status bar. */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function formatRate(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}
