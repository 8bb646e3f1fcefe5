/** Traces the repository's sample programs with the Python runtime, at test time. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './build';

export function traceSample(sample: string, runtimeArgs: string[] = []): { json: string; exitCode: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-sample-'));
  const out = path.join(dir, `${sample}.json`);
  try {
    const r = spawnSync('python3', ['-m', 'interleave', 'run', '-o', out, ...runtimeArgs, path.join(ROOT, 'samples', `${sample}.py`)], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'runtime'), PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    if (!fs.existsSync(out)) throw new Error(`tracing ${sample}.py wrote no trace (exit ${r.status}): ${(r.stderr || String(r.error ?? '')).slice(-800)}`);
    return { json: fs.readFileSync(out, 'utf8'), exitCode: r.status };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
