/**
 * The integration suite, run inside a real VS Code extension host (code-server 4.100.3 here, a desktop
 * VS Code under @vscode/test-electron). It drives the real extension through its commands and checks
 * the outcome through the extension's test API, the language client's diagnostics and — when the
 * code-server launcher is on the other end of the bridge — the timeline webview's DOM.
 *
 * The workspace is a temporary folder holding copies of samples/ (the launchers make it).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { InterleaveTestApi, RunSnapshot } from '../../../extension/api';
import { askBrowser, bridge, processGone, TAG, waitFor } from './support';

const EXTENSION_ID = 'interleave.interleave';

interface DomSummary {
  state: string;
  summary: { lanes: number; processes: number; intervals: number; events: number; deadlocks: number; markers: number; laneNames: string[]; maxEvents: number } | null;
  screenshot?: string;
}

function workspace(): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(ws, 'the launcher opens a workspace folder holding the samples');
  return ws;
}

function sample(name: string): vscode.Uri {
  const p = path.join(workspace(), name);
  assert.ok(fs.existsSync(p), `sample ${name} is in the workspace`);
  return vscode.Uri.file(p);
}

async function openEditor(uri: vscode.Uri): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(uri);
  return vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
}

/** The trace the panel shows, once its run has ended (bounded wait). */
async function finishedRun(api: InterleaveTestApi, title: string, timeoutMs = 60_000): Promise<RunSnapshot> {
  return waitFor(`the traced run of ${title} to end`, () => {
    const r = api.lastRun();
    return r && r.title === title && !r.running ? r : undefined;
  }, timeoutMs);
}

describe('Interleave in a real VS Code', function () {
  let api: InterleaveTestApi;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-e2e-suite-'));

  before(async function () {
    const ext = vscode.extensions.getExtension<InterleaveTestApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
    assert.ok(api && typeof api.lastRun === 'function', 'activate() returns the test API');
    // Lower the watchdog's threshold so the deadlock sample is reported quickly.
    await vscode.workspace.getConfiguration('interleave').update('deadlockTimeout', 0.5, vscode.ConfigurationTarget.Global);
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(function () {
    // What the extension told the user is the first thing to read when a test fails.
    if (this.currentTest?.state === 'failed') console.log(`${TAG} notifications so far: ${JSON.stringify(api?.notifications())}`);
  });

  it('activates and registers every contributed command', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.ok(ext.isActive);
    const contributed = (ext.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = [...contributed, 'interleave.showInTimeline'].filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], 'commands without a handler');
    assert.ok(contributed.includes('interleave.traceCurrentFile') && contributed.includes('interleave.stopTrace'));
  });

  it('traces bank_lock.py: the panel gets thread lanes and lock events and draws them', async function () {
    const uri = sample('bank_lock.py');
    await openEditor(uri);
    await vscode.commands.executeCommand('interleave.traceCurrentFile');
    const run = await finishedRun(api, 'bank_lock.py');
    assert.strictEqual(run.exitCode, 0, `exit code (warnings: ${run.warnings.join('; ')})`);
    assert.ok(run.threads >= 3, `main, deposit and withdraw lanes; got ${run.threads} threads`);
    const lockEvents = (run.kinds['lock.hold'] ?? 0) + (run.kinds['lock.wait'] ?? 0) + (run.kinds['aggregate'] ?? 0);
    assert.ok(lockEvents > 0, `lock events arrived: ${JSON.stringify(run.kinds)}`);
    assert.ok((run.kinds['thread.run'] ?? 0) >= 2, 'thread.run events for deposit and withdraw');
    assert.ok((run.postedKinds['lock.hold'] ?? 0) + (run.postedKinds['lock.wait'] ?? 0) > 0, 'lock events were forwarded to the panel');
    assert.strictEqual(run.postedEvents, run.events, 'every received event was forwarded (far below the cap)');

    // The outbox sends the last events a moment after the run ends; wait for it, bounded.
    const panel = await waitFor('the open, ready panel to be sent every event', () => {
      const p = api.panel();
      return p.open && p.ready && p.posted.events >= run.events ? p : undefined;
    }, 10_000);
    assert.ok(panel.posted.resets >= 1);

    const b = bridge();
    if (!b) return; // test-electron: no browser side to read the webview DOM
    const dom = await waitFor('the webview to draw the whole trace', async () => {
      const d = await askBrowser<DomSummary>(b, { what: 'dom', screenshot: 'timeline-bank_lock.png' });
      return d.state === 'ready' && d.summary && d.summary.events >= run.events ? d : undefined;
    }, 60_000, 500);
    const s = dom.summary!;
    assert.ok(s.lanes >= 3, `lanes drawn: ${s.lanes} (${s.laneNames.join(', ')})`);
    assert.ok(s.laneNames.some((n) => /deposit/.test(n)) && s.laneNames.some((n) => /withdraw/.test(n)), `lane names: ${s.laneNames.join(', ')}`);
    assert.ok(s.intervals > 0, 'lock intervals drawn');
    // The webview keeps detail up to the same cap as the host (interleave.maxEventsInPanel).
    assert.strictEqual(s.maxEvents, Math.max(10_000, vscode.workspace.getConfiguration('interleave').get<number>('maxEventsInPanel', 2_000_000)));
  });

  it('clicking a lock interval in the timeline opens bank_lock.py at its recorded line', async function () {
    const b = bridge();
    if (!b) this.skip(); // test-electron: no browser side to click in the webview
    const lockFile = sample('bank_lock.py');
    assert.strictEqual(api.lastRun()?.title, 'bank_lock.py', 'the panel shows the bank_lock.py trace');
    // Another file in the editor column first: the editor that becomes active is the click's doing.
    await openEditor(sample('bank_race.py'));
    await waitFor('the panel beside the editor to be visible and ready', () => { const p = api.panel(); return p.visible && p.ready; }, 10_000);
    type Clicked = { kind: string; loc?: string; lane: string; selected: string | null } | null;
    let clicked = await askBrowser<Clicked>(b!, { what: 'clickItem', kind: 'lock.hold' });
    if (!clicked) clicked = await askBrowser<Clicked>(b!, { what: 'clickItem', kind: 'lock.wait' });
    assert.ok(clicked, 'a lock hold or wait is on screen');
    const m = /^(.*):(\d+)$/.exec(clicked.loc ?? '');
    assert.ok(m, `the clicked ${clicked.kind} has a source location: ${clicked.loc}`);
    assert.strictEqual(path.resolve(m[1]), lockFile.fsPath, 'recorded in the traced file');
    assert.strictEqual(clicked.selected, 'interval', 'the click selected the interval in the webview');
    const line = Number(m[2]);
    let seen = '';
    const editor = await waitFor(`bank_lock.py to open at line ${line}`, () => {
      const e = vscode.window.activeTextEditor;
      seen = e ? `${e.document.uri.fsPath}:${e.selection.active.line + 1}` : 'no active editor';
      return e && e.document.uri.fsPath === lockFile.fsPath && e.selection.active.line === line - 1 ? e : undefined;
    }, 15_000).catch((err: Error) => { throw new Error(`${err.message}; active editor: ${seen}`); });
    assert.match(editor.document.lineAt(line - 1).text, /balance_lock/, 'the line that takes the lock');
    assert.strictEqual(editor.viewColumn, vscode.ViewColumn.One, 'in the editor column, not over the panel');
    // The editor at the lock line beside the timeline with the selected interval, kept as an artifact.
    const dom = await askBrowser<DomSummary>(b!, { what: 'dom', screenshot: 'timeline-click-to-source.png' });
    assert.strictEqual(dom.state, 'ready');
  });

  it('shows a "Run with Interleave tracing" CodeLens above the __main__ guard', async () => {
    const uri = sample('bank_lock.py');
    const doc = await vscode.workspace.openTextDocument(uri);
    const guard = doc.getText().split(/\r?\n/).findIndex((l) => /^if __name__ == .__main__.:/.test(l));
    assert.ok(guard >= 0, 'the sample has a main guard');
    const lenses = await waitFor('the CodeLens', async () => {
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      const ours = (all ?? []).filter((l) => l.command?.command === 'interleave.traceCurrentFile');
      return ours.length ? ours : undefined;
    });
    assert.deepStrictEqual(lenses.map((l) => l.range.start.line), [guard]);
    assert.strictEqual(lenses[0].command!.arguments?.[0]?.toString(), uri.toString());
  });

  it('replays the trace when the hidden panel is shown again (no retained context)', async () => {
    const before = await waitFor('the panel from the previous run', () => { const p = api.panel(); return p.open && p.ready && p.column ? p : undefined; });
    const run = api.lastRun()!;
    // Cover the panel with an editor in its column: VS Code discards the hidden webview's document.
    const other = await vscode.workspace.openTextDocument(sample('bank_race.py'));
    await vscode.window.showTextDocument(other, { viewColumn: before.column, preview: false });
    await waitFor('the panel to be hidden', () => !api.panel().visible);
    await vscode.commands.executeCommand('interleave.showTimeline');
    const after = await waitFor('the webview to reload, say ready and get the replay', () => {
      const p = api.panel();
      return p.visible && p.ready && p.posted.readies > before.posted.readies && p.posted.events >= before.posted.events + run.postedEvents ? p : undefined;
    }, 30_000);
    assert.ok(after.posted.resets > before.posted.resets, 'the replay starts with a reset');
    assert.strictEqual(api.lastRun()!.title, 'bank_lock.py', 'still the same trace');
    const b = bridge();
    if (!b) return;
    const dom = await waitFor('the reloaded webview to draw the whole trace again', async () => {
      const d = await askBrowser<DomSummary>(b, { what: 'dom' });
      return d.state === 'ready' && d.summary && d.summary.events === run.postedEvents ? d : undefined;
    }, 30_000, 500);
    assert.ok(dom.summary!.lanes >= 3);

    // Closed by the user, then opened again: a new panel gets the same trace.
    await vscode.commands.executeCommand('interleave.showTimeline');
    await waitFor('the panel to be the active editor', () => api.panel().visible);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await waitFor('the panel to be closed', () => !api.panel().open);
    await vscode.commands.executeCommand('interleave.showTimeline');
    await waitFor('a new panel with the whole trace', () => {
      const p = api.panel();
      return p.open && p.ready && p.posted.events >= run.postedEvents;
    }, 30_000);
  });

  it('IL001 is reported on bank_race.py and not on bank_lock.py', async () => {
    const race = sample('bank_race.py');
    const lock = sample('bank_lock.py');
    await openEditor(race);
    const diags = await waitFor('IL001 diagnostics on bank_race.py', () => {
      const d = vscode.languages.getDiagnostics(race).filter((x) => codeOf(x) === 'IL001');
      return d.length ? d : undefined;
    }, 60_000);
    assert.ok(diags.every((d) => d.source?.toLowerCase().includes('interleave')), `source: ${diags.map((d) => d.source).join(', ')}`);
    await openEditor(lock);
    // Wait until the server has analysed bank_lock.py (its analysisStats notification), then look.
    await waitFor('bank_lock.py to be analysed', () => api.analysed()[lock.toString()] !== undefined, 60_000);
    const lockIl001 = vscode.languages.getDiagnostics(lock).filter((x) => codeOf(x) === 'IL001');
    assert.deepStrictEqual(lockIl001.map((d) => d.message), [], 'no IL001 where the lock protects the balance');

    // Restart: the server comes back and analyses the open documents again.
    await vscode.commands.executeCommand('interleave.restartLanguageServer');
    await waitFor('the restarted server to analyse bank_race.py again', () => api.languageServerRunning() && api.analysed()[race.toString()] !== undefined, 60_000);
    await waitFor('IL001 on bank_race.py after the restart', () => vscode.languages.getDiagnostics(race).some((x) => codeOf(x) === 'IL001'), 30_000);
  });

  it('stops deadlock.py: the deadlock is reported and the whole process tree is gone', async function () {
    const uri = sample('deadlock.py');
    await openEditor(uri);
    await vscode.commands.executeCommand('interleave.traceCurrentFile');
    const live = await waitFor('the deadlock event', () => {
      const r = api.lastRun();
      return r && r.title === 'deadlock.py' && (r.kinds.deadlock ?? 0) > 0 ? r : undefined;
    }, 60_000);
    assert.ok(live.running, 'a deadlocked program keeps running until stopped');
    assert.ok(live.deadlockNotified, 'the deadlock notification was shown');
    assert.ok(live.supervisorPid, 'the terminal reported its process id');
    const pids = live.pids;
    assert.ok(pids.length >= 2, `supervisor and program pids: ${pids.join(',')}`);
    assert.ok(pids.every((p) => !processGone(p)), 'the processes are alive before Stop');

    await vscode.commands.executeCommand('interleave.stopTrace');
    const run = await finishedRun(api, 'deadlock.py', 30_000);
    assert.ok(run.stopped);
    await waitFor('every process of the run to be gone', () => run.pids.every(processGone), 10_000);
    assert.ok((run.postedKinds.deadlock ?? 0) > 0, 'the deadlock event reached the panel');
    assert.ok((run.kinds['lock.hold'] ?? 0) + (run.kinds['lock.wait'] ?? 0) > 0, 'the trace so far was kept');

    const b = bridge();
    if (!b) return;
    const dom = await waitFor('the deadlock marker in the webview', async () => {
      const d = await askBrowser<DomSummary>(b, { what: 'dom', screenshot: 'timeline-deadlock.png' });
      return d.state === 'ready' && d.summary && d.summary.deadlocks > 0 ? d : undefined;
    }, 30_000, 500);
    assert.ok(dom.summary!.deadlocks >= 1);
    assert.strictEqual(dom.summary!.events, run.postedEvents, 're-running replaced the previous trace in the panel');

    // The notification's "Show in Timeline" action reveals the deadlock in the panel.
    const reveals = api.panel().posted.reveals;
    await askBrowser<boolean>(b, { what: 'click', button: 'Show in Timeline' });
    await waitFor('the reveal posted by the notification action', () => api.panel().posted.reveals > reveals, 10_000);
  });

  it('"Show in timeline" posts a reveal to the panel', async () => {
    const before = api.panel().posted.reveals;
    await vscode.commands.executeCommand('interleave.showInTimeline', { kind: 'deadlock' });
    await waitFor('the reveal message', () => api.panel().posted.reveals > before, 10_000);
  });

  it('a crashing script ends the run with its exit code and the exception in the trace', async () => {
    const file = path.join(workspace(), 'crash_e2e.py');
    fs.writeFileSync(file, [
      'import threading',
      'def boom():',
      '    raise ValueError("worker failed")',
      't = threading.Thread(target=boom, name="worker")',
      't.start()',
      't.join()',
      'raise SystemExit(4)',
      '',
    ].join('\n'));
    await openEditor(vscode.Uri.file(file));
    await vscode.commands.executeCommand('interleave.traceCurrentFile');
    const run = await finishedRun(api, 'crash_e2e.py');
    assert.strictEqual(run.exitCode, 4);
    assert.ok((run.kinds.exception ?? 0) >= 1, `the thread's exception was recorded: ${JSON.stringify(run.kinds)}`);
    assert.ok(!run.stopped);
  });

  it('a program that forks 100 children and floods its output is traced to the end', async () => {
    const file = path.join(workspace(), 'fork_flood_e2e.py');
    fs.writeFileSync(file, [
      'import os, sys',
      'pids = []',
      'for i in range(100):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        sys.stdout.write(("child %d says hello\\n" % i) * 200)',
      '        sys.stdout.flush()',
      '        os._exit(0)',
      '    pids.append(pid)',
      'for p in pids:',
      '    os.waitpid(p, 0)',
      'print("x" * 100000)',
      '',
    ].join('\n'));
    await openEditor(vscode.Uri.file(file));
    const postedBefore = api.panel().posted.events;
    await vscode.commands.executeCommand('interleave.traceCurrentFile');
    const run = await finishedRun(api, 'fork_flood_e2e.py', 90_000);
    assert.strictEqual(run.exitCode, 0, `warnings: ${run.warnings.join('; ')}`);
    assert.ok(run.processes >= 101, `every child appears: ${run.processes} processes`);
    assert.ok((run.kinds['process.start'] ?? 0) >= 101 && (run.kinds['process.exit'] ?? 0) >= 101, JSON.stringify(run.kinds));
    await waitFor('the panel to be sent every event', () => api.panel().posted.events - postedBefore >= run.postedEvents, 10_000);
  });

  it('keeps the last trace per file: saves it, opens it again, and exports an HTML report', async () => {
    // The crash run replaced the deadlock trace in the panel; Show Timeline from deadlock.py's editor
    // brings that file's last trace back.
    await openEditor(sample('deadlock.py'));
    await vscode.commands.executeCommand('interleave.showTimeline');
    await waitFor('the deadlock.py trace to be current again', () => api.lastRun()?.title === 'deadlock.py');
    const saved = vscode.Uri.file(path.join(tmp, 'deadlock.trace.json'));
    await vscode.commands.executeCommand('interleave.saveTrace', saved);
    const json = JSON.parse(fs.readFileSync(saved.fsPath, 'utf8')) as { traceEvents: Array<{ args?: { k?: string } }>; metadata: Record<string, unknown> };
    assert.strictEqual(json.metadata.producer, 'interleave');
    assert.ok(json.traceEvents.some((e) => e.args?.k === 'deadlock'), 'the saved file holds the deadlock event');

    await vscode.commands.executeCommand('interleave.openTrace', saved);
    const opened = await waitFor('the opened trace to be current', () => {
      const r = api.lastRun();
      return r && r.source === 'file' && r.title === 'deadlock.trace.json' ? r : undefined;
    });
    assert.ok((opened.kinds.deadlock ?? 0) > 0 && (opened.kinds['lock.hold'] ?? 0) > 0, `kinds read back: ${JSON.stringify(opened.kinds)}`);
    assert.deepStrictEqual(opened.warnings, []);
    const b = bridge();
    if (b) {
      const dom = await waitFor(`the webview to show the opened file (${opened.events} events)`, async () => {
        const d = await askBrowser<DomSummary>(b, { what: 'dom' });
        if (d.state === 'ready' && d.summary && d.summary.deadlocks > 0 && d.summary.events >= opened.events) return d;
        // What the webview shows instead, and what the host knows of the panel: the timeout's message says it.
        throw new Error(`state ${d.state}, events ${d.summary?.events}, deadlocks ${d.summary?.deadlocks}; panel ${JSON.stringify(api.panel())}`);
      }, 30_000, 500);
      assert.ok(dom.summary!.lanes >= 3);
    }

    const report = vscode.Uri.file(path.join(tmp, 'report.html'));
    await vscode.commands.executeCommand('interleave.exportReport', report);
    const html = fs.readFileSync(report.fsPath, 'utf8');
    assert.match(html, /<html/i);
    assert.ok(html.includes('deadlock'), 'the report embeds the trace');
  });
});

function codeOf(d: vscode.Diagnostic): string | undefined {
  const c = d.code;
  if (typeof c === 'string' || typeof c === 'number') return String(c);
  return c ? String(c.value) : undefined;
}

describe('untrusted workspace', function () {
  it('refuses to run a file and says why', async function () {
    if (vscode.workspace.isTrusted) this.skip(); // runs in the launcher's session with workspace trust on
    const ext = vscode.extensions.getExtension<InterleaveTestApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    const api = await ext.activate();
    await openEditor(sample('bank_lock.py'));
    await vscode.commands.executeCommand('interleave.traceCurrentFile');
    const note = await waitFor('the explanation', () => api.notifications().find((n) => /untrusted workspace/.test(n)), 10_000);
    assert.match(note, /^warning: /);
    assert.strictEqual(api.lastRun(), undefined, 'nothing ran');
    // Lint diagnostics still work in an untrusted workspace (capabilities: limited support).
    const race = sample('bank_race.py');
    await openEditor(race);
    await waitFor('IL001 on bank_race.py', () => vscode.languages.getDiagnostics(race).some((x) => codeOf(x) === 'IL001'), 60_000);
  });
});

describe('window reload', function () {
  it('restores the panel and the last trace after the window reloads', async function () {
    const b = bridge();
    if (!b?.reload) this.skip(); // only in the launcher's reload session
    const ext = vscode.extensions.getExtension<InterleaveTestApi>(EXTENSION_ID)!;
    const api = await ext.activate();
    const marker = path.join(b!.dir, 'reloaded');
    if (!fs.existsSync(marker)) {
      // Phase 1: trace, let the trace be kept in storage, then reload the window (VS Code's own command,
      // which saves the workbench state first; a bare page reload does not always). The reload ends this
      // extension host; VS Code runs the suite again in the new one (phase 2), which sees the marker.
      await openEditor(sample('bank_lock.py'));
      await vscode.commands.executeCommand('interleave.traceCurrentFile');
      await finishedRun(api, 'bank_lock.py');
      await waitFor('the trace to be kept for reloads', () => api.persisted() > 0, 30_000);
      await waitFor('the panel to be ready', () => api.panel().ready);
      fs.writeFileSync(marker, '');
      await vscode.commands.executeCommand('workbench.action.reloadWindow');
      await new Promise(() => undefined); // the reload ends this extension host
    }
    // Phase 2: the serializer revived the panel and the last trace came back from storage.
    const run = await waitFor('the restored trace', () => {
      const r = api.lastRun();
      return r && r.title === 'bank_lock.py' ? r : undefined;
    }, 60_000);
    assert.strictEqual(run.source, 'file');
    assert.ok((run.kinds['lock.hold'] ?? 0) + (run.kinds['lock.wait'] ?? 0) > 0);
    await waitFor('the revived panel to be ready and replayed', () => { const p = api.panel(); return p.open && p.ready && p.posted.events >= run.postedEvents; }, 60_000);
    const dom = await waitFor('the revived webview to draw the trace', async () => {
      const d = await askBrowser<DomSummary>(b!, { what: 'dom', screenshot: 'timeline-after-reload.png' });
      return d.state === 'ready' && d.summary && d.summary.events === run.postedEvents ? d : undefined;
    }, 60_000, 500);
    assert.ok(dom.summary!.laneNames.some((n) => /deposit/.test(n)));
  });
});
