/** The status bar item: live run numbers while tracing (click to stop), the outcome afterwards. */
import * as vscode from 'vscode';
import { formatElapsed, formatRate } from './run/runStats';
import type { Trace } from './run/trace';

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('interleave.run', vscode.StatusBarAlignment.Left, 50);
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.item.name = 'Interleave run';
  }

  track(trace: Trace): void {
    this.stopTimer();
    const update = (): void => {
      const now = Date.now();
      const s = trace.statsNow(now);
      if (trace.running) {
        this.item.text = `$(pulse) ${trace.source.title} ${formatElapsed(trace.stats.elapsedMs(now))} · ${s.processes} proc · ${s.threads} thr · ${formatRate(s.eventsPerSecond)} ev/s`;
        this.item.tooltip = `Interleave is tracing ${trace.source.title}: ${s.events.toLocaleString('en-US')} events${s.dropped ? `, ${s.dropped} dropped` : ''}. Click to stop.`;
        this.item.command = 'interleave.stopTrace';
        this.item.backgroundColor = undefined;
      } else {
        this.stopTimer();
        const outcome = trace.stopped ? 'stopped' : trace.signal ? `killed by ${trace.signal}` : `exit ${trace.exitCode ?? '?'}`;
        this.item.text = `$(graph-line) ${trace.source.title}: ${outcome} · ${s.events.toLocaleString('en-US')} events`;
        this.item.tooltip = 'Show the Interleave timeline';
        this.item.command = 'interleave.showTimeline';
        this.item.backgroundColor = trace.exitCode && !trace.stopped ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      }
    };
    update();
    this.item.show();
    if (trace.running) this.timer = setInterval(update, 500);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.stopTimer();
    this.item.dispose();
  }
}
