import * as assert from 'assert';
import * as path from 'path';
import { launchCommand } from '../../../extension/run/launch';
import { ENV_LAUNCH, LAUNCH_SEPARATOR } from '../../../protocol/wire';

describe('extension: launching a traced run', () => {
  it('runs the program itself, with the runtime first on PYTHONPATH and the options in INTERLEAVE_LAUNCH', () => {
    const l = launchCommand('/opt/rt', ['--stream', '127.0.0.1:9', '--mode', 'full'], ['/w/prog.py', 'a b', '-x'], '/user/lib');
    assert.deepStrictEqual(l.args, ['/w/prog.py', 'a b', '-x']);
    assert.strictEqual(l.env.PYTHONPATH, [path.join('/opt/rt', 'interleave', '_boot'), '/user/lib'].join(path.delimiter));
    assert.deepStrictEqual(l.env[ENV_LAUNCH].split(LAUNCH_SEPARATOR), ['--stream', '127.0.0.1:9', '--mode', 'full']);
  });

  it('keeps a module run and works without a PYTHONPATH of the user', () => {
    const l = launchCommand('/opt/rt', ['--output', '/tmp/t.json'], ['-m', 'pkg.main', '3']);
    assert.deepStrictEqual(l.args, ['-m', 'pkg.main', '3']);
    assert.strictEqual(l.env.PYTHONPATH, path.join('/opt/rt', 'interleave', '_boot'));
  });

  it('refuses an option that would be split by the separator', () => {
    assert.throws(() => launchCommand('/opt/rt', ['--output', `/tmp/a${LAUNCH_SEPARATOR}b.json`], ['p.py']), /separator/);
  });
});
