/**
 * Accuracy of the lint rules: the share of bug fixtures where the expected rule fires, and the share of
 * correct files with no finding (also counting only warnings/errors, since single atomic container
 * operations are reported as information). Prints figures; not a test.
 *
 *   npx tsx bench/lint/accuracy.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import { lintFiles } from '../../server/cli/lint';
import { REPO, pct, stdlibDir } from './common';

async function main(): Promise<void> {
  const bugsDir = path.join(REPO, 'test', 'fixtures', 'lint', 'bugs');
  const bugs = fs.readdirSync(bugsDir).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(bugsDir, f));
  const std = stdlibDir();
  const futures = fs.readdirSync(path.join(std, 'concurrent', 'futures')).filter((f) => f.endsWith('.py')).map((f) => path.join(std, 'concurrent', 'futures', f));
  const correctDir = path.join(REPO, 'test', 'fixtures', 'lint', 'correct');
  // The runnable samples meant to be correct (the race and the deadlock samples are bugs on purpose).
  const samplesDir = path.join(REPO, 'samples');
  const samples = fs.existsSync(samplesDir)
    ? fs.readdirSync(samplesDir).filter((f) => f.endsWith('.py') && !['bank_race.py', 'deadlock.py', 'mp_join_deadlock.py', 'mp_lock_holder_died.py', 'subprocess_pipe_deadlock.py'].includes(f)).map((f) => path.join(samplesDir, f))
    : [];
  const correct = [
    ...fs.readdirSync(correctDir).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(correctDir, f)),
    path.join(std, 'queue.py'), ...futures.sort(), path.join(std, 'logging', '__init__.py'),
    ...samples.sort(),
  ];

  console.log('Bug fixtures (expected rule → found?)');
  let found = 0;
  for (const r of await lintFiles(bugs)) {
    const expect = /#\s*expect:\s*(IL\d{3})/.exec(fs.readFileSync(r.file, 'utf8'))?.[1];
    const hit = r.findings.some((f) => f.code === expect);
    if (hit) found++;
    const codes = r.findings.map((f) => `${f.code}@${f.range.start.line + 1}`).join(' ') || '-';
    console.log(`  ${hit ? 'found ' : 'MISSED'} ${expect} ${path.relative(REPO, r.file)}  [${codes}]`);
  }

  console.log('\nCorrect files (findings)');
  let clean = 0;
  let cleanOfWarnings = 0;
  for (const r of await lintFiles(correct)) {
    const warnings = r.findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
    if (!r.findings.length) clean++;
    if (!warnings.length) cleanOfWarnings++;
    const where = r.file.startsWith(REPO) ? path.relative(REPO, r.file) : r.file;
    console.log(`  ${r.findings.length ? `${r.findings.length} finding(s)` : 'clean'.padEnd(12)} ${where}`);
    for (const f of r.findings) console.log(`      ${f.range.start.line + 1}:${f.range.start.character + 1} ${f.code} ${f.severity}: ${f.message}`);
  }

  console.log('\nSummary');
  console.log(`  bugs found:                         ${found}/${bugs.length} = ${pct(found, bugs.length)} (goal ≥ 85 %)`);
  console.log(`  correct files with no finding:      ${clean}/${correct.length} = ${pct(clean, correct.length)} (goal ≥ 90 %)`);
  console.log(`  correct files with no warning/error: ${cleanOfWarnings}/${correct.length} = ${pct(cleanOfWarnings, correct.length)}`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
