/** Imports followed: threads started in one file on functions of another (CLI and module resolution). */
import * as assert from 'assert';
import * as fs from 'fs';
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
    const { files } = collectPythonFiles([WS]);
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
});
