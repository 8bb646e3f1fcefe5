import * as assert from 'assert';
import { newRunToken, tokenMatches } from '../../../extension/run/token';
import { mainGuardLines } from '../../../extension/run/mainGuard';
import { candidates, isSupported, parseVersion, resolveInterpreter, ProbeResult } from '../../../extension/run/interpreter';
import { RunStatsTracker, formatElapsed } from '../../../extension/run/runStats';
import { parseTraceArgs } from '../../../extension/cli/traceArgs';
import type { TraceEvent } from '../../../protocol';

describe('extension/run/token', () => {
  it('makes 64-hex-char tokens that differ per run', () => {
    const a = newRunToken();
    const b = newRunToken();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notStrictEqual(a, b);
  });
  it('accepts only the exact token', () => {
    const t = newRunToken();
    assert.ok(tokenMatches(t, t));
    assert.ok(!tokenMatches(t, t.slice(0, -1) + (t.endsWith('0') ? '1' : '0')));
    assert.ok(!tokenMatches(t, t.slice(1)));
    assert.ok(!tokenMatches(t, ''));
    assert.ok(!tokenMatches(t, undefined));
    assert.ok(!tokenMatches(t, 42));
  });
});

describe('extension/run/mainGuard', () => {
  it('finds top-level main guards in either quote style, not indented or commented ones', () => {
    const text = [
      'import threading',
      'if __name__ == "__main__":',
      '    main()',
      "if __name__=='__main__' :",
      '    if __name__ == "__main__":',
      '# if __name__ == "__main__":',
      'if __name__ == "__main__" and x:',
    ].join('\r\n');
    assert.deepStrictEqual(mainGuardLines(text), [1, 3]);
  });
});

describe('extension/run/interpreter', () => {
  it('orders candidates: Python extension, setting, PATH; without duplicates or blanks', () => {
    assert.deepStrictEqual(candidates({ fromPythonExtension: '/venv/bin/python', setting: '  ', platform: 'linux' }).map((c) => c.path),
      ['/venv/bin/python', 'python3', 'python']);
    assert.deepStrictEqual(candidates({ setting: 'python3', platform: 'linux' }).map((c) => `${c.source}:${c.path}`),
      ['setting:python3', 'path:python']);
    assert.deepStrictEqual(candidates({ platform: 'win32' }).map((c) => c.path), ['python']);
  });
  it('parses versions', () => {
    assert.deepStrictEqual(parseVersion('Python 3.11.7\n'), [3, 11, 7]);
    assert.deepStrictEqual(parseVersion('3.9'), [3, 9, 0]);
    assert.strictEqual(parseVersion('not python'), undefined);
    assert.ok(isSupported([3, 9, 0]) && isSupported([4, 0, 0]) && !isSupported([3, 8, 18]) && !isSupported([2, 7, 18]));
  });
  it('takes the first working candidate that is new enough, and explains failures', async () => {
    const table: Record<string, ProbeResult> = {
      '/old/python': { ok: true, version: [3, 8, 10] },
      python3: { ok: false, error: 'was not found' },
      python: { ok: true, version: [3, 12, 1] },
    };
    const probe = async (p: string): Promise<ProbeResult> => table[p] ?? { ok: false, error: 'was not found' };
    const r = await resolveInterpreter(candidates({ setting: '/old/python', platform: 'linux' }), probe);
    assert.ok(r.ok);
    assert.strictEqual(r.ok && r.path, 'python');
    assert.deepStrictEqual(r.ok && r.skipped.map((t) => `${t.candidate.source}:${t.candidate.path}`), ['setting:/old/python', 'path:python3'], 'says which configured interpreters were passed over');
    const none = await resolveInterpreter(candidates({ setting: '/old/python', platform: 'linux' }), async (p) => p === '/old/python' ? table[p] : { ok: false, error: 'was not found' });
    assert.ok(!none.ok);
    if (!none.ok) {
      assert.match(none.message, /needs Python 3\.9 or newer/);
      assert.match(none.message, /\/old\/python \(from the interleave.pythonPath setting\) is Python 3\.8\.10/);
      assert.match(none.message, /python3 \(from PATH\) was not found/);
      assert.strictEqual(none.tried.length, 3);
    }
  });
});

describe('extension/run/runStats', () => {
  const ev = (k: TraceEvent['k'], pid: number, tid: number, extra: Partial<TraceEvent> = {}): TraceEvent => ({ k, ph: 'i', ts: 0, pid, tid, ...extra });
  it('counts processes, threads, kinds and dropped events from summaries', () => {
    const s = new RunStatsTracker(1000, 2000);
    s.add([ev('process.start', 10, 10), ev('thread.spawn', 10, 10), { k: 'thread.run', ph: 'b', ts: 1, pid: 10, tid: 11 }], 1500);
    s.add([ev('process.start', 20, 20), ev('process.summary', 20, 20, { a: { emitted: 5, dropped: 2 } }), ev('process.summary', 20, 20, { a: { emitted: 9, dropped: 3 } })], 2000);
    s.add([ev('process.exit', 20, 10)], 2500);
    const snap = s.snapshot(2500);
    assert.strictEqual(snap.events, 7);
    assert.strictEqual(snap.processes, 2);
    assert.strictEqual(s.liveProcesses(), 1);
    assert.strictEqual(snap.threads, 3); // 10/10, 10/11, 20/20
    assert.strictEqual(snap.dropped, 3, 'a later summary of the same process replaces the earlier one');
    assert.strictEqual(s.kinds['process.summary'], 2);
  });
  it('computes the rate over the sliding window only', () => {
    const s = new RunStatsTracker(0, 1000);
    s.add(new Array(500).fill(0).map(() => ev('lock.fail', 1, 1)), 100);
    s.add(new Array(300).fill(0).map(() => ev('lock.fail', 1, 1)), 5000);
    assert.strictEqual(s.snapshot(5000).eventsPerSecond, 300);
    assert.strictEqual(formatElapsed(1234), '1.2 s');
    assert.strictEqual(formatElapsed(65_000), '1:05');
  });
});

describe('extension/cli/trace argument parsing', () => {
  it('separates our options from the program and its arguments', () => {
    assert.deepStrictEqual(parseTraceArgs(['-o', 'r.html', '--mode', 'full', 'bank.py', '-o', 'x']),
      { output: 'r.html', runtimeArgs: ['--mode', 'full'], program: ['bank.py', '-o', 'x'] });
    assert.deepStrictEqual(parseTraceArgs(['--deadlock-timeout=1', '-m', 'pkg.mod', 'a']),
      { output: undefined, runtimeArgs: ['--deadlock-timeout=1'], program: ['-m', 'pkg.mod', 'a'] });
  });
  it('rejects bad input with a message', () => {
    assert.deepStrictEqual(parseTraceArgs([]), { error: 'no script given' });
    assert.deepStrictEqual(parseTraceArgs(['-o']), { error: '-o needs a file name' });
    assert.deepStrictEqual(parseTraceArgs(['--bogus', 'x.py']), { error: 'unknown option --bogus' });
  });
});
