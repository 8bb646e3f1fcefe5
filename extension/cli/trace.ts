/**
 * `interleave trace [-o trace.json|report.html] [runtime options] script.py [args...]`
 *
 * Runs `python script.py args` with this package's runtime booting in it (run/launch.ts: the same as
 * `python -m interleave run --output ... script.py args`, started faster), stdio inherited, and returns the
 * program's exit code. `-o x.json` has the runtime write the Chrome trace; `-o x.html` traces
 * to a temporary JSON file and turns it into a self-contained report. Without -o the trace goes to
 * `<script>.trace.json` in the current folder.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { candidates, probePython, resolveInterpreter } from '../run/interpreter';
import { launchCommand } from '../run/launch';
import { writeReportFile } from '../report';
import { parseTraceArgs } from './traceArgs';

const USAGE = 'usage: interleave trace [-o trace.json|report.html] [--mode default|full] [--deadlock-timeout S] [--cpu-interval MS] [--on-deadlock report|exit] script.py [args...]';

export async function runTrace(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const parsed = parseTraceArgs(args);
  if ('error' in parsed) {
    process.stderr.write(`interleave trace: ${parsed.error}\n${USAGE}\n`);
    return 2;
  }
  const interp = await resolveInterpreter(candidates({ setting: process.env.INTERLEAVE_PYTHON, platform: process.platform }), (p) => probePython(p));
  if (!interp.ok) {
    process.stderr.write(`interleave trace: ${interp.message} Set INTERLEAVE_PYTHON to an interpreter.\n`);
    return 2;
  }
  const script = parsed.program[0] === '-m' ? parsed.program[1] : parsed.program[0];
  const output = parsed.output ?? `${path.basename(script).replace(/\.py$/, '')}.trace.json`;
  const html = /\.html?$/i.test(output);
  const tmpDir = html ? fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-trace-')) : undefined;
  const jsonOut = tmpDir ? path.join(tmpDir, 'trace.json') : output;
  const runtimeDir = findRuntimeDir();
  if (!runtimeDir) {
    process.stderr.write(`interleave trace: the Python runtime (runtime/interleave) was not found next to ${__dirname}\n`);
    return 2;
  }
  const launch = launchCommand(runtimeDir, ['--output', jsonOut, ...parsed.runtimeArgs], parsed.program, process.env.PYTHONPATH);
  const env = { ...process.env, ...launch.env };
  try {
    const code = await new Promise<number>((resolve, reject) => {
      // The program's interpreter itself, which forks its supervisor as it starts (run/launch.ts).
      const child = spawn(interp.path, launch.args, { stdio: 'inherit', env });
      // The terminal's Ctrl-C reaches the whole foreground group, the runtime included; we only wait.
      const ignore = (): void => undefined;
      process.on('SIGINT', ignore);
      child.on('error', reject);
      child.on('exit', (c, signal) => {
        process.off('SIGINT', ignore);
        resolve(c ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
      });
    });
    if (!fs.existsSync(jsonOut)) {
      process.stderr.write(`interleave trace: the runtime wrote no trace (${jsonOut})\n`);
      return code || 1;
    }
    if (html) {
      // The report embeds the webview bundle: dist/ is __dirname in the bundle, ../../dist from source.
      const distDir = [__dirname, path.join(__dirname, '..', '..', 'dist')].find((d) => fs.existsSync(path.join(d, 'webview.js'))) ?? __dirname;
      await writeReportFile(jsonOut, output, distDir);
      process.stderr.write(`interleave: report written to ${output}\n`);
    } else {
      process.stderr.write(`interleave: trace written to ${output}\n`);
    }
    return code;
  } finally {
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/**
 * The folder to put on PYTHONPATH: `runtime/` beside `dist/` when running the bundle (dist/cli.js), or
 * the repository's runtime/ when running from source (extension/cli/trace.ts under tsx).
 */
export function findRuntimeDir(): string | undefined {
  for (const dir of [path.join(__dirname, '..', 'runtime'), path.join(__dirname, '..', '..', 'runtime')]) {
    if (fs.existsSync(path.join(dir, 'interleave', '__init__.py'))) return dir;
  }
  return undefined;
}
