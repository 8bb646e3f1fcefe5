#!/usr/bin/env node
// Runs every test suite in order and prints one closing line with the test totals.
// Each suite still runs when an earlier one failed, so one red suite does not hide another.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const env = { ...process.env, PYTHONPATH: [path.join(root, 'runtime'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1' };
const exists = (p) => fs.existsSync(path.join(root, p));
const hasFiles = (dir, re) => exists(dir) && fs.readdirSync(path.join(root, dir), { recursive: true }).some((f) => re.test(String(f)));
const only = process.argv.slice(2);

/** dist/ is stale when any TypeScript or CSS source is newer than the oldest bundle. */
function distIsStale() {
  const bundles = ['extension.js', 'server.js', 'webview.js', 'cli.js'].map((f) => path.join(root, 'dist', f));
  if (!bundles.every((b) => fs.existsSync(b))) return true;
  const built = Math.min(...bundles.map((b) => fs.statSync(b).mtimeMs));
  const newer = (dir) => fs.readdirSync(path.join(root, dir), { recursive: true })
    .some((f) => /\.(ts|css)$/.test(String(f)) && fs.statSync(path.join(root, dir, String(f))).mtimeMs > built);
  return ['protocol', 'extension', 'server', 'webview'].some((d) => exists(d) && newer(d));
}

const suites = [
  // Browser and e2e tests load the bundles, so rebuild them first when a source changed since the last build.
  { name: 'build', cmd: 'npx', args: ['webpack', '--mode', 'production'], when: distIsStale },
  { name: 'typecheck', cmd: 'npx', args: ['tsc', '-b'], when: () => true },
  { name: 'unit', cmd: 'npx', args: ['mocha'], when: () => hasFiles('test/unit', /\.test\.ts$/) },
  { name: 'python', cmd: 'python3', args: ['-m', 'unittest', 'discover', '-s', 'test/python', '-t', 'test/python'], when: () => hasFiles('test/python', /^test_.*\.py$/) },
  // gevent comes from Debian's python3-gevent, so its tests also run under Debian's interpreter.
  { name: 'python-gevent', cmd: '/usr/bin/python3', args: ['-m', 'unittest', 'discover', '-s', 'test/python', '-t', 'test/python', '-p', 'test_gevent*.py'], when: () => hasFiles('test/python', /^test_gevent.*\.py$/) && fs.existsSync('/usr/bin/python3') },
  // --no-config: .mocharc.json's spec would otherwise add every unit test to this run.
  { name: 'browser', cmd: 'npx', args: ['mocha', '--no-config', '-r', 'tsx/cjs', '--extension', 'ts', '--timeout', '180000', 'test/browser/**/*.test.ts'], when: () => hasFiles('test/browser', /\.test\.ts$/) },
  // The build suite above already rebuilt dist/ when it was stale.
  { name: 'e2e', cmd: 'npx', args: ['tsx', 'test/e2e/run.ts', '--no-build'], when: () => exists('test/e2e/run.ts') },
  // The runtime supports Python 3.9–3.13: the Python suites again under other interpreters, when asked
  // (`node test/run-all.js python-versions`, or INTERLEAVE_PYTHONS="/path/python3.9 ..." with any run).
  ...otherPythons().map((py) => ({
    name: `python@${pythonVersion(py)}`, group: 'python-versions', cmd: py,
    args: ['-m', 'unittest', 'discover', '-s', 'test/python', '-t', 'test/python'], when: () => true,
  })),
];

function pythonVersion(py) {
  const r = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : path.basename(py);
}

/** INTERLEAVE_PYTHONS, or (for `python-versions`) one python3.9 ... python3.13 each, from PATH or pyenv. */
function otherPythons() {
  if (process.env.INTERLEAVE_PYTHONS) return process.env.INTERLEAVE_PYTHONS.split(/[\s:]+/).filter(Boolean);
  if (!only.includes('python-versions')) return [];
  const pyenv = path.join(process.env.PYENV_ROOT || path.join(require('os').homedir(), '.pyenv'), 'versions');
  const pyenvVersions = fs.existsSync(pyenv) ? fs.readdirSync(pyenv) : [];
  const found = [];
  for (const v of ['3.9', '3.10', '3.11', '3.12', '3.13']) {
    const candidates = ['python' + v, ...pyenvVersions.filter((d) => d.startsWith(v + '.')).map((d) => path.join(pyenv, d, 'bin', 'python3'))];
    for (const c of candidates) {
      const r = spawnSync(c, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim()) { found.push(r.stdout.trim()); break; }
    }
  }
  return found;
}

let passed = 0, failed = 0, skipped = 0;
const failedSuites = [];
for (const s of suites) {
  if (only.length && !only.includes(s.name) && !(s.group && only.includes(s.group))) continue;
  if (!s.when()) { console.log(`\n=== ${s.name}: nothing to do`); continue; }
  console.log(`\n=== ${s.name}: ${s.cmd} ${s.args.join(' ')}`);
  const r = spawnSync(s.cmd, s.args, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  process.stdout.write(r.stdout || '');
  process.stderr.write(r.stderr || '');
  const out = `${r.stdout}\n${r.stderr}`;
  const counts = countTests(out);
  passed += counts.passed; failed += counts.failed; skipped += counts.skipped;
  if (r.status !== 0) {
    failedSuites.push(s.name);
    if (counts.failed === 0) failed += 1; // a suite that died without reporting counts as one failure
  }
}
if (failedSuites.length) console.log(`\nfailed suites: ${failedSuites.join(', ')}`);
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failedSuites.length ? 1 : 0);

/** Reads mocha's and unittest's closing lines; our e2e launcher prints the plain form. */
function countTests(out) {
  const c = { passed: 0, failed: 0, skipped: 0 };
  const num = (re) => { const m = out.match(re); return m ? Number(m[1]) : 0; };
  if (/\d+ passing/.test(out)) {
    c.passed = num(/(\d+) passing/); c.failed = num(/(\d+) failing/); c.skipped = num(/(\d+) pending/);
  } else if (/Ran \d+ tests?/.test(out)) {
    const ran = num(/Ran (\d+) tests?/);
    c.failed = num(/failures=(\d+)/) + num(/errors=(\d+)/);
    c.skipped = num(/skipped=(\d+)/);
    c.passed = ran - c.failed - c.skipped;
  } else {
    const m = out.match(/^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/m);
    if (m) { c.passed = Number(m[1]); c.failed = Number(m[2]); c.skipped = Number(m[3] || 0); }
  }
  return c;
}
