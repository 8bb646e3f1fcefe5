import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTrace } from '../../../extension/cli/trace';

/** Runs the real runtime (python3 + runtime/interleave) through the CLI's trace command. */
describe('extension/cli/trace (interleave trace)', function () {
  this.timeout(60_000);
  let tmp: string;
  let stderr: string[];
  const origWrite = process.stderr.write.bind(process.stderr);
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-cli-'));
    stderr = [];
    process.stderr.write = ((chunk: string | Uint8Array) => { stderr.push(String(chunk)); return true; }) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stderr.write = origWrite;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('traces a script to a Chrome trace JSON and returns its exit code', async () => {
    const script = path.join(tmp, 'two_threads.py');
    fs.writeFileSync(script, [
      'import sys, threading',
      'lock = threading.Lock()',
      'def work():',
      '    with lock:',
      '        pass',
      'ts = [threading.Thread(target=work, name=f"w{i}") for i in range(2)]',
      'for t in ts: t.start()',
      'for t in ts: t.join()',
      'sys.exit(3)',
    ].join('\n'));
    const out = path.join(tmp, 'out.json');
    const code = await runTrace(['-o', out, script]);
    assert.strictEqual(code, 3, `exit code forwarded (stderr: ${stderr.join('')})`);
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as { traceEvents: Array<{ args?: { k?: string } }>; metadata: { producer?: string } };
    assert.strictEqual(trace.metadata.producer, 'interleave');
    const kinds = new Set(trace.traceEvents.map((e) => e.args?.k));
    assert.ok(kinds.has('thread.run') && kinds.has('lock.create'), `kinds: ${[...kinds].join(', ')}`);
  });

  it('writes a self-contained HTML report for -o x.html', async function () {
    if (!fs.existsSync(path.join(__dirname, '..', '..', '..', 'dist', 'webview.js'))) this.skip(); // needs the built webview bundle
    const script = path.join(tmp, 'hello.py');
    fs.writeFileSync(script, 'import threading\nt = threading.Thread(target=print, args=("hi",), name="printer")\nt.start(); t.join()\n');
    const out = path.join(tmp, 'report.html');
    assert.strictEqual(await runTrace(['-o', out, script]), 0);
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, /<html/i);
    assert.ok(html.includes('printer'), 'the report embeds the trace (thread name)');
    assert.ok(!fs.readdirSync(tmp).some((f) => f.endsWith('.json')), 'the intermediate JSON is not left behind in the output folder');
  });

  it('rejects bad arguments with usage and exit code 2', async () => {
    assert.strictEqual(await runTrace(['--bogus']), 2);
    assert.match(stderr.join(''), /unknown option --bogus[\s\S]*usage: interleave trace/);
  });
});
