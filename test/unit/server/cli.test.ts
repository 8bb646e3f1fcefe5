/** `interleave lint`: output formats, exit codes and folder walking (run in-process, output captured). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLint } from '../../../server/cli/lint';
import { REPO } from './fixtures';

async function lint(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const code = await runLint(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
}

const samples = path.join(REPO, 'samples');

describe('interleave lint', () => {
  it('prints file:line:col code message and exits 1 on the race sample', async () => {
    const file = path.join(samples, 'bank_race.py');
    const r = await lint([file]);
    assert.strictEqual(r.code, 1);
    assert.match(r.out, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:36:9 IL001 Read-modify-write of shared global balance`, 'm'));
  });

  it('flags the join-before-get hang sample (IL011) at its join, with the get as related information', async () => {
    const file = path.join(samples, 'mp_join_deadlock.py');
    const r = await lint(['--json', file]);
    assert.strictEqual(r.code, 1);
    const [{ findings }] = JSON.parse(r.out) as { findings: { code: string; range: { start: { line: number } }; related: { range: { start: { line: number } } }[] }[] }[];
    assert.deepStrictEqual(findings.map((f) => f.code), ['IL011']);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.match(lines[findings[0].range.start.line], /child\.join\(\)/);
    assert.match(lines[findings[0].related[0].range.start.line], /results\.get\(\)/);
  });

  it('flags the subprocess pipe hang sample (IL013) at its wait, with the stdout=PIPE as related information', async () => {
    const file = path.join(samples, 'subprocess_pipe_deadlock.py');
    const r = await lint(['--json', file]);
    assert.strictEqual(r.code, 1);
    const [{ findings }] = JSON.parse(r.out) as { findings: { code: string; range: { start: { line: number } }; related: { range: { start: { line: number; character: number } } }[] }[] }[];
    assert.deepStrictEqual(findings.map((f) => f.code), ['IL013']);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.match(lines[findings[0].range.start.line], /child\.wait\(\)/);
    const at = findings[0].related[0].range.start;
    assert.match(lines[at.line].slice(0, at.character), /stdout=$/);     // the keyword's value
    assert.match(lines[at.line].slice(at.character), /^subprocess\.PIPE\)/);
  });

  it('exits 0 with no output on the locked sample', async () => {
    const r = await lint([path.join(samples, 'bank_lock.py')]);
    assert.deepStrictEqual(r, { code: 0, out: '', err: '' });
  });

  it('writes JSON findings with absolute paths and protocol fields only', async () => {
    const r = await lint(['--json', path.join(samples, 'bank_race.py'), path.join(samples, 'bank_lock.py')]);
    assert.strictEqual(r.code, 1);
    const parsed = JSON.parse(r.out) as { file: string; findings: Record<string, unknown>[] }[];
    assert.strictEqual(parsed.length, 1);
    assert.strictEqual(parsed[0].file, path.join(samples, 'bank_race.py'));
    const f = parsed[0].findings.find((x) => x.code === 'IL001' && (x.names as string[]).includes('balance'))!;
    assert.deepStrictEqual(Object.keys(f).sort(), ['code', 'message', 'names', 'range', 'related', 'severity']);
    assert.deepStrictEqual(f.range, { start: { line: 35, character: 8 }, end: { line: 35, character: 15 } });
  });

  it('walks folders for .py files only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-lint-'));
    try {
      fs.mkdirSync(path.join(dir, 'pkg'));
      fs.copyFileSync(path.join(samples, 'bank_race.py'), path.join(dir, 'pkg', 'race.py'));
      fs.writeFileSync(path.join(dir, 'pkg', 'notes.txt'), 'import threading\nx += 1\n');
      const r = await lint([dir]);
      assert.strictEqual(r.code, 1);
      const files = new Set(r.out.trim().split('\n').map((l) => l.split(':')[0]));
      assert.deepStrictEqual([...files], [path.join(dir, 'pkg', 'race.py')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on bad usage with a message', async () => {
    const none = await lint([]);
    assert.strictEqual(none.code, 2);
    assert.match(none.err, /no paths given/);
    const bad = await lint(['--fast', 'x.py']);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.err, /unknown option '--fast'/);
    const missing = await lint([path.join(samples, 'does_not_exist.py')]);
    assert.strictEqual(missing.code, 2);
    assert.match(missing.err, /does_not_exist\.py: no such file or directory/);
  });
});
