import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPORT_DATA_ELEMENT_ID } from '../../../protocol';
import { escapeJsonForScript, reportHtml, writeReportFile } from '../../../extension/report';
import { webviewHtml } from '../../../extension/webviewHtml';
import { runReport } from '../../../extension/cli/report';

const hostile = JSON.stringify({ traceEvents: [{ name: '</script><script>alert(1)</script><!--', ph: 'X', ts: 1, dur: 1, pid: 1, tid: 1 }] });

describe('webview HTML and the standalone report', () => {
  it('gives the panel a strict CSP that admits only the nonce script and the resource origin', () => {
    const html = webviewHtml({ nonce: 'abc123', cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/dist/webview.js', styleUri: 'vscode-resource:/dist/webview.css', title: 'Run <x> & "y"' });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
    assert.match(csp, /style-src vscode-resource: 'nonce-abc123'/);
    assert.match(csp, /img-src vscode-resource: data:/);
    assert.doesNotMatch(csp, /unsafe|https?:/);
    assert.match(html, /<script nonce="abc123" src="vscode-resource:\/dist\/webview.js"><\/script>/);
    assert.match(html, /<title>Run &lt;x&gt; &amp; "y"<\/title>/);
    assert.match(html, /<div id="app" data-state="loading">/);
  });

  it('embeds the trace so it can never close its script element, and keeps it the same JSON', () => {
    const esc = escapeJsonForScript(hostile);
    assert.ok(!/<\/script/i.test(esc) && !esc.includes('<!--'));
    assert.deepStrictEqual(JSON.parse(esc), JSON.parse(hostile));
    const html = reportHtml({ traceJson: hostile, webviewJs: 'console.log("</script>")', webviewCss: 'a{}', title: 'T' });
    const data = new RegExp(`<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">([\\s\\S]*?)</script>`).exec(html)![1];
    assert.deepStrictEqual(JSON.parse(data), JSON.parse(hostile));
    // exactly three closing script tags' worth of elements: data + bundle (the bundle's own text was escaped)
    assert.strictEqual(html.match(/<\/script>/g)!.length, 2);
  });

  it('uses a fresh random nonce per report for the inline script and style only', () => {
    const a = reportHtml({ traceJson: '[]', webviewJs: '1', webviewCss: '', title: 't' });
    const b = reportHtml({ traceJson: '[]', webviewJs: '1', webviewCss: '', title: 't' });
    const nonce = (h: string) => /script-src 'nonce-([^']+)'/.exec(h)![1];
    assert.notStrictEqual(nonce(a), nonce(b));
    assert.ok(nonce(a).length >= 22);
    assert.match(a, new RegExp(`<style nonce="${nonce(a).replace(/[+/=]/g, '\\$&')}">`));
    assert.match(a, /default-src 'none'; script-src 'nonce-[^']+'; style-src 'nonce-[^']+'; img-src data:/);
  });
});

describe('interleave report (CLI)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-report-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const capture = async (args: string[]) => {
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => { err.push(String(s)); return true; };
    try {
      return { code: await runReport(args), stderr: err.join('') };
    } finally {
      (process.stderr as unknown as { write: typeof write }).write = write;
    }
  };

  it('exits 2 with a one-line reason on bad usage', async () => {
    for (const args of [[], ['a.json', 'b.json'], ['a.json', '-o'], ['--bogus', 'a.json'], ['a.json', '-o', 'a.json']]) {
      const r = await capture(args);
      assert.strictEqual(r.code, 2, args.join(' '));
      assert.match(r.stderr.split('\n')[0], /^interleave report: .+/);
    }
  });

  it('reports a missing or non-trace input clearly and writes nothing', async () => {
    const missing = await capture([path.join(dir, 'nope.json'), '-o', path.join(dir, 'r.html')]);
    assert.strictEqual(missing.code, 1);
    assert.match(missing.stderr, /cannot read the trace .*nope\.json: no such file/);
    fs.writeFileSync(path.join(dir, 'bad.json'), 'hello');
    const bad = await capture([path.join(dir, 'bad.json'), '-o', path.join(dir, 'r.html')]);
    assert.strictEqual(bad.code, 1);
    assert.match(bad.stderr, /not a Chrome trace/);
    assert.ok(!fs.existsSync(path.join(dir, 'r.html')));
  });

  it('writes one self-contained file from the trace and the built bundle', async () => {
    const dist = path.join(dir, 'dist');
    fs.mkdirSync(dist);
    fs.writeFileSync(path.join(dist, 'webview.js'), 'window.bundleRan = true;\n//# sourceMappingURL=webview.js.map');
    fs.writeFileSync(path.join(dist, 'webview.css'), 'body{color:red}');
    fs.writeFileSync(path.join(dir, 't.json'), hostile);
    await writeReportFile(path.join(dir, 't.json'), path.join(dir, 'out', 'r.html'), dist);
    const html = fs.readFileSync(path.join(dir, 'out', 'r.html'), 'utf8');
    assert.ok(html.includes('window.bundleRan = true;'));
    assert.ok(!html.includes('sourceMappingURL'), 'no reference to a file that is not there');
    assert.ok(html.includes('body{color:red}'));
    assert.ok(!/(src|href)=["']?https?:/.test(html), 'no remote resources');
    await assert.rejects(writeReportFile(path.join(dir, 't.json'), path.join(dir, 'r2.html'), path.join(dir, 'empty')), /timeline bundle .*npm run build/);
  });

  it('runs as `interleave report` from the built CLI when dist/cli.js exists', function () {
    const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');
    if (!fs.existsSync(cli) || !fs.existsSync(path.join(path.dirname(cli), 'webview.js'))) this.skip();
    fs.writeFileSync(path.join(dir, 't.json'), hostile);
    const r = spawnSync(process.execPath, [cli, 'report', path.join(dir, 't.json'), '-o', path.join(dir, 'r.html')], { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(fs.readFileSync(path.join(dir, 'r.html'), 'utf8').includes(REPORT_DATA_ELEMENT_ID));
  });
});
