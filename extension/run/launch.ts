/**
 * How the extension and the Node CLI start a traced run: `python script.py args` itself, with the
 * runtime's sitecustomize first on PYTHONPATH and the `run` options in INTERLEAVE_LAUNCH (protocol/wire.ts
 * ENV_LAUNCH). The launched interpreter forks while it starts: the parent supervises, the child is the
 * program. Cheaper than `python -S interleave/__main__.py run ...`, which must start a whole interpreter
 * before the program's can begin (runtime/interleave/launch.py).
 */
import * as path from 'path';
import { ENV_LAUNCH, LAUNCH_BOOT_DIR, LAUNCH_SEPARATOR } from '../../protocol/wire';

export interface Launch {
  /** The interpreter's arguments: the program's own (`script.py args` or `-m module args`). */
  args: string[];
  /** Variables to add to the environment. */
  env: Record<string, string>;
}

/**
 * runtimeDir: the folder holding the `interleave` package; runOptions: `run` options such as
 * `['--stream', 'host:port', '--mode', 'full']`; program: `[script, ...args]` or `['-m', module, ...args]`;
 * pythonPath: the PYTHONPATH the program would have had without us.
 */
export function launchCommand(runtimeDir: string, runOptions: string[], program: string[], pythonPath?: string): Launch {
  for (const o of runOptions) {
    // The separator cannot be escaped: an option holding it would be split in two (a path with \x1f).
    if (o.includes(LAUNCH_SEPARATOR)) throw new Error(`option contains the launch separator: ${JSON.stringify(o)}`);
  }
  const boot = path.join(runtimeDir, ...LAUNCH_BOOT_DIR);
  return {
    args: program,
    env: {
      PYTHONPATH: [boot, pythonPath].filter(Boolean).join(path.delimiter),
      [ENV_LAUNCH]: runOptions.join(LAUNCH_SEPARATOR),
    },
  };
}
