/**
 * Typing latency through the real server: a 5,000-line Python file is opened in dist/server.js over
 * stdio, then one-character edits are sent one at a time; each is timed from didChange to the
 * publishDiagnostics carrying its version (so the server's debounce or throttle window is included; edits are
 * sent back to back, the worst case for a throttle: each waits for the window of the previous analysis).
 * Prints p50/p95/max; not a test.
 *
 *   npx webpack --mode development --config-name server && npx tsx bench/lint/latency.ts [edits] [pause-ms]
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { AnalysisStatsNotification } from '../../protocol/lsp';
import { REPO } from './common';

/** A realistic 5,000-line module: classes with locks, worker functions, threads and plain code. */
export function bigFile(targetLines = 5000): string {
  const out: string[] = ['import threading', 'import queue', 'from concurrent.futures import ThreadPoolExecutor', '', 'total = 0', 'cache = {}', 'lock = threading.Lock()', ''];
  let i = 0;
  while (out.length < targetLines - 10) {
    out.push(
      `class Service${i}:`,
      '    def __init__(self):',
      '        self._lock = threading.Lock()',
      '        self.count = 0',
      '        self.items = []',
      '',
      '    def add(self, item):',
      '        with self._lock:',
      '            self.items.append(item)',
      '            self.count += 1',
      '',
      '    def size(self):',
      '        # a comment that edits will touch',
      '        return len(self.items)',
      '',
      '',
      `def work${i}(n):`,
      '    global total',
      '    result = 0',
      '    for k in range(n):',
      '        result += k * 2',
      '    if n % 2:',
      `        total += result  # a race, on purpose`,
      '    return result',
      '',
      '',
      `def helper${i}(values):`,
      '    squares = [v * v for v in values]',
      '    return sum(squares) / max(len(squares), 1)',
      '',
      '',
    );
    i++;
  }
  out.push('def main():');
  out.push(`    threads = [threading.Thread(target=work${0}, args=(n,)) for n in range(4)]`);
  out.push('    for t in threads:', '        t.start()', '    for t in threads:', '        t.join()', '', '', 'if __name__ == "__main__":', '    main()', '');
  return out.join('\n');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const edits = Number(process.argv[2] ?? 200);
  // Optional pause between edits (a typing cadence, e.g. 100 ms); 0 sends them back to back.
  const pauseMs = Number(process.argv[3] ?? 0);
  const bundle = path.join(REPO, 'dist', 'server.js');
  if (!fs.existsSync(bundle)) throw new Error('dist/server.js is missing: npx webpack --mode development --config-name server');
  const text = bigFile();
  const lineCount = text.split('\n').length;
  const proc = cp.spawn(process.execPath, [bundle, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const waiting = new Map<number, (n: number) => void>();
  const analyseMs: number[] = [];
  conn.onNotification('textDocument/publishDiagnostics', (p: { version?: number; diagnostics: unknown[] }) => {
    if (p.version !== undefined) waiting.get(p.version)?.(p.diagnostics.length);
  });
  conn.onNotification(AnalysisStatsNotification.method, (p: AnalysisStatsNotification.Params) => analyseMs.push(p.parseMs + p.analyseMs));
  conn.listen();
  const published = (version: number) => new Promise<number>((resolve) => waiting.set(version, resolve));
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification('initialized', {});
  const uri = 'file:///tmp/interleave-latency.py';
  let t = performance.now();
  const first = published(1);
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
  const findings = await first;
  console.log(`${lineCount}-line file opened: first diagnostics after ${(performance.now() - t).toFixed(0)} ms (${findings} findings)`);

  // Edits alternate between typing a character into a comment or an identifier and deleting it again.
  const lines = text.split('\n');
  const targets = lines.map((l, n) => (l.includes('# a comment that edits will touch') || l.includes('result += k * 2') ? n : -1)).filter((n) => n >= 0);
  const times: number[] = [];
  analyseMs.length = 0;
  for (let k = 0; k < edits; k++) {
    // Odd edits delete the character the previous edit typed (same line, same column).
    const line = targets[((k % 2 === 0 ? k : k - 1) * 7919) % targets.length];
    const character = lines[line].length;
    const version = k + 2;
    const change = k % 2 === 0
      ? { range: { start: { line, character }, end: { line, character } }, text: 'x' }
      : { range: { start: { line, character }, end: { line, character: character + 1 } }, text: '' };
    const done = published(version);
    t = performance.now();
    await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
    await done;
    times.push(performance.now() - t);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  times.sort((a, b) => a - b);
  analyseMs.sort((a, b) => a - b);
  console.log(`${edits} one-character edits ${pauseMs > 0 ? `${pauseMs} ms apart` : 'sent back to back'}, didChange → publishDiagnostics (includes the server's 20 ms debounce or throttle window):`);
  console.log(`  p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms (goal p95 ≤ 50 ms)`);
  console.log(`  server-side reparse + analysis: p50 ${percentile(analyseMs, 50).toFixed(1)} ms, p95 ${percentile(analyseMs, 95).toFixed(1)} ms`);
  console.log(`  machine load (1-min average): ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  await new Promise((r) => proc.once('exit', r));
  conn.dispose();
}

if (require.main === module) main().catch((err) => { console.error(err); process.exitCode = 1; });
