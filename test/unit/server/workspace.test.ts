/** Imports followed: threads started in one file on functions of another (CLI and module resolution). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lintFiles, collectPythonFiles } from '../../../server/cli/lint';
import { resolveModule } from '../../../server/analysis/workspace';
import { REPO, expectedFindings, fmt } from './fixtures';

const WS = path.join(REPO, 'test', 'fixtures', 'lint', 'workspace');

describe('workspace: imports followed', () => {
  it('resolves absolute, package and relative module names to files', () => {
    const files = new Set(['/w/app.py', '/w/pkg/__init__.py', '/w/pkg/worker.py', '/w/pkg/sub/deep.py', '/r/lib.py']);
    const exists = (p: string) => files.has(p);
    assert.strictEqual(resolveModule('/w/app.py', 'pkg.worker', [], exists), '/w/pkg/worker.py');
    assert.strictEqual(resolveModule('/w/app.py', 'pkg', [], exists), '/w/pkg/__init__.py');
    assert.strictEqual(resolveModule('/w/pkg/sub/deep.py', '..worker', [], exists), '/w/pkg/worker.py');
    assert.strictEqual(resolveModule('/w/pkg/worker.py', '.sub.deep', [], exists), '/w/pkg/sub/deep.py');
    assert.strictEqual(resolveModule('/w/app.py', 'lib', ['/r'], exists), '/r/lib.py');
    assert.strictEqual(resolveModule('/w/app.py', 'threading', ['/r'], exists), undefined);
  });

  it("reports a race in a file that starts no thread itself, pointing at the other file's start site", async () => {
    const { files } = collectPythonFiles([path.join(WS, 'app.py'), path.join(WS, 'pkg')]);
    const results = await lintFiles(files, undefined, [WS]);
    const worker = results.find((r) => r.file.endsWith(path.join('pkg', 'worker.py')))!;
    const text = fs.readFileSync(worker.file, 'utf8');
    assert.deepStrictEqual(worker.findings.map(fmt), expectedFindings(text).map(fmt));
    const [finding] = worker.findings;
    assert.deepStrictEqual(finding.related.map((r) => [path.basename(r.file), r.range.start.line + 1]), [['app.py', 9]]);
    // stats.Stats.bump runs in one thread only: linked, but no race.
    assert.deepStrictEqual(results.filter((r) => !r.file.endsWith('worker.py')).flatMap((r) => r.findings), []);
  });

  it('finds nothing in the same file analysed alone', async () => {
    const [alone] = await lintFiles([path.join(WS, 'pkg', 'worker.py')]);
    assert.deepStrictEqual(alone.findings, []);
  });

  /** Expected findings of every file (by path relative to `dir`) against what lintFiles reported. */
  const check = (dir: string, results: Awaited<ReturnType<typeof lintFiles>>) => {
    for (const r of results) {
      const text = fs.readFileSync(r.file, 'utf8');
      assert.deepStrictEqual(r.findings.map(fmt), expectedFindings(text).map(fmt), path.relative(dir, r.file));
    }
  };

  it('follows calls from a thread into helpers of other modules (module, package __init__), relating both files', async () => {
    const dir = path.join(WS, 'helper_race');
    const results = await lintFiles(collectPythonFiles([dir]).files, undefined, [dir]);
    check(dir, results);
    const counters = results.find((r) => r.file.endsWith('counters.py'))!;
    assert.strictEqual(counters.findings.length, 1);
    assert.deepStrictEqual(counters.findings[0].related.map((r) => [path.basename(r.file), r.range.start.line + 1]), [['main.py', 19], ['main.py', 14]]);
    assert.match(counters.findings[0].message, /thread work \(started at line 19 of main\.py, several running at once\)/);
    const tally = results.find((r) => r.file.endsWith(path.join('tally', '__init__.py')))!;
    assert.deepStrictEqual(tally.findings.map((f) => f.related.map((r) => [path.basename(r.file), r.range.start.line + 1])), [[['main.py', 19], ['main.py', 15]]]);
  });

  it('lint of one file also analyses the modules its threads call into (same roots)', async () => {
    const dir = path.join(WS, 'helper_race');
    const results = await lintFiles([path.join(dir, 'main.py')], undefined, [dir]);
    assert.deepStrictEqual(results.map((r) => path.relative(dir, path.resolve(r.file))).sort(), ['counters.py', 'main.py', path.join('tally', '__init__.py')]);
    check(dir, results);
  });

  it('treats helpers of another module that are only called with a lock held as protected', async () => {
    const dir = path.join(WS, 'locked');
    const results = await lintFiles(collectPythonFiles([dir]).files, undefined, [dir]);
    assert.deepStrictEqual(results.flatMap((r) => r.findings), []);
    // The same code without the lock: both helpers are reported, so the clean result above is the lock's doing.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-ws-'));
    try {
      for (const f of ['__init__.py', 'store.py']) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
      const app = fs.readFileSync(path.join(dir, 'app.py'), 'utf8').replace('        with lock:\n            store.add(i)\n            put(i)', '        store.add(i)\n        put(i)');
      assert.ok(!app.includes('with lock'));
      fs.writeFileSync(path.join(tmp, 'app.py'), app);
      const unlocked = await lintFiles(collectPythonFiles([tmp]).files, undefined, [tmp]);
      const store = unlocked.find((r) => r.file.endsWith('store.py'))!;
      assert.deepStrictEqual(store.findings.map((f) => [f.code, f.range.start.line + 1]), [['IL001', 8], ['IL001', 12]]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('ends on import cycles and still finds the race reached back through the cycle', async () => {
    const dir = path.join(WS, 'cycle');
    const results = await lintFiles(collectPythonFiles([dir]).files, undefined, [dir]);
    check(dir, results);
    assert.strictEqual(results.find((r) => r.file.endsWith('a.py'))!.findings.length, 1);
  });
});
