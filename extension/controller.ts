/**
 * The extension's state and commands: traces (the current one and the last per file), the active run,
 * the panel, the status bar. activate() builds one Controller and registers what it exposes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { readChromeText, ReadResult, toChrome } from '../protocol/chrome';
import { deadlockReason } from '../protocol';
import type { RevealQuery, TraceEvent } from '../protocol';
import type { InterleaveTestApi, RunSnapshot } from './api';
import { LintClient } from './languageClient';
import { TimelinePanel } from './panel';
import { findInterpreter } from './pythonEnv';
import { writeReportFile } from './report';
import { Trace } from './run/trace';
import { RunStatusBar } from './statusBar';
import { TracedRun } from './tracedRun';

/**
 * Traces up to this size are kept in workspace storage so the panel survives a window reload. Writing
 * is one JSON.stringify on the extension host, so very large traces are left out rather than stall it.
 */
const PERSIST_MAX_EVENTS = 200_000;

export class Controller implements vscode.Disposable {
  private current: Trace | undefined;
  private readonly byFile = new Map<string, Trace>();
  private run: TracedRun | undefined;
  private lastRunObj: TracedRun | undefined;
  private deadlockNotified = false;
  readonly statusBar = new RunStatusBar();
  readonly distUri: vscode.Uri;
  readonly lint: LintClient;

  constructor(private readonly context: vscode.ExtensionContext, readonly log: vscode.LogOutputChannel) {
    this.distUri = vscode.Uri.joinPath(context.extensionUri, 'dist');
    this.lint = new LintClient(path.join(context.extensionPath, 'dist', 'server.js'), log);
  }

  /** Every notification shown (most recent last, bounded), for the log and the test API. */
  readonly notifications: string[] = [];

  /** Shows a notification and records it, so messages also reach the log and tests can see them. */
  notify(kind: 'error' | 'warning' | 'info', text: string, ...actions: string[]): Thenable<string | undefined> {
    this.notifications.push(`${kind}: ${text}`);
    if (this.notifications.length > 50) this.notifications.shift();
    if (kind === 'error') this.log.error(text);
    else if (kind === 'warning') this.log.warn(text);
    else this.log.info(text);
    const show = kind === 'error' ? vscode.window.showErrorMessage : kind === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    return show(text, ...actions);
  }

  currentTrace(): Trace | undefined {
    return this.current;
  }

  private panelHost() {
    return {
      log: this.log,
      distUri: this.distUri,
      currentTrace: () => this.current,
      runCommand: (c: 'saveTrace' | 'exportReport' | 'stopTrace' | 'rerun') => {
        const id = c === 'rerun' ? 'interleave.traceCurrentFile' : `interleave.${c}`;
        const args = c === 'rerun' && this.current?.file ? [vscode.Uri.file(this.current.file)] : [];
        void vscode.commands.executeCommand(id, ...args);
      },
    };
  }

  revivePanel(panel: vscode.WebviewPanel): void {
    TimelinePanel.revive(panel, this.panelHost());
    // After a window reload the traces in memory are gone; bring back the last one saved to storage.
    if (!this.current) void this.restoreLastTrace();
  }

  private persistedCount = 0;

  private lastTraceUri(): vscode.Uri {
    return vscode.Uri.joinPath(this.context.storageUri ?? this.context.globalStorageUri, 'last-trace.json');
  }

  /** Keeps the current trace across window reloads (bounded: very large traces are not kept). */
  private async persist(trace: Trace): Promise<void> {
    if (trace.store.size > PERSIST_MAX_EVENTS) {
      this.log.info(`the trace of ${trace.source.title} has ${trace.store.size} events; not kept across window reloads (limit ${PERSIST_MAX_EVENTS})`);
      return;
    }
    try {
      const uri = this.lastTraceUri();
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(uri, '..'));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(this.traceJson(trace, { restoreTitle: trace.source.title, restoreFile: trace.file ?? null })));
      this.persistedCount++;
    } catch (err) {
      this.log.warn(`could not keep the trace for window reloads: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async restoreLastTrace(): Promise<void> {
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(this.lastTraceUri()));
    } catch {
      return; // nothing kept
    }
    try {
      const read = readChromeText(text);
      if (this.current) return; // a run or an opened file came first
      const title = typeof read.metadata.restoreTitle === 'string' ? read.metadata.restoreTitle : 'last trace';
      const file = typeof read.metadata.restoreFile === 'string' ? read.metadata.restoreFile : undefined;
      this.setCurrent(this.traceFromFile(read, title, file));
      this.log.info(`restored the last trace (${title}, ${read.events.length} events) after a window reload`);
    } catch (err) {
      this.log.warn(`could not restore the last trace: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private traceFromFile(read: ReadResult, title: string, file?: string): Trace {
    const cfg = vscode.workspace.getConfiguration('interleave');
    const trace = new Trace({ kind: 'file', title }, Math.max(10_000, cfg.get<number>('maxEventsInPanel', 2_000_000)), { running: true, metadata: read.metadata, file });
    for (const w of read.warnings) trace.warn(w);
    trace.addEvents(read.events);
    trace.finish(typeof read.metadata.exitCode === 'number' ? read.metadata.exitCode : null, null);
    return trace;
  }

  private setCurrent(trace: Trace): void {
    this.current = trace;
    void vscode.commands.executeCommand('setContext', 'interleave.hasTrace', true);
    if (trace.file) this.byFile.set(trace.file, trace);
    TimelinePanel.current?.show(trace);
  }

  /** The Show Timeline command: the last trace of the file being edited, when it has one. */
  async showTimelineForEditor(): Promise<void> {
    if (!this.current) await this.restoreLastTrace(); // after a window reload, with the panel closed
    const file = vscode.window.activeTextEditor?.document.uri.fsPath;
    const forFile = file ? this.byFile.get(file) : undefined;
    if (forFile && forFile !== this.current && !this.run?.running) this.current = forFile;
    this.showTimeline(false, false);
  }

  showTimeline(beside = false, preserveFocus = false): TimelinePanel {
    const panel = TimelinePanel.createOrShow(this.panelHost(), { beside, preserveFocus });
    panel.show(this.current);
    return panel;
  }

  // ---- run --------------------------------------------------------------------------------------

  async traceFile(arg?: vscode.Uri): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      // Not awaited: the command returns while the notification waits for the user.
      void this.notify('warning',
        'Interleave runs the file you trace, so tracing is disabled in an untrusted workspace. Trust the workspace to enable it; opening saved traces and lint diagnostics still work.',
        'Manage Workspace Trust').then((a) => { if (a) void vscode.commands.executeCommand('workbench.trust.manage'); });
      return;
    }
    const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    if (!uri) {
      void this.notify('info', 'Interleave: open a Python file to run it with tracing.');
      return;
    }
    let doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== 'python') {
      void this.notify('warning', `Interleave: ${path.basename(uri.fsPath)} is not a Python file.`);
      return;
    }
    if (doc.isUntitled || uri.scheme !== 'file') {
      void this.notify('warning', 'Interleave: save the file to disk before running it with tracing.');
      return;
    }
    // Like the Python extension's Run button: run what is in the editor.
    if (doc.isDirty && !(await doc.save())) {
      void this.notify('warning', `Interleave: could not save ${path.basename(uri.fsPath)}; not running it.`);
      return;
    }
    if (this.run?.running) await this.run.stop();
    this.run?.terminal?.dispose();

    const interp = await findInterpreter(uri, this.log);
    if (!interp.ok) {
      void this.notify('error', interp.message, 'Open Settings')
        .then((a) => { if (a) void vscode.commands.executeCommand('workbench.action.openSettings', 'interleave.pythonPath'); });
      return;
    }
    this.log.info(`interpreter: ${interp.path} (Python ${interp.version.join('.')}, from ${interp.source})`);
    const broken = interp.skipped.find((t) => t.candidate.source === 'setting');
    if (broken) {
      // The user asked for a specific interpreter; say so rather than silently running another one.
      void this.notify('warning', `Interleave: interleave.pythonPath ${broken.candidate.path} ${broken.reason}; using ${interp.path} (Python ${interp.version.join('.')}) instead.`, 'Open Settings')
        .then((a) => { if (a) void vscode.commands.executeCommand('workbench.action.openSettings', 'interleave.pythonPath'); });
    }
    const cfg = vscode.workspace.getConfiguration('interleave', uri);
    const file = uri.fsPath;
    const title = path.basename(file);
    const trace = new Trace({ kind: 'live', title }, Math.max(10_000, cfg.get<number>('maxEventsInPanel', 2_000_000)), {
      running: true, file, metadata: { argv: [file], python: interp.version.join('.'), mode: cfg.get<string>('traceMode', 'default') },
    });
    this.deadlockNotified = false;
    this.setCurrent(trace);
    if (cfg.get<boolean>('openTimelineOnRun', true)) this.showTimeline(true, true);
    this.statusBar.track(trace);

    const run = new TracedRun({
      file,
      python: interp.path,
      args: [],
      cwd: vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(file),
      runtimeDir: path.join(this.context.extensionPath, 'runtime'),
      mode: cfg.get<string>('traceMode', 'default'),
      deadlockTimeout: cfg.get<number>('deadlockTimeout', 2),
      cpuInterval: cfg.get<number>('cpuSamplingInterval', 10),
      log: this.log,
      trace,
      onDeadlock: (ev) => this.notifyDeadlock(ev, trace),
    });
    this.run = run;
    this.lastRunObj = run;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Interleave: tracing ${title}` }, () => run.done);
    void vscode.commands.executeCommand('setContext', 'interleave.running', true);
    void run.done.then(() => {
      this.statusBar.track(trace);
      void this.persist(trace);
      if (this.run === run) void vscode.commands.executeCommand('setContext', 'interleave.running', false);
    });
    try {
      await run.start();
    } catch (err) {
      const msg = `Interleave could not start ${title}: ${err instanceof Error ? err.message : String(err)}`;
      void this.notify('error', msg);
      await run.stop();
    }
  }

  private notifyDeadlock(ev: TraceEvent, trace: Trace): void {
    this.deadlockNotified = true;
    const threads = Array.isArray(ev.a?.threads) ? ev.a.threads.length : 0;
    const reason = deadlockReason(ev.a);
    // The runtime's explanation of a usual cause, when it knows one (shown as text, like all traced data).
    const hint = typeof ev.a?.hint === 'string' ? ` Why: ${ev.a.hint}.` : '';
    this.log.warn(`deadlock in ${trace.source.title}: ${reason} (${threads} thread(s))${hint}`);
    void this.notify('warning', `Interleave: deadlock in ${trace.source.title} — ${reason}${threads ? ` (${threads} threads)` : ''}.${hint}`, 'Show in Timeline', 'Stop')
      .then((a) => {
        if (a === 'Show in Timeline') this.showInTimeline({ kind: 'deadlock' });
        if (a === 'Stop') void this.stop();
      });
  }

  async stop(): Promise<void> {
    if (!this.run?.running) {
      void this.notify('info', 'Interleave: no traced run is active.');
      return;
    }
    await this.run.stop();
  }

  showInTimeline(query: RevealQuery): void {
    if (!this.current) {
      void this.notify('info', 'Interleave: run the file with tracing first; then "Show in timeline" reveals the matching lanes.', 'Run with Tracing')
        .then((a) => { if (a) void vscode.commands.executeCommand('interleave.traceCurrentFile'); });
      return;
    }
    const panel = this.showTimeline(false, true);
    // The reveal is replayed only while the panel is ready; a panel being created gets it after its replay.
    if (panel.isReady) panel.revealQuery(query);
    else this.current.reveal(query);
  }

  // ---- files ------------------------------------------------------------------------------------

  async openTrace(arg?: vscode.Uri): Promise<void> {
    const uri = arg instanceof vscode.Uri ? arg : (await vscode.window.showOpenDialog({
      canSelectMany: false, openLabel: 'Open Trace', filters: { 'Chrome trace': ['json'], 'All files': ['*'] },
    }))?.[0];
    if (!uri) return;
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (err) {
      void this.notify('error', `Interleave: cannot read ${uri.fsPath}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    let read;
    try {
      read = readChromeText(text);
    } catch (err) {
      void this.notify('error', `Interleave: ${path.basename(uri.fsPath)} is not a trace Interleave can read (${err instanceof Error ? err.message : String(err)}).`);
      return;
    }
    const trace = this.traceFromFile(read, path.basename(uri.fsPath));
    this.setCurrent(trace);
    void this.persist(trace);
    this.showTimeline(false, false);
    this.statusBar.track(trace);
    this.log.info(`opened ${uri.fsPath}: ${read.events.length} events${read.ours ? '' : ' (from another tool)'}`);
    if (read.warnings.length) void this.notify('warning', `Interleave: ${path.basename(uri.fsPath)}: ${read.warnings.join('; ')}`);
  }

  private traceJson(trace: Trace, extra: Record<string, unknown> = {}): string {
    const meta = { ...trace.metadata, ...trace.summaryMetadata(), exitCode: trace.exitCode, ...extra };
    return JSON.stringify(toChrome(trace.store.events as TraceEvent[], meta));
  }

  async saveTrace(arg?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const trace = this.current;
    if (!trace) {
      void this.notify('info', 'Interleave: there is no trace to save yet. Run a file with tracing first.');
      return undefined;
    }
    const uri = arg instanceof vscode.Uri ? arg : await vscode.window.showSaveDialog({
      saveLabel: 'Save Trace', filters: { 'Chrome trace': ['json'] }, defaultUri: this.defaultUri(trace, '.trace.json'),
    });
    if (!uri) return undefined;
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(this.traceJson(trace)));
    this.log.info(`saved ${trace.store.size} events to ${uri.fsPath}`);
    if (!(arg instanceof vscode.Uri)) void this.notify('info', `Interleave: trace saved to ${uri.fsPath} (opens in Perfetto too).`);
    return uri;
  }

  async exportReport(arg?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const trace = this.current;
    if (!trace) {
      void this.notify('info', 'Interleave: there is no trace to export yet. Run a file with tracing first.');
      return undefined;
    }
    const uri = arg instanceof vscode.Uri ? arg : await vscode.window.showSaveDialog({
      saveLabel: 'Export Report', filters: { 'HTML': ['html'] }, defaultUri: this.defaultUri(trace, '.html'),
    });
    if (!uri) return undefined;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-report-'));
    try {
      const json = path.join(tmp, 'trace.json');
      fs.writeFileSync(json, this.traceJson(trace));
      await writeReportFile(json, uri.fsPath, this.distUri.fsPath);
    } catch (err) {
      void this.notify('error', `Interleave: could not write the report: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    this.log.info(`exported a report of ${trace.store.size} events to ${uri.fsPath}`);
    if (!(arg instanceof vscode.Uri)) {
      void this.notify('info', `Interleave: report written to ${uri.fsPath}.`, 'Open in Browser')
        .then((a) => { if (a) void vscode.env.openExternal(uri); });
    }
    return uri;
  }

  private defaultUri(trace: Trace, ext: string): vscode.Uri | undefined {
    const base = trace.source.title.replace(/\.(py|json)$/i, '');
    const dir = trace.file ? path.dirname(trace.file) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return dir ? vscode.Uri.file(path.join(dir, base + ext)) : undefined;
  }

  // ---- test API ---------------------------------------------------------------------------------

  testApi(): InterleaveTestApi {
    return {
      lastRun: (): RunSnapshot | undefined => {
        const t = this.current;
        if (!t) return undefined;
        const s = t.statsNow();
        const run = this.lastRunObj && this.lastRunObj.o.trace === t ? this.lastRunObj : undefined;
        return {
          title: t.source.title, file: t.file, source: t.source.kind, running: t.running, stopped: t.stopped,
          exitCode: t.exitCode, signal: t.signal, events: s.events, kinds: { ...t.stats.kinds },
          processes: s.processes, threads: s.threads, pids: run ? [...run.pids].sort((a, b) => a - b) : [],
          supervisorPid: run?.supervisorPid, postedKinds: { ...t.postedKinds }, postedEvents: t.postedEvents,
          warnings: [...t.warnings], aggregating: !!t.store.aggregation, deadlockNotified: run ? this.deadlockNotified : false,
        };
      },
      panel: () => {
        const p = TimelinePanel.current;
        return {
          open: !!p, visible: p?.panel.visible ?? false, ready: p?.isReady ?? false, column: p?.panel.viewColumn,
          posted: p ? { ...p.posted } : { messages: 0, events: 0, resets: 0, readies: 0, reveals: 0 },
        };
      },
      analysed: () => Object.fromEntries(this.lint.analysed),
      notifications: () => [...this.notifications],
      persisted: () => this.persistedCount,
      languageServerRunning: () => this.lint.isRunning,
    };
  }

  async dispose(): Promise<void> {
    await this.run?.stop();
    this.statusBar.dispose();
    TimelinePanel.current?.dispose();
    await this.lint.stop();
  }
}
