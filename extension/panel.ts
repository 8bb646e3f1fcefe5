/**
 * The timeline panel: one webview panel at a time, created on demand or revived by the serializer after a
 * window reload. The webview is not kept alive while hidden (retainContextWhenHidden: false); instead it
 * saves its view state with setState and says `ready` whenever it (re)loads, and the host replays the
 * current trace: reset, events, status, end.
 */
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { FromWebview, isFromWebview, TIMELINE_VIEW_TYPE, ToWebview } from '../protocol';
import { withPanelCap } from './panelMessages';
import { MessageCoalescer } from './run/batcher';
import { ReadyWatchdog } from './run/readyWatchdog';
import { Trace } from './run/trace';
import { webviewHtml } from './webviewHtml';

/** How long a shown panel's page may take to say `ready` before it is loaded again. Loading takes well
 * under a second; a slow machine under load gets ample margin. */
const READY_TIMEOUT_MS = 10_000;
/** Reloads in a row before the panel gives up and says so. */
const READY_RELOADS = 3;

export interface PanelHost {
  readonly log: vscode.LogOutputChannel;
  readonly distUri: vscode.Uri;
  currentTrace(): Trace | undefined;
  /** The webview's toolbar buttons. */
  runCommand(command: Extract<FromWebview, { type: 'command' }>['command']): void;
}

export class TimelinePanel implements vscode.Disposable {
  private static instance: TimelinePanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private readonly outbox: MessageCoalescer;
  /** Reloads the page if a visible panel's page never says `ready` (see run/readyWatchdog.ts). */
  private readonly watchdog: ReadyWatchdog;
  private ready = false;
  private trace: Trace | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Counters for the test API: what actually went to the webview. */
  readonly posted = { messages: 0, events: 0, resets: 0, readies: 0, reveals: 0 };

  static get current(): TimelinePanel | undefined {
    return TimelinePanel.instance;
  }

  static createOrShow(host: PanelHost, opts: { beside: boolean; preserveFocus?: boolean }): TimelinePanel {
    const column = opts.beside ? vscode.ViewColumn.Beside : vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One;
    if (TimelinePanel.instance) {
      TimelinePanel.instance.panel.reveal(opts.beside ? undefined : column, opts.preserveFocus ?? false);
      return TimelinePanel.instance;
    }
    const panel = vscode.window.createWebviewPanel(TIMELINE_VIEW_TYPE, 'Interleave Timeline', { viewColumn: column, preserveFocus: opts.preserveFocus ?? false }, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [host.distUri],
    });
    return (TimelinePanel.instance = new TimelinePanel(panel, host));
  }

  /** Called by the serializer after a reload: the panel exists, its webview content does not. */
  static revive(panel: vscode.WebviewPanel, host: PanelHost): TimelinePanel {
    TimelinePanel.instance?.dispose();
    panel.webview.options = { enableScripts: true, localResourceRoots: [host.distUri] };
    return (TimelinePanel.instance = new TimelinePanel(panel, host));
  }

  private constructor(readonly panel: vscode.WebviewPanel, private readonly host: PanelHost) {
    this.outbox = new MessageCoalescer((msg) => this.postNow(msg));
    this.watchdog = new ReadyWatchdog({
      timeoutMs: READY_TIMEOUT_MS,
      maxReloads: READY_RELOADS,
      isVisible: () => !this.disposed && this.panel.visible,
      reload: (n) => {
        this.host.log.warn(`the timeline page did not load within ${READY_TIMEOUT_MS / 1000} s: loading it again (attempt ${n})`);
        this.render();
      },
      giveUp: () => this.host.log.error(`the timeline page did not load after ${READY_RELOADS} attempts: close the panel and run Show Timeline again`),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    });
    this.render();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      // Without retainContextWhenHidden, hiding the panel ends its page and showing it loads a new one,
      // which says `ready` again (then the trace is replayed). What is posted meanwhile is dropped by
      // VS Code and replayed then, so `ready` is left as it is.
      panel.onDidChangeViewState(() => this.watchdog.viewChanged()),
    );
    this.show(host.currentTrace());
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Makes `trace` the one shown; replays it when the webview is ready. */
  show(trace: Trace | undefined): void {
    this.unsubscribe?.();
    this.trace = trace;
    this.unsubscribe = trace?.onMessage((m) => {
      if (this.ready) this.outbox.push(m);
    });
    this.panel.title = trace ? `Interleave: ${trace.source.title}` : 'Interleave Timeline';
    if (this.ready) this.replay();
  }

  reveal(preserveFocus = true): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  private render(): void {
    this.ready = false;
    this.outbox.clear();
    this.watchdog.loading();
    const webview = this.panel.webview;
    const asset = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(this.host.distUri, name)).toString();
    webview.html = webviewHtml({
      // A fresh nonce per render: the CSP only admits scripts carrying it.
      nonce: randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: asset('webview.js'),
      styleUri: asset('webview.css'),
      title: 'Interleave Timeline',
    });
  }

  private replay(): void {
    this.outbox.clear();
    if (!this.trace) return;
    const cap = this.trace.store.cap;
    for (const m of this.trace.replay()) this.outbox.push(withPanelCap(m, cap));
  }

  private postNow(msg: ToWebview): Thenable<boolean> {
    this.posted.messages++;
    if (msg.type === 'events') this.posted.events += msg.events.length;
    if (msg.type === 'reset') this.posted.resets++;
    if (msg.type === 'reveal') this.posted.reveals++;
    return this.panel.webview.postMessage(msg);
  }

  private onMessage(m: unknown): void {
    if (!isFromWebview(m)) {
      this.host.log.warn(`ignored a malformed message from the timeline webview: ${safeText(m)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.watchdog.readySeen();
        this.posted.readies++;
        this.replay();
        return;
      case 'openSource':
        void openSource(m.file, m.line, this.host.log);
        return;
      case 'command':
        this.host.runCommand(m.command);
        return;
      case 'log':
        this.host.log[m.level === 'warn' ? 'warn' : m.level](`webview: ${m.message}`);
        return;
    }
  }

  /** Posts a reveal now (the reveal message needs no replay). */
  revealQuery(query: Extract<ToWebview, { type: 'reveal' }>['query']): void {
    if (this.ready) this.outbox.push({ type: 'reveal', query });
  }

  private disposed = false;

  dispose(): void {
    // Reached twice when the user closes the panel (onDidDispose, then our own panel.dispose()).
    if (this.disposed) return;
    this.disposed = true;
    if (TimelinePanel.instance === this) TimelinePanel.instance = undefined;
    this.unsubscribe?.();
    this.watchdog.dispose();
    this.outbox.dispose();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

async function openSource(file: string, line: number, log: vscode.LogOutputChannel): Promise<void> {
  try {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const pos = new vscode.Position(Math.max(0, Math.min(line - 1, doc.lineCount - 1)), 0);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos), preserveFocus: false });
  } catch (err) {
    log.warn(`could not open ${file}:${line}: ${err instanceof Error ? err.message : String(err)}`);
    void vscode.window.showWarningMessage(`Interleave: cannot open ${file} (line ${line}).`);
  }
}

function safeText(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 200);
  } catch {
    return String(v).slice(0, 200);
  }
}
