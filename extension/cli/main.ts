/**
 * `interleave` — the Node command line: `trace`, `report`, `lint`.
 * Each sub-command lives in its own module and returns an exit code; only this file prints usage
 * and calls process.exit (the VizTracer CLI habit: steps return, main exits).
 */
import { runTrace } from './trace';
import { runReport } from './report';
import { runLint } from '../../server/cli/lint';

const USAGE = `usage: interleave <command> [options]

commands:
  trace [-o trace.json|report.html] [runtime options] script.py [args...]
                               run a Python program under the Interleave runtime
  report trace.json -o report.html
                               write a self-contained HTML timeline of a trace
  lint [--json] PATHS...       report concurrency problems in Python files
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'trace': return runTrace(rest);
    case 'report': return runReport(rest);
    case 'lint': return runLint(rest);
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`interleave: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`interleave: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
