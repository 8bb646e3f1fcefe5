/**
 * The whole installed CPython standard library through `interleave lint`'s analysis: wall time, peak
 * memory, every finding (so each can be judged), and pylint's time on the same files for comparison.
 * Prints figures; not a test.
 *
 *   npx tsx bench/lint/stdlib.ts [--no-pylint] [--pylint-timeout=SECONDS]
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { collectPythonFiles, lintFiles } from '../../server/cli/lint';
import { stdlibDir } from './common';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const root = stdlibDir();
  const files = collectPythonFiles([root]).files.filter((f) => !f.includes(`${path.sep}site-packages${path.sep}`));
  let lines = 0;
  for (const f of files) lines += fs.readFileSync(f, 'latin1').split('\n').length;
  console.log(`CPython library: ${root}\n  ${files.length} files, ${lines.toLocaleString('en')} lines`);

  let peakRss = 0;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const results = await lintFiles(files, () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);

  const findings = results.flatMap((r) => r.findings.map((f) => ({ file: path.relative(root, r.file), f })));
  const errors = results.filter((r) => r.error);
  console.log(`\nEvery finding (${findings.length}):`);
  for (const { file, f } of findings) console.log(`  ${file}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code} ${f.severity}: ${f.message}`);
  const byCode: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  for (const { f } of findings) { byCode[f.code] = (byCode[f.code] ?? 0) + 1; bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1; }

  console.log('\nSummary');
  console.log(`  interleave lint: ${seconds.toFixed(1)} s for ${files.length} files (${Math.round(lines / seconds).toLocaleString('en')} lines/s), ${cpuSeconds.toFixed(1)} s CPU; goal ≤ 15 s`);
  console.log(`  machine load (1-min average) at the end: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (timings are only comparable on an idle machine)`);
  console.log(`  peak memory: ${(peakRss / 1e6).toFixed(0)} MB RSS sampled, ${(process.resourceUsage().maxRSS / 1e3).toFixed(0)} MB max RSS of the process (incl. tsx), goal ≤ 300 MB`);
  console.log(`  files that failed: ${errors.length}${errors.map((e) => `\n    ${e.file}: ${e.error}`).join('')}`);
  console.log(`  findings: ${findings.length} by rule ${JSON.stringify(byCode)} by severity ${JSON.stringify(bySeverity)}`);

  const pylint = '/usr/bin/pylint';
  if (args.includes('--no-pylint') || !fs.existsSync(pylint)) {
    console.log(`  pylint: skipped${fs.existsSync(pylint) ? '' : ' (not installed)'}`);
    return;
  }
  const timeout = Number(/--pylint-timeout=(\d+)/.exec(args.join(' '))?.[1] ?? 3600);
  const p0 = performance.now();
  const r = cp.spawnSync(pylint, ['-j', '2', '--persistent=n', '--score=n', '--reports=n', ...files], {
    encoding: 'utf8', timeout: timeout * 1000, maxBuffer: 1 << 30,
  });
  const pSeconds = (performance.now() - p0) / 1000;
  const timedOut = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  const messages = (r.stdout ?? '').split('\n').filter((l) => /^\S+:\d+:\d+: [A-Z]\d{4}/.test(l)).length;
  console.log(`  pylint 2 jobs, default checks, same files: ${timedOut ? `stopped after ${timeout} s (not finished)` : `${pSeconds.toFixed(1)} s (${messages} messages)`}`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
