/**
 * The language server end to end: the bundled dist/server.js (rebuilt when older than its sources) over
 * stdio, driven by a real JSON-RPC client (vscode-jsonrpc). Waits on messages, never on timers.
 */
import * as assert from 'assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { AnalysisStatsNotification, SHOW_IN_TIMELINE_COMMAND } from '../../../protocol/lsp';
import { REPO } from './fixtures';

const BUNDLE = path.join(REPO, 'dist', 'server.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The server command: the bundle, rebuilt if stale; the sources under tsx only if the build itself fails. */
function serverCommand(): { args: string[]; bundled: boolean } {
  const stale = () => !fs.existsSync(BUNDLE) || fs.statSync(BUNDLE).mtimeMs < Math.max(newestSource(path.join(REPO, 'server')), newestSource(path.join(REPO, 'protocol')));
  if (stale()) {
    const r = cp.spawnSync('npx', ['webpack', '--mode', 'development', '--config-name', 'server'], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0 || stale()) {
      process.stderr.write(`      (webpack build of the server failed, testing the sources under tsx instead:\n${(r.stdout + r.stderr).split('\n').slice(-6).join('\n')})\n`);
      return { args: ['--import', 'tsx', path.join(REPO, 'server', 'server.ts'), '--stdio'], bundled: false };
    }
  }
  return { args: [BUNDLE, '--stdio'], bundled: true };
}

interface Diag { range: { start: { line: number; character: number } }; code: string; source: string; message: string; severity: number; relatedInformation: unknown[]; codeDescription?: { href: string } }

class Client {
  readonly proc: cp.ChildProcess;
  readonly conn: MessageConnection;
  private waiters: { method: string; pred: (p: any) => boolean; resolve: (p: any) => void }[] = [];
  stderr = '';

  constructor(args: string[]) {
    this.proc = cp.spawn(process.execPath, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d) => { this.stderr += String(d); });
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification((method: string, params: any) => {
      this.waiters = this.waiters.filter((w) => {
        if (w.method !== method || !w.pred(params)) return true;
        w.resolve(params);
        return false;
      });
    });
    this.conn.listen();
  }

  /** Resolves with the first notification `method` whose params satisfy `pred` (registered before sending). */
  next<T = any>(method: string, pred: (p: T) => boolean = () => true): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ method, pred, resolve }));
  }

  async stop(): Promise<void> {
    try {
      await this.conn.sendRequest('shutdown');
      await this.conn.sendNotification('exit');
    } catch { /* already gone */ }
    // The server exits on the 'exit' notification; wait for that (it is the behaviour under test too).
    if (this.proc.exitCode === null) await new Promise((r) => this.proc.once('exit', r));
    this.conn.dispose();
  }
}

describe('language server over stdio', function () {
  this.timeout(120_000);
  let client: Client;
  const racePath = path.join(REPO, 'samples', 'bank_race.py');
  const uri = pathToFileURL(racePath).toString();
  const text = fs.readFileSync(racePath, 'utf8');

  before(async () => {
    const cmd = serverCommand();
    if (!cmd.bundled) process.stderr.write('      NOTE: testing server/server.ts under tsx, not dist/server.js\n');
    client = new Client(cmd.args);
  });

  after(async () => { await client?.stop(); });

  it('initializes with incremental sync, code actions and hover', async () => {
    const result: any = await client.conn.sendRequest('initialize', {
      processId: process.pid, rootUri: null, capabilities: { workspace: { configuration: false } },
      initializationOptions: { enable: true, rules: { IL003: 'off' } },
    });
    await client.conn.sendNotification('initialized', {});
    assert.strictEqual(result.capabilities.textDocumentSync.change, 2);
    assert.deepStrictEqual(result.capabilities.codeActionProvider.codeActionKinds, ['quickfix']);
    assert.strictEqual(result.capabilities.hoverProvider, true);
  });

  it('publishes diagnostics with code, source, related information and a docs link, then stats', async () => {
    const diags = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri);
    const stats = client.next<AnalysisStatsNotification.Params>(AnalysisStatsNotification.method, (p) => p.uri === uri);
    await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
    const { diagnostics } = await diags;
    const race = diagnostics.find((d) => d.code === 'IL001' && d.message.includes('`balance`'));
    assert.ok(race, JSON.stringify(diagnostics));
    assert.deepStrictEqual(race.range.start, { line: 35, character: 8 });
    assert.strictEqual(race.source, 'interleave');
    assert.strictEqual(race.severity, 2);
    assert.ok(race.relatedInformation.length >= 2, 'thread start sites');
    assert.match(race.codeDescription?.href ?? '', /RULES\.md#il001$/);
    const s = await stats;
    assert.strictEqual(s.findings, diagnostics.length);
    assert.ok(s.parseMs >= 0 && s.analyseMs > 0);
  });

  it('offers the lock quick fix, suppression and "Show in timeline" for the race', async () => {
    const { diagnostics } = await (async () => {
      // Ask the server for the current diagnostics through a harmless edit (a space at the end).
      const next = client.next<{ uri: string; version: number; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri && p.version === 2);
      const lines = text.split('\n');
      const last = lines.length - 1;
      await client.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 2 },
        contentChanges: [{ range: { start: { line: last, character: 0 }, end: { line: last, character: 0 } }, text: ' ' }],
      });
      return next;
    })();
    const race = diagnostics.find((d) => d.code === 'IL001' && d.message.includes('`balance`'))!;
    const actions: any[] = await client.conn.sendRequest('textDocument/codeAction', {
      textDocument: { uri }, range: race.range, context: { diagnostics: [race] },
    });
    const titles = actions.map((a) => a.title);
    assert.ok(titles.includes("Wrap in 'with balance_lock:' (new module-level threading.Lock())"), titles.join(' | '));
    assert.ok(titles.includes('Suppress IL001 on this line'));
    const wrap = actions.find((a) => a.title.startsWith('Wrap'));
    assert.strictEqual(wrap.kind, 'quickfix');
    assert.ok(wrap.edit.changes[uri].length === 2, 'adds the lock and wraps the code');
    const show = actions.find((a) => a.title === 'Show in timeline');
    assert.deepStrictEqual(show.command, { title: 'Show in timeline', command: SHOW_IN_TIMELINE_COMMAND, arguments: [{ loc: `${racePath}:36`, names: ['balance'] }] });
  });

  it('explains on hover which threads touch the flagged name', async () => {
    const hover: any = await client.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 31, character: 20 } });
    assert.ok(hover, 'hover on the read of balance');
    assert.match(hover.contents.value, /\*\*balance\*\*/);
    assert.match(hover.contents.value, /`update` in thread update \(started at lines 41, 42/);
    const none = await client.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 0 } });
    assert.strictEqual(none, null);
  });

  it('coalesces a burst of edits and publishes diagnostics of the final text for the last version', async () => {
    const published: number[] = [];
    const last = text.split('\n').length - 1;
    const line35 = text.split('\n')[35];
    // The predicate sees every publication until the one for the last version (and records them).
    const final = client.next<{ uri: string; version: number; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => {
      if (p.uri === uri && p.version >= 3) published.push(p.version);
      return p.uri === uri && p.version === 22;
    });
    const sends: Promise<void>[] = [];
    for (let v = 3; v <= 21; v++) {
      sends.push(client.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: v }, contentChanges: [{ range: { start: { line: last, character: 0 }, end: { line: last, character: 0 } }, text: ' ' }],
      }));
    }
    // The last edit of the burst suppresses the race on line 36: only an analysis of the final text knows.
    sends.push(client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 22 }, contentChanges: [{ range: { start: { line: 35, character: line35.length }, end: { line: 35, character: line35.length } }, text: '  # interleave: ignore[IL001]' }],
    }));
    await Promise.all(sends);
    const { diagnostics } = await final;
    assert.ok(!diagnostics.some((d) => d.code === 'IL001' && d.range.start.line === 35), 'the suppression typed last is seen');
    assert.ok(diagnostics.some((d) => d.code === 'IL001' && d.range.start.line === 36), 'the other race stays');
    assert.ok(published.length < 20, `20 edits in a burst, ${published.length} analyses (${published.join(', ')})`);
    // Take the suppression out again for the tests below.
    const restored = client.next<{ uri: string; version: number; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri && p.version === 23);
    await client.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 23 }, contentChanges: [{ range: { start: { line: 35, character: line35.length }, end: { line: 35, character: line35.length + 29 } }, text: '' }],
    });
    assert.ok((await restored).diagnostics.some((d) => d.code === 'IL001' && d.range.start.line === 35));
  });

  it('applies settings changes: a rule turned off disappears', async () => {
    const next = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri && !p.diagnostics.some((d) => d.code === 'IL001'));
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { interleave: { lint: { enable: true, rules: { IL001: 'off' } } } } });
    const { diagnostics } = await next;
    assert.deepStrictEqual(diagnostics.filter((d) => d.code === 'IL001'), []);
  });

  it('publishes nothing while lint is disabled', async () => {
    const next = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri);
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { interleave: { lint: { enable: false, rules: {} } } } });
    assert.deepStrictEqual((await next).diagnostics, []);
    const back = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri && p.diagnostics.length > 0);
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { interleave: { lint: { enable: true, rules: {} } } } });
    assert.ok((await back).diagnostics.some((d) => d.code === 'IL001'));
  });

  it('clears diagnostics when the document closes', async () => {
    const next = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === uri);
    await client.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
    assert.deepStrictEqual((await next).diagnostics, []);
    assert.doesNotMatch(client.stderr, /uncaught|unhandled/);
  });
});

describe('language server: workspace index (imports followed)', function () {
  this.timeout(120_000);
  let client: Client;
  const ws = path.join(REPO, 'test', 'fixtures', 'lint', 'workspace');
  const workerUri = pathToFileURL(path.join(ws, 'pkg', 'worker.py')).toString();

  before(() => { client = new Client(serverCommand().args); });
  after(async () => { await client?.stop(); });

  it("flags a race in an opened file once the index knows app.py starts its function in threads", async () => {
    await client.conn.sendRequest('initialize', {
      processId: process.pid, rootUri: pathToFileURL(ws).toString(), capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }],
    });
    const flagged = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === workerUri && p.diagnostics.some((d) => d.code === 'IL001'));
    await client.conn.sendNotification('initialized', {});
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: workerUri, languageId: 'python', version: 1, text: fs.readFileSync(path.join(ws, 'pkg', 'worker.py'), 'utf8') },
    });
    const { diagnostics } = await flagged;
    const race = diagnostics.find((d) => d.code === 'IL001')!;
    assert.deepStrictEqual(race.range.start, { line: 6, character: 4 });
    const related = race.relatedInformation as { location: { uri: string; range: { start: { line: number } } } }[];
    assert.strictEqual(related[0].location.uri, pathToFileURL(path.join(ws, 'app.py')).toString());
    assert.strictEqual(related[0].location.range.start.line, 8);
  });

  it('flags a race in a helper module that threads of another file call into, relating both files', async () => {
    const counters = path.join(ws, 'helper_race', 'counters.py');
    const countersUri = pathToFileURL(counters).toString();
    const flagged = client.next<{ uri: string; diagnostics: Diag[] }>('textDocument/publishDiagnostics', (p) => p.uri === countersUri && p.diagnostics.some((d) => d.code === 'IL001'));
    await client.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri: countersUri, languageId: 'python', version: 1, text: fs.readFileSync(counters, 'utf8') },
    });
    const race = (await flagged).diagnostics.find((d) => d.code === 'IL001')!;
    assert.deepStrictEqual(race.range.start, { line: 6, character: 4 });
    const related = race.relatedInformation as { location: { uri: string; range: { start: { line: number } } } }[];
    const mainUri = pathToFileURL(path.join(ws, 'helper_race', 'main.py')).toString();
    assert.deepStrictEqual(related.map((r) => [r.location.uri, r.location.range.start.line]), [[mainUri, 18], [mainUri, 13]]);
  });
});
