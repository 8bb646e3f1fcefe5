/**
 * An ordered outbox for webview messages that coalesces the live event stream: consecutive `events`
 * messages merge into one (up to `maxBatch` events), a newer `status` replaces a pending one, and only
 * one post is in flight at a time. Events are sent at most once per `intervalMs`; other messages go at
 * once. So a flooding program produces a few large posts per second instead of one per socket read,
 * a slow webview slows the posts rather than the editor, and the order of messages is kept.
 */
import type { ToWebview } from '../../protocol';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class MessageCoalescer {
  private queue: ToWebview[] = [];
  private timer: unknown;
  private inFlight = false;
  private disposed = false;
  /** Posts performed (for tests and stats). */
  posts = 0;

  constructor(
    /** Delivers one message; the returned promise settles when the receiver took it. */
    private readonly post: (msg: ToWebview) => PromiseLike<unknown> | void,
    private readonly intervalMs = 100,
    private readonly maxBatch = 20_000,
    private readonly scheduler: Scheduler = realScheduler,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  push(msg: ToWebview): void {
    if (this.disposed) return;
    const tail = this.queue[this.queue.length - 1];
    if (msg.type === 'events') {
      if (msg.events.length === 0) return;
      if (tail?.type === 'events' && tail.events.length + msg.events.length <= this.maxBatch) {
        for (const ev of msg.events) tail.events.push(ev);
      } else {
        this.queue.push({ type: 'events', events: [...msg.events] });
      }
      const full = this.queue.length > 1 || (this.queue[0]?.type === 'events' && this.queue[0].events.length >= this.maxBatch);
      if (full) this.pump();
      else this.schedule();
      return;
    }
    if (msg.type === 'status' && tail?.type === 'status') this.queue[this.queue.length - 1] = msg;
    else this.queue.push(msg);
    this.pump();
  }

  /** Drops everything pending (the receiver reloaded and will get a full replay). */
  clear(): void {
    this.queue = [];
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.clear();
    this.disposed = true;
  }

  /** Sends pending messages now, in order, one in flight at a time. */
  pump(): void {
    if (this.timer !== undefined) {
      this.scheduler.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.disposed || this.inFlight) return;
    const msg = this.queue.shift();
    if (!msg) return;
    this.posts++;
    let result: PromiseLike<unknown> | void;
    try {
      result = this.post(msg);
    } catch {
      result = undefined; // a closed panel must not stop the run
    }
    const next = (): void => {
      this.inFlight = false;
      if (!this.queue.length) return;
      // Let further events of a lone events message accumulate; anything else goes at once.
      if (this.queue.length === 1 && this.queue[0].type === 'events' && this.queue[0].events.length < this.maxBatch) this.schedule();
      else this.pump();
    };
    if (result && typeof result.then === 'function') {
      this.inFlight = true;
      result.then(next, next);
    } else {
      next();
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.disposed || this.inFlight) return;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, this.intervalMs);
  }
}
