/** `interleave report trace.json -o report.html`: a self-contained HTML timeline of a saved trace. */
import * as path from 'path';
import { writeReportFile } from '../report';

const USAGE = 'usage: interleave report trace.json [-o report.html]';

export async function runReport(args: string[]): Promise<number> {
  let input: string | undefined;
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') { process.stdout.write(`${USAGE}\n`); return 0; }
    if (a === '-o' || a === '--output') {
      output = args[++i];
      if (!output) return usage(`${a} needs a file name`);
    } else if (a.startsWith('--output=')) output = a.slice('--output='.length);
    else if (a.startsWith('-') && a !== '-') return usage(`unknown option '${a}'`);
    else if (input === undefined) input = a;
    else return usage(`unexpected argument '${a}'`);
  }
  if (!input) return usage('missing the trace file');
  output ??= input.replace(/\.json$/i, '') + '.html';
  if (path.resolve(output) === path.resolve(input)) return usage('the report would overwrite the trace; choose another -o');
  try {
    // The CLI bundle lives in dist/ next to webview.js and webview.css.
    await writeReportFile(input, output, __dirname);
  } catch (err) {
    process.stderr.write(`interleave report: ${(err as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`interleave: report written to ${output}\n`);
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`interleave report: ${problem}\n${USAGE}\n`);
  return 2;
}
