/** Command-line parsing for `interleave trace` (pure, tested without running anything). */

/** Runtime options that take a value (passed through to `python -m interleave run`). */
const VALUE_OPTIONS = new Set(['--mode', '--deadlock-timeout', '--cpu-interval', '--on-deadlock']);

export interface TraceArgs {
  output?: string;
  runtimeArgs: string[];
  /** The script (or `-m module`) and its arguments. */
  program: string[];
}

/** Splits our arguments from the program's: everything from the script (or -m) on belongs to the program. */
export function parseTraceArgs(args: readonly string[]): TraceArgs | { error: string } {
  const runtimeArgs: string[] = [];
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-o' || a === '--output') {
      if (i + 1 >= args.length) return { error: `${a} needs a file name` };
      output = args[++i];
    } else if (a.startsWith('--output=')) {
      output = a.slice('--output='.length);
    } else if (VALUE_OPTIONS.has(a)) {
      if (i + 1 >= args.length) return { error: `${a} needs a value` };
      runtimeArgs.push(a, args[++i]);
    } else if ([...VALUE_OPTIONS].some((o) => a.startsWith(`${o}=`))) {
      runtimeArgs.push(a);
    } else if (a === '-m') {
      if (i + 1 >= args.length) return { error: '-m needs a module name' };
      return { output, runtimeArgs, program: args.slice(i) };
    } else if (a === '--') {
      if (i + 1 >= args.length) return { error: 'no script given' };
      return { output, runtimeArgs, program: args.slice(i + 1) };
    } else if (a.startsWith('-')) {
      return { error: `unknown option ${a}` };
    } else {
      return { output, runtimeArgs, program: args.slice(i) };
    }
  }
  return { error: 'no script given' };
}
