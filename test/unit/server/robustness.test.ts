/** Damaged, odd and huge input: the analysis always returns (findings or none) and never throws. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { PythonDocument, analyseText } from '../../../server/analysis/document';
import { lintFiles } from '../../../server/cli/lint';
import { REPO } from './fixtures';

const sample = (name: string) => fs.readFileSync(path.join(REPO, 'samples', name), 'utf8');

/** The installed CPython's concurrency-heavy modules: real code with every construct the rules look at. */
function stdlibFiles(): string[] {
  const dir = execFileSync('python3', ['-c', 'import threading, os; print(os.path.dirname(threading.__file__))'], { encoding: 'utf8' }).trim();
  const pick = ['threading.py', 'queue.py', 'subprocess.py', 'logging/__init__.py', 'logging/handlers.py'];
  const dirs = ['concurrent/futures', 'multiprocessing', 'asyncio'];
  const files = pick.map((p) => path.join(dir, p));
  for (const d of dirs) for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith('.py')) files.push(path.join(dir, d, f));
  return files.filter((f) => fs.existsSync(f));
}

describe('robustness', function () {
  // Heavy but bounded work (stdlib modules, 1 MB input); generous for a loaded CI machine.
  this.timeout(120_000);
  it('analyses the standard library concurrency modules (threading, multiprocessing, asyncio, …) without errors', async () => {
    const files = stdlibFiles();
    assert.ok(files.length > 40, `found ${files.length} files`);
    const results = await lintFiles(files);
    assert.deepStrictEqual(results.filter((r) => r.error).map((r) => `${r.file}: ${r.error}`), []);
  });

  it('survives every truncation of a sample (cut every 7 characters)', async () => {
    const text = sample('bank_race.py') + sample('deadlock.py');
    const doc = await PythonDocument.create('');
    try {
      for (let cut = 0; cut <= text.length; cut += 7) {
        doc.update([{ text: text.slice(0, cut) }]);
        const out = doc.analyse();
        assert.ok(Array.isArray(out.issues));
      }
    } finally {
      doc.dispose();
    }
  });

  it('survives garbled text: swapped, deleted and random characters', async () => {
    const text = sample('producer_consumer.py');
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let round = 0; round < 40; round++) {
      const chars = [...text];
      for (let k = 0; k < 30; k++) {
        const i = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.33) chars.splice(i, 1);
        else if (op < 0.66) chars[i] = String.fromCharCode(Math.floor(random() * 0x3000));
        else chars.splice(i, 0, '([{:"\'\\\n\t'[Math.floor(random() * 10)]);
      }
      const issues = await analyseText(chars.join(''));
      assert.ok(Array.isArray(issues));
    }
  });

  it('analyses a 1 MB one-line file and deeply nested brackets', async () => {
    const oneLine = `import threading; data = [${'1, '.repeat(350_000)}]`;
    assert.ok(oneLine.length > 1_000_000);
    assert.ok(Array.isArray(await analyseText(oneLine)));
    const nested = `import threading\nx = ${'('.repeat(20_000)}1${')'.repeat(20_000)}\n`;
    assert.ok(Array.isArray(await analyseText(nested)));
    const garbage = `import threading\n${'(['.repeat(100_000)}`;
    assert.ok(Array.isArray(await analyseText(garbage)));
  });

  it('reads non-UTF-8 files leniently and still reports at the right place', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-lint-'));
    try {
      const latin1 = Buffer.concat([
        Buffer.from('# -*- coding: latin-1 -*-\n# caf'), Buffer.from([0xe9, 0xff, 0xfe]), Buffer.from('\n'),
        fs.readFileSync(path.join(REPO, 'samples', 'bank_race.py')),
      ]);
      const file = path.join(dir, 'latin1.py');
      fs.writeFileSync(file, latin1);
      const [result] = await lintFiles([file]);
      assert.strictEqual(result.error, undefined);
      const race = result.findings.find((f) => f.code === 'IL001' && f.names.includes('balance'));
      assert.ok(race);
      // Two lines were prepended to bank_race.py, where the write is on line 36.
      assert.strictEqual(race.range.start.line + 1, 38);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
