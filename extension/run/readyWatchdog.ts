/**
 * Reloads a webview that is on screen but never said it is ready.
 *
 * Why: a webview panel without retainContextWhenHidden loses its page whenever it is hidden and loads a
 * new one when shown again. Very rarely that page never loads (seen once in our end-to-end runs: the
 * panel was open, no page ever answered), and the user is left with a blank timeline until they close
 * and reopen it. Setting the HTML again makes VS Code load the page anew; after a few attempts in a
 * row the watchdog gives up and says so rather than reloading for ever.
 *
 * Pure (timers are passed in) so that it can be tested without VS Code.
 */
export interface ReadyWatchdogOptions {
  /** How long a visible page may take to send `ready`. */
  timeoutMs: number;
  /** Reloads in a row before giving up (a `ready` starts the count again). */
  maxReloads: number;
  isVisible(): boolean;
  /** Sets the page's HTML again; `attempt` counts from 1. */
  reload(attempt: number): void;
  giveUp(): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export class ReadyWatchdog {
  private timer: unknown;
  private reloads = 0;
  private ready = false;
  private disposed = false;

  constructor(private readonly o: ReadyWatchdogOptions) {}

  /** A new page is loading (first render, or shown again after being hidden): expects its `ready`. */
  loading(): void {
    this.ready = false;
    this.arm();
  }

  /** The page said it is ready. */
  readySeen(): void {
    this.ready = true;
    this.reloads = 0;
    this.disarm();
  }

  /** The panel was hidden: its page is gone, and a hidden page is not expected to load. */
  hidden(): void {
    this.ready = false;
    this.disarm();
  }

  dispose(): void {
    this.disposed = true;
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    if (this.disposed) return;
    this.timer = this.o.setTimer(() => this.expired(), this.o.timeoutMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = undefined;
  }

  private expired(): void {
    this.timer = undefined;
    if (this.disposed || this.ready) return;
    // A hidden panel has no page to wait for; it is armed again when shown.
    if (!this.o.isVisible()) return;
    if (this.reloads >= this.o.maxReloads) {
      this.o.giveUp();
      return;
    }
    this.reloads++;
    this.o.reload(this.reloads);
    this.arm();
  }
}
