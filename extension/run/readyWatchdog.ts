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
  /** Sets the page's HTML again, which is a new render: it calls loading(). `attempt` counts from 1. */
  reload(attempt: number): void;
  giveUp(): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export class ReadyWatchdog {
  private timer: unknown;
  private reloads = 0;
  private disposed = false;
  /** Whether the panel was visible at the last view change (or at creation). */
  private shown: boolean;

  constructor(private readonly o: ReadyWatchdogOptions) {
    this.shown = o.isVisible();
  }

  /** A new page is loading (a render): expects its `ready`. */
  loading(): void {
    this.disarm();
    if (this.disposed) return;
    this.timer = this.o.setTimer(() => this.expired(), this.o.timeoutMs);
  }

  /**
   * The panel's view state changed. Only hidden -> visible loads a new page (the old one ended when the
   * panel was hidden); becoming active or moving to another column keeps the page it has.
   */
  viewChanged(): void {
    const visible = this.o.isVisible();
    if (visible && !this.shown) this.loading();
    else if (!visible) this.disarm();      // a hidden panel has no page to wait for
    this.shown = visible;
  }

  /** The page said it is ready. */
  readySeen(): void {
    this.reloads = 0;
    this.disarm();
  }

  dispose(): void {
    this.disposed = true;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.o.clearTimer(this.timer);
    this.timer = undefined;
  }

  private expired(): void {
    this.timer = undefined;
    // Rendered while hidden, or hidden before the view-change event came: armed again when shown.
    if (this.disposed || !this.o.isVisible()) return;
    if (this.reloads >= this.o.maxReloads) {
      this.o.giveUp();
      return;
    }
    this.reloads++;
    this.o.reload(this.reloads);
  }
}
